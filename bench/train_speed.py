"""Training throughput (images/s) of the tiny-world GLASS through the `glass.train` loop, on this machine's CPU.

  python bench/train_speed.py            # batch 16, 30 timed steps per mode, 1 and 2 torch threads
  python bench/train_speed.py --quick    # small and fast: proves the script runs

Modes: `render` (tiny-world scenes rendered on the fly, as `glass train` does), `memory` (the same samples held in
memory: model cost only), `cached` (in memory plus the frozen encoder's features and the VAE latents computed once,
so a step skips both frozen forwards). Writes bench/results/train_speed.json (train_speed_quick.json with --quick).
Weights are random (tiny random-init configs of the real classes): timings do not depend on them.
"""
import json, os, platform, tempfile, time
from pathlib import Path
import torch
from fastcore.script import call_parse
from glass.train import Callback, tiny_run, train, build_model

class Timer(Callback):
    "Wall time of each optimiser step after `warmup` steps."
    def __init__(self, warmup): self.warmup, self.marks = warmup, []
    def after_step(self, l):
        if l.step >= self.warmup: self.marks.append(time.perf_counter())

class Samples(torch.utils.data.Dataset):
    "Samples held in memory, optionally with `features` and `latents` added."
    def __init__(self, samples): self.samples = samples
    def __len__(self): return len(self.samples)
    def __getitem__(self, i): return self.samples[i]

@torch.no_grad()
def add_cache(samples:list, model, bs:int=32):
    "Add the frozen encoder's `features` and the VAE `latents` to each sample; return seconds spent."
    t = time.perf_counter()
    for s in range(0, len(samples), bs):
        chunk = samples[s:s + bs]
        img = torch.stack([c['image'] for c in chunk])
        dec = torch.stack([c.get('image_dec', c['image']) for c in chunk])
        feats, lat = model.encode({'image': img}), model.decoder.encode_latents(dec)
        for c, f, z in zip(chunk, feats, lat): c.update(features=f.clone(), latents=z.clone())
    return time.perf_counter() - t

def measure(mode:str, run, n:int, steps:int, warmup:int):
    "Images/s of `steps` timed steps in `mode`."
    from glass.train import train_dataset
    ds, extra = train_dataset(run.data), {}
    if mode != 'render':
        ds = Samples([ds[i] for i in range(n)])
        if mode == 'cached':
            torch.manual_seed(run.train.seed)
            extra['cache_seconds'] = round(add_cache(ds.samples, build_model(run)), 3)
    timer = Timer(warmup)
    with tempfile.TemporaryDirectory() as d: train(run, d, dataset=ds, cbs=[timer])
    secs = timer.marks[-1] - timer.marks[0]
    ips = (len(timer.marks) - 1) * run.train.batch_size / secs
    return dict(mode=mode, images_per_s=round(ips, 2), s_per_step=round(secs / (len(timer.marks) - 1), 4), **extra)

@call_parse
def main(quick:bool=False, # a few small steps: proves the script runs
         batch_size:int=16, # images per step
         steps:int=30): # timed steps per mode
    "Measure training images/s of the tiny-world GLASS with and without cached features and latents."
    if quick: batch_size, steps = 4, 3
    warmup, n, rows = 2, 128, []
    for threads in ((1,) if quick else (1, 2)):
        for mode in ('render', 'memory', 'cached'):
            run = tiny_run(n=n, steps=warmup + steps, batch_size=batch_size, warmup_steps=1, ckpt_every=10**6, val_every=0,
                           log_every=10**6, wandb='disabled', cpu=True, threads=threads)
            rows.append(dict(threads=threads, **measure(mode, run, n, steps, warmup))); print(rows[-1], flush=True)
    res = dict(bench='train_speed', quick=quick, batch_size=batch_size, timed_steps=steps, model='glass.model.tiny_config() (preset glass)',
               data='tinyworld 64 px -> image_size 32', torch=torch.__version__, cpu=platform.processor() or platform.machine(),
               cores=os.cpu_count(), load_average=os.getloadavg(), results=rows)
    out = Path(__file__).parent / 'results' / f"train_speed{'_quick' if quick else ''}.json"
    out.parent.mkdir(exist_ok=True); out.write_text(json.dumps(res, indent=2))
    print(f'wrote {out}')
