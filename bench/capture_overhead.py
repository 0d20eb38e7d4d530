"""Generation throughput with and without attention capture (CPU): on a tiny random SD-2.1-shaped pipeline, or with
`--model PATH` on a saved StableDiffusionPipeline folder (the tiny-world stand-in), prompted with tiny-world test captions."""
import json, platform, statistics, time
from dataclasses import asdict
from pathlib import Path
import torch
from fastcore.script import call_parse
from glass.guidance import CaptureConfig, capture_attention, generate_with_masks, plan_prompt, coco_vocab, tiny_vocab, tiny_sd_pipeline, load_pipeline

CAPTIONS = ['a dog chasing a ball', 'a red circle next to a blue square', 'a dog on a bench', 'a ball']

def _plain(pipe, prompts, seeds, steps, gs):
    return pipe(prompts, num_inference_steps=steps, guidance_scale=gs, output_type='pt',
                generator=[torch.Generator().manual_seed(s) for s in seeds]).images

def _capture_only(pipe, plans, seeds, steps, cfg, gs):
    "Generation with the storing processors installed, without building masks."
    with capture_attention(pipe.unet, cfg) as store:
        store.reset(len(plans), [p.tokens for p in plans], n_steps=steps)
        return pipe([p.prompt for p in plans], num_inference_steps=steps, guidance_scale=gs, output_type='pt', callback_on_step_end=store.on_step_end,
                    generator=[torch.Generator().manual_seed(s) for s in seeds]).images

def _timed(f):
    "CPU seconds of this process (robust to other jobs on a shared machine) and wall seconds."
    c, w = time.process_time(), time.perf_counter(); f()
    return time.process_time() - c, time.perf_counter() - w

@call_parse
def main(quick:bool=False, # tiny run that only proves the script works
         model:str=None, # a StableDiffusionPipeline folder (e.g. the tiny-world stand-in); default a tiny random SD-2.1-shaped pipeline
         latent:int=16, # latent side of the tiny pipeline (images are twice that); with --model the UNet's sample size
         guidance_scale:float=7.5, # classifier-free guidance scale (every run)
         batch:int=4, # images per pipeline call
         steps:int=20, # denoising steps
         repeats:int=5, # timed repeats (median reported), interleaved
         threads:int=1, # torch CPU threads (1: CPU time equals compute time)
         out:str=None): # result file; default bench/results/capture_overhead[_quick].json
    "Measure images/s of plain generation, generation with capture, and generation with capture and masks."
    if quick: batch, steps, repeats = 2, 2, 1
    out = out or f"bench/results/capture_overhead{'_standin' if model else ''}{'_quick' if quick else ''}.json"
    torch.set_num_threads(threads)
    if model:
        from glass.tinyworld import render_scene, split_seeds
        pipe, vocab = load_pipeline(model, 'cpu'), tiny_vocab()
        latent = pipe.unet.config.sample_size
        caps = [render_scene(s).caption for s in split_seeds('test', batch)]
    else: pipe, vocab, caps = tiny_sd_pipeline(latent=latent), coco_vocab(), (CAPTIONS * batch)[:batch]
    seeds = list(range(batch))
    plans = [plan_prompt(c, vocab, pipe.tokenizer) for c in caps]
    prompts = [p.prompt for p in plans]
    configs = {'auto': CaptureConfig(), 'fine': CaptureConfig(cross_res=(latent // 2, latent), self_res=latent)}
    mask_kw = {name: {} for name in configs}
    if model:  # the stand-in recipe of the demo (glass.guidance.MASK_RECIPES['standin']): caption columns of noun phrases, self-attention at `latent`
        from glass.guidance import mask_recipe
        configs['standin'], mask_kw['standin'] = mask_recipe('standin')
    runs = {'plain': lambda: _plain(pipe, prompts, seeds, steps, guidance_scale)}
    for name, cfg in configs.items():
        runs[f'capture_{name}'] = lambda cfg=cfg: _capture_only(pipe, plans, seeds, steps, cfg, guidance_scale)
        runs[f'capture_masks_{name}'] = lambda cfg=cfg, kw=mask_kw[name]: generate_with_masks(pipe, caps, capture_cfg=cfg, seeds=seeds, vocab=vocab,
                                                                              num_inference_steps=steps, guidance_scale=guidance_scale, **kw)
    with torch.no_grad():
        for f in runs.values(): f()   # warm-up
        times = {k: [] for k in runs}
        for _ in range(repeats):
            for k, f in runs.items(): times[k].append(_timed(f))
    med = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in times.items()}
    res = dict(quick=quick, model=model or 'tiny random SD-2.1-shaped pipeline (glass.guidance.tiny_sd_pipeline)', captions=caps,
               guidance_scale=guidance_scale, device='cpu', processor=platform.processor() or platform.machine(), torch_threads=torch.get_num_threads(),
               latent=latent, image_size=pipe.vae_scale_factor * latent, batch=batch, steps=steps, repeats=repeats, timing='process CPU seconds, median',
               configs={k: asdict(c) for k, c in configs.items()}, mask_kwargs=mask_kw, cpu_seconds_median=med, wall_seconds_median=wall,
               seconds_all=times, images_per_s={k: batch / v for k, v in med.items()},
               overhead={k: med[k] / med['plain'] - 1 for k in med if k != 'plain'},
               overhead_wall={k: wall[k] / wall['plain'] - 1 for k in wall if k != 'plain'}, goal_overhead=0.15)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=1))
    for k in med: print(f"{k:22s} {batch / med[k]:8.2f} images/s (CPU time)" + ('' if k == 'plain' else f"  overhead {res['overhead'][k]:+.1%}"))
    print(f"-> {out}")
