"""Training curves and scores of the four baselines (GLASS, diffusion-only, diffusion+instance, diffusion+semantic)
at the demo's budget, on the demo's cached guidance data.

    glass demo out/demo                                   # trains 'glass' and 'diffusion', builds the cache
    python bench/baseline_curves.py out/demo              # trains the two other presets the same way, scores all four

Writes bench/results/baseline_curves.json: per preset, the logged losses (step, loss, diff, sem, inst) and the
tiny-world test metrics; the wall time of each training run.
"""
import json, time
from dataclasses import asdict
from pathlib import Path
import torch
from fastcore.script import call_parse
from glass.demo import demo_budget, stand_ins_dir, trained, train_preset, evaluate_model

PRESETS = ('glass', 'diffusion', 'diffusion+inst', 'diffusion+sem')

def curve(run_dir:Path):
    "The logged rows of a run's `log.jsonl` (training rows only)."
    rows = [json.loads(l) for l in (run_dir / 'log.jsonl').read_text().splitlines() if l.strip()]
    keys = ('step', 'loss', 'diff', 'sem', 'inst')
    return [{k: r[k] for k in keys if k in r} for r in rows if 'loss' in r]

@call_parse
def main(demo_dir:str, # a folder written by `glass demo` (its cache, guidance data and test export are reused)
         threads:int=1, # torch CPU threads
         seed:int=0, # the demo's seed
         out:str='bench/results/baseline_curves.json'): # result file
    torch.set_num_threads(threads)
    d, b, sd = Path(demo_dir).resolve(), demo_budget(False), stand_ins_dir(None)
    res = dict(demo_dir=str(d), budget=asdict(b), threads=threads, presets={})
    for p in PRESETS:
        run, t = d / 'runs' / p, time.perf_counter()
        if not trained(run, b.steps): train_preset(d, p, sd, b, seed, threads, 'disabled')
        secs = time.perf_counter() - t
        dst = d / 'report-baselines' / p
        if not (dst / 'metrics.json').is_file(): evaluate_model(run, d / 'test-coco', dst, b, seed, p)
        m = json.loads((dst / 'metrics.json').read_text())
        res['presets'][p] = dict(train_seconds_now=round(secs, 1), curve=curve(run),
                                 metrics={k: m[k] for k in ('fg_ari', 'mbo_i', 'mbo_c', 'miou_i', 'miou_c', 'corloc', 'n_images')})
        print(p, res['presets'][p]['metrics'], flush=True)
    Path(out).write_text(json.dumps(res, indent=1, default=str))
    print('->', out)
