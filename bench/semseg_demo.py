"""Weakly-supervised semantic segmentation of the demo's two models on its tiny-world test export.

    glass demo out/demo
    python bench/semseg_demo.py out/demo

Runs `glass eval MODEL --task semseg` for GLASS and the diffusion-only baseline: each slot gets the class of the
caption pseudo masks it overlaps most (the pseudo masks of the real test image, from the shipped text-to-image
stand-in with its recipe; the vocabulary is the parts world's, which names the compound objects), and the class maps
are scored by dataset-level mIoU. The evaluation folders go beside the demo folder (out/demo-semseg/), which holds only
its own files. Writes bench/results/semseg_demo.json (both metrics.json files, and the seconds each took).
"""
import json, time
from pathlib import Path
from fastcore.script import call_parse
from glass.evaluate import eval_cmd

@call_parse
def main(demo_dir:str, # a folder written by `glass demo`
         out:str='bench/results/semseg_demo.json'): # result file
    d, res = Path(demo_dir), {}
    for name in ('glass', 'diffusion'):
        t = time.perf_counter()
        eval_cmd(str(d / 'runs' / name / 'model'), data=str(d / 'test-coco'), format='coco', preset='tinyworld', task='semseg',
                 out=str(d.with_name(d.name + '-semseg') / name), overwrite=True)  # a bench recomputes: replace an earlier result
        res[name] = dict(seconds=time.perf_counter() - t, metrics=json.loads((d.with_name(d.name + '-semseg') / name / 'metrics.json').read_text()))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(dict(demo_dir=str(d), models=res), indent=1))
    for name, r in res.items(): print(f"{name}: semseg mIoU {r['metrics']['miou']:.3f} ({r['seconds']:.0f} s)")
    print(f'-> {out}')
