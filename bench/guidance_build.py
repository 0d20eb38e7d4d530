"""Time to build a guidance dataset (images + pseudo masks + records) with `write_guidance` on this CPU.

Captions are tiny-world TRAIN captions written to a JSONL file and read back with `read_captions`, exactly
what `glass guidance CAPTIONS OUT --vocab tinyworld` does after loading the pipeline. `--quick` builds 16
samples and extrapolates linearly to `--target` samples (the JSON says so)."""
import json, platform, shutil, tempfile, time
from dataclasses import asdict
from pathlib import Path
import torch
from fastcore.script import call_parse, store_true
from glass.tinyworld import render_scene, split_seeds
from glass.guidance import CaptureConfig, GuidanceDataset, load_pipeline, read_captions, sample_files, write_guidance, write_jsonl

def _ints(s): return None if s in (None, '') else tuple(int(x) for x in str(s).split(','))

def _bytes(root:Path): return sum(f.stat().st_size for f in root.rglob('*') if f.is_file())

@call_parse
def main(model:str, # a diffusers StableDiffusionPipeline folder (the tiny-world stand-in)
         n:int=2000, # samples built
         quick:store_true=False, # build 16 samples and extrapolate to `target`
         target:int=2000, # dataset size the time is reported for
         steps:int=25, # denoising steps
         guidance_scale:float=4.0, # classifier-free guidance scale
         batch_size:int=16, # prompts per pipeline call
         cross_res:str=None, # cross-attention sides, e.g. '8' or '8,16'; default the library's
         self_res:int=None, # self-attention side; default the library's; 0: no refinement
         standin:store_true=False, # the demo's pseudo-mask recipe for the stand-in (glass.guidance.MASK_RECIPES['standin']; overrides cross_res, self_res)
         seed:int=0, # sample i uses seed + i
         out_dir:str=None, # where the dataset is written (kept); default a temporary folder, deleted afterwards
         threads:int=1, # torch CPU threads
         out:str=None): # result JSON; default bench/results/guidance_build[_quick].json
    "Time `write_guidance` building `n` tiny-world guidance samples."
    if quick: n = 16
    torch.set_num_threads(threads)
    out = Path(out or f"bench/results/guidance_build{'_standin' if standin else ''}{'_quick' if quick else ''}.json")
    tmp = None if out_dir else tempfile.mkdtemp(prefix='guidance_build_')
    root = Path(out_dir or tmp) / 'dataset'
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        pipe = load_pipeline(model, 'cpu')
        load_s = time.perf_counter() - t0
        caps = root.parent / 'captions.jsonl'
        write_jsonl(caps, [dict(caption=render_scene(s).caption, seed=s) for s in split_seeds('train', n)])
        rows = read_captions(caps)
        cfg, mask_kw = CaptureConfig(cross_res=_ints(cross_res), self_res=self_res), {}
        if standin:
            from glass.guidance import mask_recipe
            cfg, mask_kw = mask_recipe('standin')
        t1, c1 = time.perf_counter(), time.process_time()
        written = write_guidance(pipe, rows, root, 'tinyworld', cfg, seed, batch_size, num_inference_steps=steps,
                                 guidance_scale=guidance_scale, **mask_kw)
        build_s, build_cpu = time.perf_counter() - t1, time.process_time() - c1
        ds = GuidanceDataset(root)
        if len(ds) != n or written != n: raise RuntimeError(f"expected {n} samples, wrote {written}, the dataset holds {len(ds)}")
        s0 = ds[0]
        per = build_s / n
        res = dict(quick=quick, model=str(model), device='cpu', processor=platform.processor() or platform.machine(),
                   torch_threads=torch.get_num_threads(), tool='glass.guidance.write_guidance (what `glass guidance` runs)',
                   parameters=dict(n=n, target=target, steps=steps, guidance_scale=guidance_scale, batch_size=batch_size, seed=seed,
                                   vocab='tinyworld', captions='tiny-world train split, first n seeds', mask_kwargs=mask_kw,
                                   capture=json.loads((root / 'manifest.json').read_text())['capture'],
                                   capture_resolved=json.loads((root / sample_files(0)['record']).read_text())['capture']),
                   samples_built=n, pipeline_load_seconds=load_s, build_seconds=build_s, build_cpu_seconds=build_cpu,
                   seconds_per_sample=per, samples_per_s=1 / per, bytes_on_disk=_bytes(root), bytes_per_sample=_bytes(root) / n,
                   image_shape=list(s0['image'].shape), mask_shape=list(s0['semantic'].shape),
                   extrapolated=n != target,
                   target_seconds=build_s if n == target else per * target,
                   target_seconds_note=('measured' if n == target else f'extrapolated linearly from {n} samples to {target}'),
                   timing='wall seconds (build excludes pipeline loading); build_cpu_seconds: process CPU time')
    finally:
        if tmp: shutil.rmtree(tmp, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"built {n} samples in {build_s:.1f}s ({1 / per:.2f} samples/s, {res['bytes_per_sample'] / 1e3:.1f} kB each); "
          f"{target} samples: {res['target_seconds'] / 60:.1f} min ({res['target_seconds_note']})")
    print(f"-> {out}")
