"""Why the demo slows down on a busy machine: torch's CPU threads and OpenMP's spin-waiting, measured.

    python bench/demo_threads.py                 # the machine as it is
    python bench/demo_threads.py --busy_procs 2  # plus 2 busy-looping processes (a load of about 2 more)

Each setting runs in a fresh process (OpenMP reads its environment when torch is loaded) and times the demo's two
heaviest kinds of work: `steps` optimiser steps of the demo's GLASS model (batch 32, the shipped parts-world
stand-ins, a batch of real TRAIN scenes) and one call of the guidance generator (`gen_batch` prompts, `gen_steps`
denoising steps, CFG 4). Settings: torch threads (1, or the machine's cores) x `OMP_WAIT_POLICY` (unset: libgomp's
default, which spins for a while before sleeping; PASSIVE: waiting threads sleep at once). The settings are run in
turn, `reps` rounds, so a change of the machine's load hits them all alike; each row records wall seconds, CPU seconds
(all threads) and the 1-minute load average before it. Writes bench/results/demo_threads.json.
"""
import json, os, subprocess, sys, time
from pathlib import Path
from fastcore.script import call_parse

WORK = r'''
import json, os, sys, time, resource
import torch
threads, steps, gen_steps, gen_batch = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
from glass import demo as D
from glass.model import build_model
from glass.data import collate
from glass.tinyworld import TinyWorld
sd = D.stand_ins_dir(None)
b = D.demo_budget(False)
cfg = D.demo_config(sd, 'glass', 0, b)
model = build_model(cfg)
ds = TinyWorld('train', n=b.batch_size, size=128, world=D.DEMO_WORLD, transform=D.cache_transform(cfg, b.mask_size))
batch = collate([ds[i] for i in range(len(ds))])
cache = D.build_cache([{k: batch[k][i] for k in ('image', 'image_dec', 'semantic', 'ignore')} for i in range(len(ds))], model, progress=False)
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
g = torch.Generator().manual_seed(0)
def cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
res = {}
t, c = time.perf_counter(), cpu()
for _ in range(steps):
    loss = model.losses(cache, g)['loss']; opt.zero_grad(); loss.backward(); opt.step()
res['train'] = dict(wall=time.perf_counter() - t, cpu=cpu() - c)
from glass.guidance import load_pipeline
pipe = load_pipeline(str(D.stand_in_folders(sd)[0]), 'cpu')
pipe.set_progress_bar_config(disable=True)
prompts = [r['caption'] for r in D.guidance_rows(gen_batch)]
t, c = time.perf_counter(), cpu()
with torch.no_grad(): pipe(prompts, num_inference_steps=gen_steps, guidance_scale=4.0, output_type='pt', generator=torch.Generator().manual_seed(0))
res['generate'] = dict(wall=time.perf_counter() - t, cpu=cpu() - c)
print(json.dumps(res))
'''

def busy():
    "A process that spins until killed."
    return subprocess.Popen([sys.executable, '-c', 'while True: pass'])

@call_parse
def main(steps:int=10, # optimiser steps per setting
         gen_steps:int=15, gen_batch:int=16, # the guidance generator's call (the demo's)
         reps:int=2, # rounds over the settings
         busy_procs:int=0, # extra busy-looping processes during the measurement
         out:str='bench/results/demo_threads.json'):
    cores = os.cpu_count()
    settings = [(1, None), (cores, None), (cores, 'PASSIVE'), (1, 'PASSIVE')]
    hogs = [busy() for _ in range(busy_procs)]
    rows = []
    try:
        for r in range(reps):
            for threads, policy in settings:
                env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'OMP_NUM_THREADS')}
                if policy: env['OMP_WAIT_POLICY'] = policy
                load = os.getloadavg()[0]
                p = subprocess.run([sys.executable, '-c', WORK, str(threads), str(steps), str(gen_steps), str(gen_batch)],
                                   env=env, capture_output=True, text=True)
                if p.returncode: raise SystemExit(p.stderr[-2000:])
                m = json.loads(p.stdout.strip().splitlines()[-1])
                rows.append(dict(rep=r, threads=threads, omp_wait_policy=policy or 'unset', load_before=round(load, 2),
                                 **{f'{k}_{x}': round(v[x], 2) for k, v in m.items() for x in ('wall', 'cpu')}))
                print(rows[-1], flush=True)
    finally:
        for h in hogs: h.kill()
    Path(out).write_text(json.dumps(dict(cores=cores, steps=steps, gen_steps=gen_steps, gen_batch=gen_batch, busy_procs=busy_procs,
                                          rows=rows), indent=1) + '\n')
    print('->', out)
