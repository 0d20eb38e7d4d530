"""Run every notebook in `nbs/` as a pytest test (the same execution as `nbdev_test`)."""
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook  # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook(nb):
    "Execute `nb`, skipping cells flagged with any of settings.ini's `tst_flags`."
    cfg = get_config(path=ROOT)
    ok, _ = run_notebook(nb, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)
    assert ok, f'{nb.name} failed (traceback above)'
