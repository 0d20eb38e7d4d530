#!/usr/bin/env python
"""Execute notebooks in place and keep their outputs (figures, tables, printed results) for the site.

    python tools/run_notebooks.py nbs/01a_tinyworld.ipynb            # run, keep outputs, nbdev_clean
    python tools/run_notebooks.py nbs/07_train.ipynb --flags slow    # also run the `#| slow` cells for real

The same engine and the same cell selection as the tests (`nbdev.test.test_nb`: execnb's `CaptureShell`,
run from the notebook's folder), so a notebook that passes its test runs here:
* `#| eval: false` cells are not run and keep no output (Quarto does not run them either);
* cells flagged with one of settings.ini's `tst_flags` (`notest slow gpu`) are not run unless named in
  `--flags`; they keep the outputs they had, so a slow cell's output, made once for real, stays;
* every other code cell is run and its outputs replaced (a cell that now prints nothing loses its old
  output); the first error stops the run and the notebook is left as it was.
Figures come from matplotlib's inline backend as PNG at `--dpi` (default 100: a 6.4-inch-wide figure is
640 px, the width of the page's text column; `--format retina` doubles the pixels). After the run the
notebook is written and cleaned with `nbdev_clean` (which keeps outputs and drops execution counts and
metadata), so CI's "notebooks are clean" check passes on it. The command runs with `QUIET`'s environment
(no loading bars or notices of transformers and diffusers; warnings stay). The sizes of the images kept are printed;
`tests/test_docs_outputs.py` holds the budget.
"""
import argparse, base64, json, os, sys, time
from pathlib import Path

# Notices of the libraries that are not what a page explains (loading bars of `from_pretrained`, transformers'
# "requires torchvision" fallback notice): the page shows warnings and errors only. glass's own progress lines stay.
# TQDM_DISABLE sets tqdm's default `disable=True` (tqdm >= 4.66 reads TQDM_* defaults): glass's own lines in logs
# are `glass.core.LogBar`, not tqdm bars, and still print.
QUIET = dict(HF_HUB_DISABLE_PROGRESS_BARS='1', TRANSFORMERS_VERBOSITY='error', DIFFUSERS_VERBOSITY='error',
             TRANSFORMERS_NO_ADVISORY_WARNINGS='1', TQDM_DISABLE='1')

def _flags(cell):
    from nbdev.process import extract_directives
    return extract_directives(cell, remove=False) if cell.cell_type == 'code' else {}

def run_notebook(path, flags=(), fmt='png', dpi=100, timeout=None, quiet=False):
    "Execute `path` in place keeping outputs (see the module's doc); return the seconds it took and image sizes."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.clean import nbdev_clean
    path = Path(path).resolve()
    with working_directory(path.parent):   # nbdev finds settings.ini from the working directory
        get_config.cache_clear(); cfg = get_config()
    skip = set(cfg.get('tst_flags', '').split()) - set(flags)
    orig = json.loads(path.read_text(encoding='utf-8'))   # written back with only its outputs changed
    nb = read_nb(path)
    t0 = time.time()
    k = CaptureShell(path, mpl_format=fmt)
    k.run(f"import matplotlib as _mpl; _mpl.rcParams['figure.dpi'] = {dpi}; del _mpl")
    if str(cfg.config_path) not in sys.path: sys.path.insert(0, str(cfg.config_path))
    def skip_cell(cell):
        "True to leave `cell` alone; a cell to run has its outputs cleared first."
        if cell.cell_type != 'code' or 'nbdev_export' + '(' in cell.source: return True
        d = _flags(cell)
        if d.get('eval:', [''])[0].lower() == 'false': cell.outputs = []; return True
        if skip & set(d): return True
        cell.outputs = []; cell.execution_count = None
        if not quiet and sys.stdout.isatty(): print(f'  {path.name}: cell {cell.get("id", cell.idx_)}  ', end='\r', flush=True)
        return False
    with working_directory(path.parent):
        try: k.run_all(nb, exc_stop=True, preproc=skip_cell)
        except Exception:
            sys.stderr.write(k.prettytb(fname=path) + '\n')
            raise RuntimeError(f'{path.name} failed; the notebook was not changed') from None
    for oc, c in zip(orig['cells'], nb.cells, strict=True):   # sources keep their format (one string a cell)
        if oc['cell_type'] == 'code': oc['outputs'] = json.loads(json.dumps(c.get('outputs', [])))
    write_nb(orig, path)
    with working_directory(path.parent): nbdev_clean.__wrapped__(fname=str(path))
    imgs = [len(base64.b64decode(o['data'][m])) for c in read_nb(path).cells for o in c.get('outputs', [])
            for m in ('image/png', 'image/jpeg') if m in o.get('data', {})]
    dt = time.time() - t0
    if not quiet:
        print(f'{path.name}: ran in {dt:.0f} s; {len(imgs)} images kept ({sum(imgs) / 1e3:.0f} kB, largest '
              f'{max(imgs, default=0) / 1e3:.0f} kB); notebook {path.stat().st_size / 1e3:.0f} kB')
    return dt, imgs

def main(argv=None):
    ap = argparse.ArgumentParser(description='Execute notebooks in place keeping their outputs (skips `#| eval: false` '
                                 'and the tst_flags cells not named in --flags), then nbdev_clean them.')
    ap.add_argument('notebooks', nargs='+', help='notebooks to run, e.g. nbs/01a_tinyworld.ipynb')
    ap.add_argument('--flags', default='', help="tst_flags to run anyway, e.g. 'slow'")
    ap.add_argument('--format', default='png', choices=['png', 'retina', 'svg', 'jpeg'], help='matplotlib inline format (default png)')
    ap.add_argument('--dpi', type=int, default=100, help='figure dpi (default 100)')
    a = ap.parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('WANDB_MODE', 'offline')
    for k, v in QUIET.items(): os.environ.setdefault(k, v)
    for nb in a.notebooks: run_notebook(nb, a.flags.split(), a.format, a.dpi)
    return 0

if __name__ == '__main__': sys.exit(main())
