"""Which pseudo-mask recipe suits a text-to-image pipeline: `bench/pseudo_mask_quality.py` (real test scenes
only) under a ladder of settings, from Stable Diffusion's recipe (class prompt, tau 4, library-default
resolutions) to the tiny-world stand-in's (`glass.guidance.MASK_RECIPES['standin']`). Each rung changes one thing.
Results: bench/results/pseudo_mask_recipes.json (per rung: arguments, mIoU, per-class IoU).

    python bench/pseudo_mask_recipes.py glass/assets/tinyworld/stable-diffusion --n 200
"""
import json, subprocess, sys, tempfile, time
from pathlib import Path
from fastcore.script import call_parse

LADDER = {
    'SD recipe (class prompt, tau 4, self-attention 8)': [],
    '+ self-attention at 16': ['--self_res', '16'],
    '+ t 300': ['--self_res', '16', '--t', '300'],
    '+ tau 1': ['--self_res', '16', '--t', '300', '--tau', '1'],
    '+ caption class-word columns (no class prompt, no appended names)': ['--self_res', '16', '--t', '300', '--tau', '1', '--no_class_prompt', '--no_append'],
    '+ noun-phrase columns': ['--self_res', '16', '--t', '300', '--tau', '1', '--no_class_prompt', '--no_append', '--phrase'],
    '+ appended names (demo recipe without max_area)': ['--self_res', '16', '--t', '300', '--tau', '1', '--no_class_prompt', '--phrase'],
    'demo recipe (+ max_area 0.5)': ['--self_res', '16', '--t', '300', '--tau', '1', '--no_class_prompt', '--phrase', '--max_area', '0.5'],
}

@call_parse
def main(model:str, # a StableDiffusionPipeline folder (the tiny-world stand-in)
         n:int=200, # real test scenes per rung
         threads:int=1, # torch CPU threads
         out:str='bench/results/pseudo_mask_recipes.json'):
    "Score each rung of `LADDER` on the same `n` real test scenes."
    rows, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i, (name, args) in enumerate(LADDER.items()):
            res = Path(d) / f'{i}.json'
            cmd = [sys.executable, str(Path(__file__).parent / 'pseudo_mask_quality.py'), model, '--n', str(n), '--n_gen', '0',
                   '--figure_n', '1', '--threads', str(threads), '--out', str(res), *args]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode: raise SystemExit(f'{name}: {" ".join(cmd)} failed:\n{p.stderr[-3000:]}')
            r = json.loads(res.read_text())['real_scenes']
            rows.append(dict(rung=name, args=args, miou_uncertain_excluded=r['uncertain_excluded']['miou'],
                             miou_uncertain_as_background=r['uncertain_as_background']['miou'], iou=r['uncertain_excluded']['iou'],
                             uncertain_fraction=r['uncertain_fraction']))
            print(f"{rows[-1]['miou_uncertain_excluded']:.3f}  {name}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(dict(model=model, n=n, split='test', threads=threads, rungs=rows,
                                         seconds=time.perf_counter() - t0), indent=1))
    print(f'-> {out}')
