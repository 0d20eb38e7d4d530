"""How far more stage-2 steps move the demo's reconstructions and edits (everything else as in the demo's run).

    glass demo out/demo                                        # the demo's run (80 stage-2 steps)
    python bench/demo_stage2_steps.py out/demo --steps 400     # copies its stage-1 work to out/demo-stage2-400, trains
                                                               # stage 2 for 400 steps, remeasures (about 9 minutes on 2 cores)

The copy keeps the demo's guidance data, caches, test export, stage-1 runs and scores; `glass demo` then sees that only
stage 2 (and what is made from it) is missing, and runs those stages. Rerun to continue after a kill. Writes
bench/results/demo_stage2_<steps>.json: the reconstruction scores, the edit summaries and the checks of both runs,
and the stage seconds of the new one. With `--steps` equal to the demo's (80) it reruns stage 2 from the same stage-1
runs: the numbers match the demo's exactly (checked: every reconstruction score and edit summary equal).
"""
import json, shutil
from pathlib import Path
from fastcore.script import call_parse
from glass.demo import demo, checks

KEEP = ('guidance', 'cache', 'test-coco', 'real-train', 'demo.json')
STAGE1 = ('glass', 'diffusion', 'dinosaur')
SCORES = ('glass', 'diffusion', 'dinosaur', 'kmeans', 'grid', 'oracle')

def measures(rep:Path):
    "The reconstruction scores, edit summaries and checks of a demo report folder."
    gen = json.loads((rep / 'generation.json').read_text())['scores']
    ed = {k: v['summary'] for k, v in json.loads((rep / 'edits.json').read_text())['models'].items()}
    return dict(reconstructions=gen, edits=ed, checks=[dict(check=c, numbers=v, met=bool(ok)) for c, v, ok in checks(gen, ed)])

@call_parse
def main(demo_dir:str, # a finished `glass demo` folder
         steps:int=400, # stage-2 steps of the new run
         out:str=None): # result file (default bench/results/demo_stage2_<steps>.json)
    src = Path(demo_dir); dst = src.with_name(f'{src.name}-stage2-{steps}')
    if not dst.is_dir():
        tmp = dst.with_name(dst.name + '.partial'); shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for k in KEEP: (shutil.copytree if (src / k).is_dir() else shutil.copy)(src / k, tmp / k)
        for p in STAGE1: shutil.copytree(src / 'runs' / p, tmp / 'runs' / p)
        for p in SCORES: shutil.copytree(src / 'report' / p, tmp / 'report' / p)
        for f in ('timings.json', 'loads.json', 'cpu_seconds.json'): shutil.copy(src / 'report' / f, tmp / 'report' / f)
        d = json.loads((tmp / 'demo.json').read_text()); d['budget']['stage2_steps'] = steps
        (tmp / 'demo.json').write_text(json.dumps(d, indent=1)); tmp.rename(dst)
    settings = json.loads((dst / 'demo.json').read_text())
    r = demo(dst, seed=settings['seed'], stand_ins=settings['stand_ins'], **{**settings['budget'], 'stage2_steps': steps})
    base = json.loads((src / 'demo.json').read_text())['budget']['stage2_steps']
    new = f'stage2_steps_{steps}' + ('_again' if steps == base else '')  # the same steps: a rerun of stage 2, which should match
    res = {f'stage2_steps_{base}': measures(src / 'report'), new: measures(dst / 'report'),
           'seconds_new_stages': {k: v for k, v in r['seconds'].items() if k in ('stage2_glass', 'stage2_diffusion', 'generation', 'edits')}}
    out = Path(out or f'bench/results/demo_stage2_{steps}.json'); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    for k in (f'stage2_steps_{base}', new):
        print(k, [f"{c['numbers']} ({'met' if c['met'] else 'missed'})" for c in res[k]['checks']])
    print(f'-> {out}')
