#!/usr/bin/env python
"""Execute notebooks in place and keep their outputs (figures, tables, printed results) for the site.

    python tools/run_notebooks.py nbs/01a_tinyworld.ipynb            # run, keep outputs, nbdev_clean
    python tools/run_notebooks.py nbs/07_train.ipynb --flags slow    # also run the `#| slow` cells for real
    python tools/run_notebooks.py nbs/11_foundation.ipynb --flags slow --heavy   # ... with RUN_HEAVY = True
    python tools/run_notebooks.py --run_all nbs/*.ipynb              # Run All, as JupyterLab does; writes nothing

`--run_all` executes each notebook exactly as JupyterLab's Run All does (a Jupyter kernel through nbclient,
every code cell in order whatever its `#|` flags, the notebook's `RUN_HEAVY` switch at its default), prints
the seconds each took, and leaves the notebook file alone; `tests/test_notebooks.py` runs the same.

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

HEAVY_SWITCH = 'RUN_HEAVY = False'   # the opt-in switch, a line of a notebook's first cells (see `heavy_switch`)

def heavy_switch(nb) -> int:
    "Index of the code cell holding the notebook's `RUN_HEAVY = False` line, or -1 where it has none."
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] == 'code' and any(l.startswith(HEAVY_SWITCH) for l in ''.join(c['source']).split('\n')): return i
    return -1

def run_all(path, timeout:int=600, env:dict=None):
    """Run All on `path` as JupyterLab does: a Jupyter kernel (nbclient), every code cell in order, from the notebook's
    folder, `RUN_HEAVY` at its default. The file is not written. Returns (seconds, [(cell index, seconds)]);
    raises `nbclient`'s `CellExecutionError` on the first failing cell and `CellTimeoutError` on a cell that runs
    past `timeout` seconds."""
    import nbformat
    from nbclient import NotebookClient
    from datetime import datetime
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    t0 = time.time()
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}},
                   record_timing=True, env=env).execute()
    dt = time.time() - t0
    def secs(c):
        t = c.get('metadata', {}).get('execution', {})
        a, b = t.get('iopub.execute_input'), t.get('shell.execute_reply')
        return (datetime.fromisoformat(b.replace('Z', '+00:00')) - datetime.fromisoformat(a.replace('Z', '+00:00'))).total_seconds() if a and b else 0.
    return dt, [(i, secs(c)) for i, c in enumerate(nb.cells) if c.cell_type == 'code']

def run_notebook(path, flags=(), fmt='png', dpi=100, timeout=None, quiet=False, heavy=False):
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
        if heavy and HEAVY_SWITCH in cell.source: cell.source = cell.source.replace(HEAVY_SWITCH, 'RUN_HEAVY = True')
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
    ap.add_argument('--heavy', action='store_true', help='run with the notebook\'s RUN_HEAVY switch set to True (the outputs kept are then those of the heavy work)')
    ap.add_argument('--run_all', action='store_true', help='only Run All through a Jupyter kernel, as JupyterLab does, and print the times (the notebooks are not written)')
    a = ap.parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('WANDB_MODE', 'offline')
    if a.run_all:
        for nb in a.notebooks:
            dt, cells = run_all(nb)
            top = ', '.join(f'cell {i}: {s:.0f} s' for i, s in sorted(cells, key=lambda c: -c[1])[:3])
            print(f'{Path(nb).name}: Run All {dt:.1f} s (slowest {top})', flush=True)
        return 0
    for k, v in QUIET.items(): os.environ.setdefault(k, v)
    for nb in a.notebooks: run_notebook(nb, a.flags.split(), a.format, a.dpi, heavy=a.heavy)
    return 0

if __name__ == '__main__': sys.exit(main())
