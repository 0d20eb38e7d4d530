"""Scale facts of the paper's pipeline, measured on the paper-size architectures with random weights.

For each step, at a given batch: parameters (total / trained), FLOPs (torch.utils.flop_counter.FlopCounterMode; see
FLOPS below), seconds per step, peak memory, and the projected GPU time of the paper's schedule at a stated fraction of an
H100's dense bf16 peak. Steps:

* `stage1`      one `glass train` step of the `glass-coco` preset (from the feature and latent cache, as the preset trains):
                slot attention, SD 2.1 UNet forward and backward at 256 px, MLP decoder, all three losses, AdamW
* `stage2`      one stage-2 step (`--stage 2`): the whole UNet trained with AdamW and the preset's EMA
* `stage2_xattn`  the same with `train_unet='cross_attn'`
* `guidance`    one `glass guidance` image with the `sd` recipe at 512 px (pipeline, attention capture, pseudo mask); run at
                `--guidance_steps` denoising steps and extrapolated to the recipe's 100 (101 UNet calls) from the UNet's own
                FLOPs and time per call (hooks on the UNet)
* `eval`        what `glass eval --preset glass-coco` computes per image: DINOv2 at 448 + slot attention (head-mean masks)
* `encode`      what the cache computes per image: DINOv2 features at 448 and the VAE's latents at 256

Training steps run through `glass.train.Learner` (`setup`, `one_step`): the code of `glass train`, with the batch a cached
dataset yields (features, latents, pseudo masks) made up in memory. On a CPU each step runs in its own process, so the peak
resident memory (ru_maxrss) is that step's; on a GPU they share one process and the peak is torch's max_memory_allocated.

    python bench/paper_size.py                               # CPU, full size, batch 1: bench/results/paper_size.{json,md}
    python bench/paper_size.py --size mini --out /tmp/ps.json   # the same code path, reduced width, in about a minute
    python bench/paper_size.py --device cuda --dtype bf16 --time_limit 300   # a GPU: s/step and MFU at the batch that fits

FLOPS: multiply-adds count 2; matmuls, convolutions and attention are counted (torch's counter), elementwise work and
the optimiser are not. Attention is counted through PyTorch's math kernel (the CPU flash kernel has no formula in the
counter); the timed runs use the default kernels.
"""
import json, os, platform, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import torch
from fastcore.script import call_parse, store_true, bool_arg

H100_BF16_DENSE = 989e12  # FLOP/s, NVIDIA H100 SXM, dense bf16 (the H200 has the same compute)
MFU = 0.4  # the fraction of it the projections assume
GPUS = 8
# the paper's schedule (run presets of glass.train; dataset sizes of COCO 2017 and VOC 2012)
COCO_TRAIN, COCO_VAL, VOC_TRAINAUG, VOC_VAL = 118_287, 5000, 10_582, 1449
STEPS = ('stage1', 'stage2', 'stage2_xattn', 'guidance', 'eval', 'encode')

# ---------------------------------------------------------------------------------------------------------------- models
def run_config(size, stage=1, train_unet=None, batch=1, dtype='fp32', device='cpu'):
    "The `glass-coco` run preset (stage 1 or 2) on the shipped architectures with random weights."
    from glass.train import run_preset
    from glass.reproduce import RANDOM_SIZES
    r = run_preset('glass-coco', stage)
    model = {**r.model, **RANDOM_SIZES[size], **({'train_unet': train_unet} if train_unet else {})}
    train = replace(r.train, batch_size=batch, mixed_precision={'fp32': 'no', 'bf16': 'bf16', 'fp16': 'fp16'}[dtype], cpu=device == 'cpu',
                    wandb='disabled', num_workers=0, threads=None)
    return replace(r, model=model, train=train, init_from=None)

def build(run):
    "The GLASS model of `run` (a stage-2 model is built directly: random weights either way)."
    from glass.model import GlassConfig, build_model
    return build_model(GlassConfig.from_dict(run.model))

def n_params(m, trained=False): return sum(p.numel() for p in m.parameters() if p.requires_grad or not trained)

