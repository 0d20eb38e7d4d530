"""`import glass` is a way in: the names a user needs, at the top level, imported on first use."""
import importlib, subprocess, sys
from pathlib import Path
import pytest
import glass

ROOT = Path(__file__).resolve().parent.parent
GROUPS = {  # what a user needs -> names that give it
    'the model and its config': {'GLASS', 'GlassConfig', 'tiny_config'},
    'loading a trained model': {'load_model'},
    'segmenting images': {'Segmenter', 'segment_images'},
    'the tiny world': {'render_scene', 'split_seeds', 'TinyWorld', 'export_coco', 'export_voc'},
    'the metrics': {'evaluate_discovery', 'get_protocol', 'DiscoveryMetrics', 'ari', 'fg_ari', 'mbo', 'miou'},
    'errors a user can fix': {'InputError', 'MissingInputError'},
}

def test_import_is_light():
    "`import glass` loads neither torch nor any module of the package (so the command line's help stays quick)."
    code = "import sys, glass; print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('glass.')))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '[]', r.stdout

@pytest.mark.parametrize('group', GROUPS)
def test_names(group):
    "Each name is the very object its module defines, is in `__all__` and `dir(glass)`, and is named in the module docstring."
    for name in GROUPS[group]:
        assert name in glass.__all__ and name in dir(glass), name
        obj = getattr(glass, name)
        mod, _, attr = glass._LAZY[name].partition(':')
        assert obj is getattr(importlib.import_module(mod), attr or name), name
        assert f'`{name}' in glass.__doc__, f'{name} is not documented in glass/__init__.py'
    assert set(glass.__all__) == set().union(*GROUPS.values())

def test_unknown_name():
    with pytest.raises(AttributeError, match='no_such_thing'): glass.no_such_thing
    with pytest.raises(ImportError): exec('from glass import no_such_thing', {})

def test_readme_documents_the_names():
    "The README (and so the site's home page made from it) shows the way in."
    readme = (ROOT/'README.md').read_text(encoding='utf-8')
    assert 'import glass' in readme
    for name in ('GLASS', 'tiny_config', 'load_model', 'Segmenter', 'segment_images', 'TinyWorld', 'evaluate_discovery', 'mbo'):
        assert name in readme, name
