"""Encoder forward vs feature-cache read, per batch, on this machine's CPU.

  python bench/encoder_cache.py            # tiny encoder, paper-shape cache reads, and one ViT-B/14 448 px forward
  python bench/encoder_cache.py --quick    # small and fast: proves the script runs

Writes bench/results/encoder_cache.json (bench/results/encoder_cache_quick.json with --quick).
Weights are random (a random-init config of the real class): timings do not depend on them.
"""
import json, os, platform, tempfile, time
from pathlib import Path
import torch
from fastcore.script import call_parse
from common import timeit
from transformers import Dinov2Config
from glass.encoder import DinoEncoder, FrozenEncoder, cache_features

class Images(torch.utils.data.Dataset):
    "Deterministic random images (a stand-in for a fixed, centre-cropped training set)."
    def __init__(self, n, size): self.n, self.size = n, size
    def __len__(self): return self.n
    def __getitem__(self, i):
        if not 0 <= i < self.n: raise IndexError(i)
        return dict(image=torch.rand(3, self.size, self.size, generator=torch.Generator().manual_seed(i)))

class RandomGrid(FrozenEncoder):
    "A stand-in encoder that emits random grids of a given shape (to write paper-shape caches fast)."
    def __init__(self, c, h):
        super().__init__(); self.lin = torch.nn.Linear(1, 1); self.c, self.h = c, h; self.freeze()
    def encode(self, x): return torch.randn(len(x), self.c, self.h, self.h)

def read_batch(cache, idx): return torch.stack([cache[i] for i in idx])

def tiny_bench(quick:bool, tmp:Path):
    "Tiny DINOv2 encoder: per-batch forward vs cache read."
    hidden, layers, size, patch, n, bs = (32, 2, 32, 8, 64, 16) if quick else (128, 4, 64, 8, 512, 32)
    cfg = Dinov2Config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=4 * hidden,
                       patch_size=patch, image_size=size)
    torch.manual_seed(0)
    enc, ds = DinoEncoder.from_config(cfg), Images(n, size)
    imgs = torch.stack([ds[i]['image'] for i in range(bs)])
    t_fwd = timeit(lambda: enc(imgs), reps=5)
    t = time.perf_counter(); cache = cache_features(enc, ds, tmp/'tiny', batch_size=bs, shard_size=256); t_build = time.perf_counter() - t
    t_read = timeit(lambda: read_batch(cache, range(bs, 2 * bs)), reps=5)
    t_load = timeit(lambda: torch.stack([ds[i]['image'] for i in range(bs)]), reps=5)
    return dict(config=dict(hidden_size=hidden, layers=layers, image_size=size, patch_size=patch, grid=size // patch, n=n, batch=bs),
                params=sum(p.numel() for p in enc.parameters()), encoder_forward_s_per_batch=t_fwd,
                cache_read_s_per_batch=t_read, image_load_s_per_batch=t_load, cache_build_s=t_build, speedup=t_fwd / t_read)

def paper_read_bench(quick:bool, tmp:Path):
    "Reads of a cache with the paper's feature shape (768, 32, 32), float32 and float16."
    n, bs = (8, 4) if quick else (96, 32)
    res = dict(feature_shape=[768, 32, 32], n=n, batch=bs)
    for dtype in ('float32', 'float16'):
        cache = cache_features(RandomGrid(768, 32), Images(n, 14), tmp/f'paper_{dtype}', batch_size=bs, shard_size=64, dtype=dtype)
        res[f'cache_read_s_per_batch_{dtype}'] = timeit(lambda: read_batch(cache, range(n - bs, n)), reps=3)
        res[f'bytes_per_sample_{dtype}'] = 768 * 32 * 32 * (4 if dtype == 'float32' else 2)
    x = torch.randn(bs, 768, 32, 32)
    res['in_memory_copy_s_per_batch_float32'] = timeit(lambda: torch.stack([x[i].clone() for i in range(bs)]), reps=3) # the floor: copying the bytes
    return res

def vitb_bench(batch:int):
    "One forward of a random-init DINOv2 ViT-B/14 at 448 px (the paper's encoder)."
    cfg = Dinov2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                       patch_size=14, image_size=518)
    torch.manual_seed(0)
    enc = DinoEncoder.from_config(cfg)
    imgs = torch.rand(batch, 3, 448, 448, generator=torch.Generator().manual_seed(0))
    t = timeit(lambda: enc(imgs), reps=1, warmup=0)
    return dict(batch=batch, image_size=448, grid=32, params=sum(p.numel() for p in enc.parameters()),
                encoder_forward_s_per_batch=t, encoder_forward_s_per_image=t / batch,
                extrapolated_s_per_batch_32=32 * t / batch)

@call_parse
def main(quick:bool=False, # small sizes, no ViT-B forward: proves the script runs
         vitb_batch:int=1, # batch of the single ViT-B/14 448 px forward (full mode)
         threads:int=None, # torch CPU threads (default: torch's choice)
         out:str=None): # output JSON (default bench/results/encoder_cache[_quick].json)
    "Time encoder forward vs feature-cache read per batch and write the results as JSON."
    if threads: torch.set_num_threads(threads)
    res = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), torch_threads=torch.get_num_threads(),
                            torch=torch.__version__), quick=quick)
    with tempfile.TemporaryDirectory() as d:
        res['tiny'] = tiny_bench(quick, Path(d))
        res['paper_shape_reads'] = paper_read_bench(quick, Path(d))
    if not quick:
        res['vitb14_448'] = vitb_bench(vitb_batch)
        res['paper_speedup_per_batch_32'] = res['vitb14_448']['extrapolated_s_per_batch_32'] / res['paper_shape_reads']['cache_read_s_per_batch_float32']
    out = Path(out or Path(__file__).parent/'results'/f"encoder_cache{'_quick' if quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
