"""Run All on every notebook of `nbs/`, as JupyterLab does, and check that it changes nothing in the repository.

Each notebook runs through a Jupyter kernel (nbclient, `tools/run_notebooks.py`'s `run_all`): every code cell in
order, whatever its `#|` flags (`slow`, `notest`, `eval: false` and `hide` cells run too, as Run All runs them),
from the notebook's folder, with the notebook's `RUN_HEAVY` switch at its default `False`. This is the notebooks'
test: it runs each cell that `nbdev_test` runs, and the others as well.

* A cell that fails fails the test (nbclient's `CellExecutionError` names the cell and shows its traceback).
* A notebook must finish within `LIMIT_S` seconds (a cell running longer is stopped): Run All is quick.
* `git status --porcelain` of the working tree is the same before and after: Run All writes nothing inside the
  package or the repository (temporary folders only). Files git ignores (`__pycache__`, `_docs/`) are not looked at.
* A notebook with heavy cells has one `RUN_HEAVY = False` switch near its top, explained by the markdown cell
  before it, and every cell that mentions `RUN_HEAVY` comes after it.
"""
import json, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from run_notebooks import run_all, heavy_switch, HEAVY_SWITCH  # noqa: E402
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
LIMIT_S = 420  # per notebook, one CPU thread; measured on a shared 2-core CPU at load 8-9: slowest 14_reproduce 184 s, 13_demo 148 s

def git_status():
    r = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: pytest.skip(f'not a git working tree ({r.stderr.strip()})')
    return r.stdout

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all(nb):
    "Run All on `nb` as JupyterLab does: no error, within `LIMIT_S`, and the working tree unchanged."
    before = git_status()
    seconds, cells = run_all(nb, timeout=LIMIT_S)
    print(f'{nb.name}: Run All {seconds:.1f} s; slowest cells: {sorted(cells, key=lambda c: -c[1])[:3]}')
    assert seconds < LIMIT_S, f'{nb.name}: Run All took {seconds:.0f} s (limit {LIMIT_S} s)'
    after = git_status()
    assert after == before, f'Run All on {nb.name} changed the working tree:\nbefore:\n{before}\nafter:\n{after}'

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_heavy_switch(nb):
    "At most one switch; where there is one, it is a code cell of its own near the top, after a sentence that explains it."
    cells = json.loads(nb.read_text(encoding='utf-8'))['cells']
    srcs = [''.join(c['source']) for c in cells]
    i = heavy_switch({'cells': cells})
    uses = [k for k, s in enumerate(srcs) if 'RUN_HEAVY' in s and cells[k]['cell_type'] == 'code']
    if i < 0: assert not uses, f'{nb.name} uses RUN_HEAVY without the switch'; return
    assert sum(s.count(HEAVY_SWITCH) for s in srcs) == 1 and i <= 4, (nb.name, i)
    assert srcs[i].startswith(HEAVY_SWITCH + '  # True: '), srcs[i]
    assert cells[i - 1]['cell_type'] == 'markdown' and '`RUN_HEAVY = True`' in srcs[i - 1], nb.name
    assert min(uses) == i and len(uses) > 1, f'{nb.name}: no cell reads its switch'

def test_switch_is_what_run_notebooks_flips():
    "`tools/run_notebooks.py --heavy` finds the switch of the notebooks that have one."
    have = [nb.stem for nb in NOTEBOOKS if heavy_switch(json.loads(nb.read_text(encoding='utf-8'))) >= 0]
    assert {'02_slot_attention', '04_diffusion_decoder', '04a_feature_decoder', '11_foundation', '13_demo', '14_reproduce'} <= set(have), have
