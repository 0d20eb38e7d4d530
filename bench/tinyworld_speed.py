"""Tiny-world rendering and export speed: scenes per second on one core.

    python bench/tinyworld_speed.py            # full run (the number reported in the README)
    python bench/tinyworld_speed.py --quick    # a few seconds, to check that the script works
    python bench/tinyworld_speed.py --world parts   # the parts world (objects made of parts)

Writes bench/results/tinyworld_speed.json (--world parts: tinyworld_speed_parts.json; --quick: *_quick.json,
so a check never overwrites the full result; --out to choose). The goal is at least 1,000 scenes/s for
`render_scene` at 64x64 on one core.
"""
import os
for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
import json, platform, tempfile, time
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse, store_true
from glass.tinyworld import render_scene, split_seeds, export_coco, export_voc, TinyWorld

GOAL = 1000  # scenes/s at 64x64 on one core

def rate(fn, n:int, repeats:int):
    "Best items/s of `repeats` runs of `fn()` that each handle `n` items."
    best = min(_timed(fn) for _ in range(repeats))
    return n / best

def _timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t

def pin_one_core():
    "Run on a single CPU core where the OS allows it; return the core or None."
    if not hasattr(os, 'sched_setaffinity'): return None
    core = min(os.sched_getaffinity(0)); os.sched_setaffinity(0, {core})
    torch.set_num_threads(1)
    return core

@call_parse
def main(quick:store_true=False, # a short run to check that the script works
         world:str='shapes', # the tiny world: shapes or parts
         out:str=None): # where to write the results; default bench/results/tinyworld_speed[_parts][_quick].json
    "Measure tiny-world scenes/second (rendering, Dataset samples, COCO and VOC export)."
    core = pin_one_core()
    n, n_export, repeats = (300, 30, 2) if quick else (5000, 500, 3)
    seeds = split_seeds('train', n)
    render_scene(0, world=world)  # warm the shape cache
    res = {f'render_{s}': rate(lambda: [render_scene(i, s, world) for i in seeds], n, repeats) for s in (64, 128)}
    ds = TinyWorld('train', n=n, world=world)
    res['dataset_sample_64'] = rate(lambda: [ds[i] for i in range(n)], n, repeats)
    with tempfile.TemporaryDirectory() as d:
        ex = split_seeds('val', n_export)
        res['export_coco_64'] = n_export / _timed(lambda: export_coco(Path(d) / 'coco', ex, world=world))
        res['export_voc_64'] = n_export / _timed(lambda: export_voc(Path(d) / 'voc', ex, world=world))
    out_d = dict(unit='scenes/s', world=world, goal_render_64=GOAL, meets_goal=res['render_64'] >= GOAL, quick=quick,
                 n_render=n, n_export=n_export, repeats=repeats, pinned_core=core,
                 results={k: round(v, 1) for k, v in res.items()},
                 machine=dict(platform=platform.platform(), processor=platform.processor(), python=platform.python_version(),
                              numpy=np.__version__, torch=torch.__version__, cpus=os.cpu_count(),
                              load_average=[round(v, 2) for v in os.getloadavg()]))
    out = out or f"bench/results/tinyworld_speed{'' if world == 'shapes' else '_' + world}{'_quick' if quick else ''}.json"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(out_d, indent=2) + '\n')
    for k, v in res.items(): print(f'{k:20} {v:9.1f} scenes/s')
    print(f"render_64 goal {GOAL}/s: {'met' if out_d['meets_goal'] else 'NOT met'}; wrote {out}")
