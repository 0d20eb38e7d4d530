"""Copy a `glass demo` report folder into the repository (bench/results/demo/), without the per-scene masks.

    python bench/demo_copy.py out/demo/report          # into bench/results/demo; --dst another folder

Copies report.md, metrics.json, timings.json, loads.json, generation.json, edits.json, binding.json,
each method's metrics.json and figures/*.png; removes the files of an older report there first (val*.json,
the VAL bench's results, are kept). Prints the size of what was copied.
"""
import shutil
from pathlib import Path
from fastcore.script import call_parse

KEEP = ('val.json', 'val_quick.json')  # the VAL bench's results

@call_parse
def main(report:str, # a demo's report/ folder
         dst:str='bench/results/demo'): # the folder in the repository
    "Copy the report's text, numbers and figures."
    src, dst = Path(report), Path(dst)
    if not (src / 'report.md').is_file(): raise SystemExit(f'{src} holds no report.md')
    for p in dst.iterdir() if dst.is_dir() else []:
        if p.name not in KEEP: shutil.rmtree(p) if p.is_dir() else p.unlink()
    dst.mkdir(parents=True, exist_ok=True)
    files = [p for p in src.glob('*') if p.suffix in ('.md', '.json')] + list(src.glob('*/metrics.json')) + list(src.glob('figures/*.png'))
    for p in files:
        q = dst / p.relative_to(src); q.parent.mkdir(parents=True, exist_ok=True); shutil.copy(p, q)
    print(f'{len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.2f} MB -> {dst}')