def train_batch(model, run, b):
    "A collated batch as the preset's cached dataset yields it: features and latents (float16), pseudo masks (stage 1)."
    g, c = torch.Generator().manual_seed(0), model.config
    side, lat = c.image_size // model.encoder.patch_size, c.decoder_resolution // model.decoder.vae_scale_factor
    batch = dict(features=torch.randn(b, model.encoder.feature_size, side, side, generator=g).half(),
                 latents=torch.randn(b, model.decoder.vae.config.latent_channels, lat, lat, generator=g).half())
    if run.data.mask_size:
        s = run.data.mask_size; sem = torch.zeros(b, s, s, dtype=torch.long)
        sem[:, s // 8: s // 2, s // 8: s // 2], sem[:, s // 2:, s // 3:] = 17, 33  # two pseudo classes (dog, sports ball)
        ign = torch.zeros(b, s, s, dtype=torch.bool); ign[:, s // 2 - 2: s // 2 + 2] = True  # an uncertain band
        batch.update(semantic=sem, ignore=ign)
    return batch

# ---------------------------------------------------------------------------------------------------------------- measuring
def count_flops(f):
    "FLOPs of one call of `f` (attention through the math kernel, so that every backend counts it)."
    from torch.utils.flop_counter import FlopCounterMode
    from torch.nn.attention import sdpa_kernel, SDPBackend
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc: f()
    return fc.get_total_flops(), fc

def sync(device):
    if str(device).startswith('cuda'): torch.cuda.synchronize()

CPU_TIMES = []  # process CPU seconds of each timed call (this machine's CPU is shared: wall time depends on the load)

def timed(f, device, reps, budget, warmup=True):
    "Wall seconds of each of up to `reps` calls of `f` (after a warmup call), stopping once `budget` seconds are spent."
    if warmup: f(); sync(device)
    ts, t_end = [], time.time() + budget
    while len(ts) < reps and (not ts or time.time() < t_end):
        t, c = time.perf_counter(), time.process_time(); f(); sync(device)
        ts.append(time.perf_counter() - t); CPU_TIMES.append(time.process_time() - c)
    return ts

def median(ts): return sorted(ts)[len(ts) // 2]

def peak_gpu(device):
    return round(torch.cuda.max_memory_allocated() / 2**20) if str(device).startswith('cuda') else None

# ---------------------------------------------------------------------------------------------------------------- steps
def step_train(size, device, dtype, batch, reps, budget, stage=1, train_unet=None, lean=False):
    "One optimiser step of `glass train` (stage 1 or 2) at `batch`; `lean`: forward and backward only (no AdamW or EMA state)."
    from glass.train import Learner
    run = run_config(size, stage, train_unet, batch, dtype, device)
    model = build(run)
    b = train_batch(model, run, batch)
    if lean: f = lambda: (model.losses(b, torch.Generator().manual_seed(0))['loss'].backward(), model.zero_grad())
    else:
        l = Learner(model, run, tempfile.mkdtemp(), cbs=[]); l.setup()
        f = lambda: l.one_step([b])
    ts = timed(f, device, reps, budget)
    flops, _ = count_flops(f)
    if not lean: l.release()
    r = dict(parameters=n_params(model), trained=n_params(model, True), flops=flops, seconds=ts)
    if lean:  # what a whole step adds: AdamW's two moments and the preset's EMA, float32 (and the gradients, freed here)
        extra = (2 + (run.train.ema_decay is not None)) * r['trained'] * 4
        r.update(lean='forward and backward only: no AdamW step, no EMA', optimizer_ema_state_mib=round(extra / 2**20))
    return r

def step_guidance(size, device, dtype, batch, reps, budget, steps=2):
    "`glass guidance` with the sd recipe at 512 px: `steps` denoising steps, measured; the recipe's 100, extrapolated."
    from glass.guidance import _guidance_plan, load_pipeline, set_scheduler, generate_with_masks, recipe_dtype
    from glass.reproduce import SAMPLE_SCENES
    cfg, gen, sched = _guidance_plan('sd', steps, None, None, None, None, None, None, '0,1', False, False, False, None, None, None, None)
    full = _guidance_plan('sd', None, None, None, None, None, None, None, '0,1', False, False, False, None, None, None, None)[1]['num_inference_steps']
    dt = recipe_dtype('sd', device) if dtype == 'recipe' else dtype
    pipe = set_scheduler(load_pipeline(f'random:{"sd21" if size == "full" else "sd21-mini"}', device, dtype=dt), sched)
    caps = [SAMPLE_SCENES[i % len(SAMPLE_SCENES)][2] for i in range(batch)]
    calls = []
    def start(*a): sync(device); calls.append([time.perf_counter()])
    def end(*a): sync(device); calls[-1].append(time.perf_counter())
    pipe.unet.register_forward_pre_hook(start); pipe.unet.register_forward_hook(end)
    run = lambda: generate_with_masks(pipe, caps, None, cfg, seeds=list(range(batch)), vocab='coco', **gen)
    warm = str(device).startswith('cuda')  # on a CPU the first run is timed: a full-size run takes minutes
    ts = timed(run, device, reps, budget, warmup=warm)
    n_calls = len(calls) // (len(ts) + warm)
    per_call = median([b - a for a, b in calls[n_calls * warm:]])  # timed runs only
    flops, fc = count_flops(run)
    unet = sum(fc.get_flop_counts().get('UNet2DConditionModel', {}).values())
    pipe.scheduler.set_timesteps(full); full_calls = len(pipe.scheduler.timesteps)
    n = lambda m: sum(p.numel() for p in m.parameters())
    return dict(parameters=n(pipe.unet) + n(pipe.vae) + n(pipe.text_encoder), trained=0, flops=flops, seconds=ts, dtype=dt,
                measured_steps=steps, unet_calls=n_calls, unet_flops_per_call=unet / n_calls, unet_seconds_per_call=per_call,
                recipe_steps=full, recipe_unet_calls=full_calls,
                flops_recipe=flops + (full_calls - n_calls) * unet / n_calls,
                seconds_recipe=median(ts) + (full_calls - n_calls) * per_call)

def step_eval(size, device, dtype, batch, reps, budget):
    "The masks `glass eval --preset glass-coco` scores: DINOv2 at 448, slot attention, head-mean masks (`Segmenter`)."
    from glass.tasks import Segmenter
    run = run_config(size, device=device)
    model = build(run).eval().to(device)
    seg = Segmenter(model)  # in float32, as glass eval (and the released evaluation) computes
    x = torch.rand(batch, 3, model.config.image_size, model.config.image_size, generator=torch.Generator().manual_seed(0)).to(device)
    ts = timed(lambda: seg(x), device, reps, budget); flops, _ = count_flops(lambda: seg(x))
    return dict(parameters=n_params(model.encoder) + n_params(model.slot_attention), trained=0, flops=flops, seconds=ts)

def step_encode(size, device, dtype, batch, reps, budget):
    "What the cache computes once per image: DINOv2 features at 448 and the VAE's latents (posterior mean) at 256."
    run = run_config(size, device=device)
    model = build(run).eval().to(device)
    g, c = torch.Generator().manual_seed(0), model.config
    x, y = (torch.rand(batch, 3, s, s, generator=g).to(device) for s in (c.image_size, c.decoder_resolution))
    out = {}
    with torch.no_grad():  # in float32, as the cache computes (and stores in the preset's float16)
        for name, f, m in (('dinov2', lambda: model.encoder(x), model.encoder), ('vae', lambda: model.decoder.encode_latents(y), model.decoder.vae)):
            ts = timed(f, device, reps, budget / 2); flops, _ = count_flops(f)
            out[name] = dict(parameters=n_params(m), flops=flops, seconds=ts)
    return dict(parameters=sum(v['parameters'] for v in out.values()), trained=0, flops=sum(v['flops'] for v in out.values()),
                seconds=[a + b for a, b in zip(out['dinov2']['seconds'], out['vae']['seconds'])], parts=out)

def run_step(name, size, device, dtype, batch, reps, budget, guidance_steps=2, lean=False):
    "Measure one step; the figures as a dict."
    if device.startswith('cuda'): torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
    t0 = time.time(); CPU_TIMES.clear()
    f = dict(stage1=lambda: step_train(size, device, dtype, batch, reps, budget),
             stage2=lambda: step_train(size, device, dtype, batch, reps, budget, stage=2, lean=lean),
             stage2_xattn=lambda: step_train(size, device, dtype, batch, reps, budget, stage=2, train_unet='cross_attn'),
             guidance=lambda: step_guidance(size, device, 'recipe' if dtype == 'bf16' else dtype, batch, reps, budget, guidance_steps),
             eval=lambda: step_eval(size, device, dtype, batch, reps, budget),
             encode=lambda: step_encode(size, device, dtype, batch, reps, budget))[name]
    r = f()
    r.update(step=name, size=size, device=device, dtype=r.get('dtype', dtype), batch=batch, seconds_median=median(r['seconds']),
             cpu_seconds_per_step=sum(CPU_TIMES) / len(r['seconds']), threads=torch.get_num_threads(),
             peak_gpu_mib=peak_gpu(device), total_seconds=round(time.time() - t0, 1))
    return r

# ---------------------------------------------------------------------------------------------------------------- projections
def per_sample(r, key='flops'):
    "FLOPs of one sample of a step (guidance: of one image at the recipe's 100 steps)."
    return (r['flops_recipe'] if r['step'] == 'guidance' else r[key]) / r['batch']

def schedule():
    "The paper's schedule: samples each step processes in a run (presets' steps x global batch; dataset sizes)."
    from glass.train import run_preset
    s1, s2, voc = run_preset('glass-coco'), run_preset('glass-coco', 2), run_preset('glass-voc')
    g = 128  # global batch of the presets (Stable-LSD: 32 per GPU x 4; on 8 GPUs 16 each)
    return {'COCO stage 1': ('stage1', s1.train.steps * g, f'{s1.train.steps:,} steps x global batch {g}'),
            'COCO stage 2': ('stage2', s2.train.steps * g, f'{s2.train.steps:,} steps x global batch {g}'),
            'COCO guidance': ('guidance', COCO_TRAIN, f'{COCO_TRAIN:,} captions (one per train2017 image), 100 PNDM steps, CFG'),
            'COCO cache': ('encode', 2 * COCO_TRAIN, f'{COCO_TRAIN:,} generated + {COCO_TRAIN:,} train2017 images (stages 1, 2)'),
            'COCO eval': ('eval', COCO_VAL, f'{COCO_VAL:,} val2017 images'),
            'VOC stage 1': ('stage1', voc.train.steps * g, f'{voc.train.steps:,} steps x global batch {g}'),
            'VOC guidance': ('guidance', VOC_TRAINAUG, f'{VOC_TRAINAUG:,} captions (trainaug)'),
            'VOC eval': ('eval', VOC_VAL, f'{VOC_VAL:,} val images')}

def projections(results):
    "GPU hours of the paper's schedule at MFU of the H100's dense bf16 peak, from the measured FLOPs per sample."
    out = {}
    for name, (step, n, how) in schedule().items():
        if step not in results or 'flops' not in results[step]: continue
        total = per_sample(results[step]) * n
        h = total / (MFU * H100_BF16_DENSE) / 3600
        out[name] = dict(step=step, samples=n, how=how, flops=total, gpu_hours=h, hours_on_8_gpus=h / GPUS)
    return out

# ---------------------------------------------------------------------------------------------------------------- report
def markdown(res):
    "The results as two markdown tables."
    m = res['machine']
    head = [f"{m.get('gpu') or m['cpu'] + ' CPU'}, {m['threads']} thread(s), torch {m['torch']}, {res['steps'] and next(iter(res['steps'].values())).get('dtype', '')}; "
            f"load average {m['load_average']:.1f} at the start; `{res['command']}`", '']
    rows = head + ['| step | batch | parameters (total / trained) | FLOPs per step | seconds per step, wall (CPU) | peak memory |', '| --- | --- | --- | --- | --- | --- |']
    for s, r in res['steps'].items():
        if 'error' in r or 'skipped' in r: rows.append(f"| {s} | | | | {r.get('error') or r.get('skipped')} | |"); continue
        sec = f"{r['seconds_median']:.2f}" + (f" (CPU {r['cpu_seconds_per_step']:.2f})" if 'cpu_seconds_per_step' in r and r['device'] == 'cpu' else '')
        if s == 'guidance': sec += f" ({r['measured_steps']} steps); {r['seconds_recipe']:.0f} at 100 steps (extrapolated)"
        fl = f"{r['flops'] / 1e12:.2f} T" + (f"; {r['flops_recipe'] / 1e12:.1f} T at 100 steps" if s == 'guidance' else '')
        mem = f"{r['peak_gpu_mib']} MiB (GPU)" if r.get('peak_gpu_mib') else f"{r.get('peak_rss_mib', '?')} MiB (RSS)"
        if r.get('lean'):
            sec += ' (forward and backward; no AdamW step)'
            mem += f"; the whole step: about {r['estimated_step_peak_mib']} MiB (+ AdamW moments and EMA, {r['optimizer_ema_state_mib']} MiB)"
        mfu = f"; MFU {r['mfu']:.0%}" if r.get('mfu') else ''
        rows.append(f"| {s} | {r['batch']} | {r['parameters'] / 1e6:.1f} M / {r['trained'] / 1e6:.1f} M | {fl} | {sec}{mfu} | {mem} |")
    p = ['', f"Projected GPU time of the paper's schedule at {MFU:.0%} of an H100's dense bf16 peak ({H100_BF16_DENSE / 1e12:.0f} TFLOP/s), "
         'from the FLOPs per sample above:', '', '| run | samples | FLOPs | GPU hours | hours on 8 GPUs |', '| --- | --- | --- | --- | --- |']
    p += [f"| {k} | {v['how']} | {v['flops']:.2e} | {v['gpu_hours']:,.1f} | {v['hours_on_8_gpus']:,.1f} |" for k, v in res.get('projections', {}).items()]
    return '\n'.join(rows + p) + '\n'

def write(res, out):
    "Write the results JSON (with the projections) and its markdown tables."
    res['projections'] = projections({k: v for k, v in res['steps'].items() if 'flops' in v})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + '\n'); out.with_suffix('.md').write_text(markdown(res))

def machine(device):
    m = dict(python=platform.python_version(), torch=torch.__version__, cpus=os.cpu_count(), cpu=platform.processor() or platform.machine(),
             threads=torch.get_num_threads(), load_average=os.getloadavg()[0])
    if device.startswith('cuda'): m.update(gpu=torch.cuda.get_device_name(), gpu_memory_gib=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
    return m

def peak_flops(device, given):
    "Dense bf16 peak of the GPU (FLOP/s): `given` (TFLOP/s) if set, else known for H100 / H200."
    if given: return given * 1e12
    name = torch.cuda.get_device_name() if device.startswith('cuda') else ''
    return H100_BF16_DENSE if any(k in name for k in ('H100', 'H200')) else None

def in_child(step, size, device, dtype, batch, reps, budget, guidance_steps, lean=False):
    "Measure one step in a child process: its figures, with the child's peak resident memory."
    from glass.reproduce import run_measured
    argv = [sys.executable, __file__, '--only', step, '--size', size, '--device', device, '--dtype', dtype, '--batch', str(batch), '--reps', str(reps),
            '--time_limit', str(budget), '--guidance_steps', str(guidance_steps), '--child', *(['--lean'] if lean else [])]
    r = run_measured(argv, env={'GLASS_PROGRESS': '0'})
    if r['rc'] != 0:
        return dict(error=('stopped: the machine ran out of memory' if r['killed'] == 'memory' else f"exit {r['rc']}"),
                    peak_rss_mib=r['peak_rss_mib'], stderr=r['err'][-2000:])
    out = json.loads(r['out'].strip().splitlines()[-1])
    return dict(out, peak_rss_mib=r['peak_rss_mib'], process_seconds=r['seconds'])

def _oom(e): return isinstance(e, torch.OutOfMemoryError) or 'out of memory' in str(e)

def in_process(step, size, device, dtype, batch, reps, budget, guidance_steps, peak):
    "One step in this process (the GPU mode) at the largest batch, from `batch` down by halves, that fits; MFU against `peak`."
    b = batch
    while b >= 1:
        try:
            r = run_step(step, size, device, dtype, b, reps, budget, guidance_steps)
            if peak: r['mfu'] = (r['flops'] / r['seconds_median']) / peak
            return r
        except Exception as e:
            if not _oom(e): raise
            torch.cuda.empty_cache(); print(f'{step}: batch {b} does not fit; trying {b // 2}', flush=True); b //= 2
    return dict(error='does not fit at batch 1')

@call_parse
def main(size:str='full', # full (the paper's architectures) or mini (reduced width: the same code, fast)
         device:str='cpu', # cpu or cuda
         dtype:str='fp32', # fp32, or bf16 (the presets' mixed precision; guidance in its recipe's fp16)
         batch:int=None, # samples per step (default: 1 on cpu; on cuda 16, the presets' per-GPU batch on 8 GPUs, halved until it fits)
         reps:int=None, # timed repetitions after a warmup (default: 1 on cpu, 10 on cuda)
         time_limit:float=None, # seconds for the whole run: steps that would start after it are skipped (default: none)
         only:str=None, # comma-separated steps (default: all of STEPS)
         guidance_steps:int=None, # denoising steps measured for `guidance`, then extrapolated to 100 (default: 2 on cpu, 10 on cuda)
         peak_tflops:float=None, # the GPU's dense peak for MFU (default: 989 for H100 / H200)
         lean_below_gib:float=22., # cpu: with less memory available, stage2 (the whole UNet) runs forward and backward only
         lean:store_true=False, # internal: training steps without AdamW and EMA state
         isolate:bool_arg=None, # each step in its own process, for its peak resident memory (default: on cpu; on cuda one process)
         child:store_true=False, # internal: measure one step in this process and print it as JSON
         out:str=None): # results JSON (default: bench/results/paper_size[_SIZE][_DEVICE].json, and .md)
    "Measure the paper-size steps and project the paper's schedule."
    cuda = device.startswith('cuda')
    batch, reps = batch or (16 if cuda else 1), reps or (10 if cuda else 1)
    gsteps = guidance_steps or (10 if cuda else 2)
    isolate = (not cuda) if isolate is None else isolate
    steps = only.split(',') if only else list(STEPS)
    if bad := [s for s in steps if s not in STEPS]: raise SystemExit(f'unknown step(s) {bad}; choose from {STEPS}')
    budget = time_limit or 3600.
    if child:
        print(json.dumps(run_step(steps[0], size, device, dtype, batch, reps, budget, gsteps, lean))); return
    stem = 'paper_size' + ('' if size == 'full' else f'_{size}') + ('_cuda' if cuda else '')
    out = Path(out or Path(__file__).parent / 'results' / f'{stem}.json')
    res = dict(command='python bench/paper_size.py ' + ' '.join(sys.argv[1:]), machine=machine(device), size=size, mfu_assumed=MFU,
               peak_flops_assumed=H100_BF16_DENSE, gpus_assumed=GPUS, steps={})
    t_end, peak = time.time() + budget, peak_flops(device, peak_tflops)
    for s in steps:
        left = t_end - time.time()
        if left < 10: res['steps'][s] = dict(skipped='time limit'); continue
        print(f'{s} ...', flush=True)
        per = max(left / (len(steps) - steps.index(s)) * 0.5, 5.)  # a share of the time left for the timed repetitions
        if not isolate: r = in_process(s, size, device, dtype, batch, reps, per, gsteps, peak)
        else:
            from glass.reproduce import available_gib
            lean = s == 'stage2' and size == 'full' and available_gib() < lean_below_gib
            r = in_child(s, size, device, dtype, batch, reps, per, gsteps, lean)
            if lean and 'peak_rss_mib' in r and 'error' not in r:
                r.update(available_gib=round(available_gib(), 1), estimated_step_peak_mib=r['peak_rss_mib'] + r['optimizer_ema_state_mib'])
        res['steps'][s] = r
        print(json.dumps({k: v for k, v in r.items() if k not in ('stderr', 'parts')}), flush=True)
        write(res, out)  # after every step: a run stopped by a time limit keeps what it measured
    write(res, out); print(markdown(res))

