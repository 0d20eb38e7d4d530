"""The README, checked against the code it describes.

* `nbs/index.ipynb` (the site's home page) is made from README.md by `tools/sync_index.py`: they are in step.
* The README keeps exactly two set-up commands (the main job on the tiny world, the tests), each installing the
  CPU build of torch from its own index first, and the test command is the one CI runs.
* Its Python quickstart runs as written; it stays short (about 1,200 words at most); LICENSE matches settings.ini.
* Every `glass COMMAND` the README names exists, and every `--flag` written after it (in README.md and
  CONTRIBUTING.md) is one of that command's flags; every preset named is one the command knows.
"""
import re, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import sync_index  # noqa: E402
README = (ROOT/'README.md').read_text(encoding='utf-8')
DOCS = README + '\n' + (ROOT/'CONTRIBUTING.md').read_text(encoding='utf-8')  # the text whose commands and flags are checked
CPU_TORCH = 'pip install torch --index-url https://download.pytorch.org/whl/cpu'

def test_index_in_step_with_readme():
    assert sync_index.main(['--check']) == 0, 'run: python tools/sync_index.py'

def test_index_sections():
    nb = sync_index.index_notebook(README)
    keys = [k for k, _ in sync_index.sections(README)]
    assert keys[:2] == ['title', 'intro'] and {'Install', 'Two commands', 'In Python', 'The notebooks', 'At paper scale',
                                                'Where it stands', 'Citation', 'Licence'} <= set(keys), keys
    assert len(nb['cells']) == len(keys) and all(c['cell_type'] == 'markdown' for c in nb['cells'])
    assert '](nbs/' not in ''.join(c['source'] for c in nb['cells'])   # image links relative to nbs/

def _section(title):
    return dict(sync_index.sections(README))[title]

def test_two_setup_commands():
    blocks = re.findall(r'```sh\n(.*?)```', _section('Two commands'), re.S)
    assert len(blocks) == 2, blocks
    demo, tests = (b.strip() for b in blocks)
    assert demo == f'{CPU_TORCH} && pip install -e . && glass demo out/demo'
    assert tests == f'{CPU_TORCH} && pip install -e ".[dev]" && pytest -n 2'
    ci = (ROOT/'.ci'/'run').read_text()  # CI installs torch first too (a pinned CPU wheel), then the same package and tests
    assert 'python -m pytest -n 2' in ci and ci.index('pip install -q torch') < ci.index('pip install -q -e ".[dev]"')

def test_short_and_licensed():
    n = len(README.split())
    assert n <= 1250, f'README.md has {n} words; move developer matters to CONTRIBUTING.md'
    from configparser import ConfigParser
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    assert cfg['DEFAULT']['license'] == 'apache2'
    lic = (ROOT/'LICENSE').read_text().split()
    assert lic[:4] == ['Apache', 'License', 'Version', '2.0,'] and 'END OF TERMS AND CONDITIONS' in ' '.join(lic)
    assert 'example.org' not in (ROOT/'settings.ini').read_text()

def test_quickstart_runs(tmp_path):
    "The README's Python block, run as written in a fresh interpreter (in an empty folder)."
    import subprocess
    code = re.findall(r'```python\n(.*?)```', _section('In Python'), re.S)
    assert len(code) == 1
    r = subprocess.run([sys.executable, '-c', code[0]], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env={**__import__('os').environ, 'PYTHONPATH': str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().split('\n')
    assert len(lines) == 2 and lines[0].startswith('a ') and lines[1].startswith("{'fg_ari': "), r.stdout
    assert not list(tmp_path.iterdir())   # it wrote nothing where it ran
    import glass
    named = set(re.findall(r'glass\.(\w+)', code[0])) | set(re.findall(r'`(\w+)`', _section('In Python')))
    assert {'TinyWorld', 'GLASS', 'tiny_config', 'load_model', 'evaluate_discovery', 'Segmenter', 'get_protocol'} <= named
    assert {n for n in named if n in glass.__all__} >= {'segment_images', 'render_scene', 'export_coco', 'mbo', 'miou', 'fg_ari'}

def _lines():
    "README lines with shell continuations joined."
    return re.sub(r'\\\n\s*', ' ', DOCS).split('\n')

def _uses():
    "(command, the text after it up to the end of its code span or line) for every `glass COMMAND` / `-m glass.MODULE`."
    from glass.cli import COMMANDS
    mods = {v[0].split(':')[0]: k for k, v in COMMANDS.items()}
    out = []
    for l in _lines():
        ms = list(re.finditer(r'(?<![\w.-])glass\)? ([a-z][a-z-]*)|-m (glass\.[a-z_]+)\b', l))
        for i, m in enumerate(ms):
            cmd = m.group(1) or mods.get(m.group(2))
            if cmd not in COMMANDS: continue
            rest = l[m.end():ms[i + 1].start() if i + 1 < len(ms) else len(l)]
            out.append((cmd, rest.split('`')[0]))
    return out

def _parser(cmd):
    from fastcore.script import anno_parser
    from glass.cli import get_command
    f = get_command(cmd)
    return anno_parser(getattr(f, '__wrapped__', f))

def test_commands_and_flags_exist():
    from glass.cli import COMMANDS
    named = set(re.findall(r'`glass ([a-z][a-z-]*)', README))
    assert named <= set(COMMANDS) | {'demo'}, named - set(COMMANDS)
    assert set(COMMANDS) <= named, f'commands without a word in the README: {set(COMMANDS) - named}'
    uses = _uses()
    assert len(uses) > 12
    bad = []
    for cmd, rest in uses:
        flags = {a for act in _parser(cmd)._actions for a in act.option_strings}
        for f in re.findall(r'(?<![\w-])(--[a-z][a-z_-]*)', rest):
            if f not in flags: bad.append(f'glass {cmd} {f}')
    assert not bad, f'flags the README gives that the commands do not have: {sorted(set(bad))}'

def test_presets_exist():
    from glass.train import RUN_PRESETS
    from glass.model import PRESETS as LOSS_PRESETS
    from glass.evaluate import PRESETS as EVAL_PRESETS
    known = set(RUN_PRESETS) | set(LOSS_PRESETS) | set(EVAL_PRESETS)
    named = set(re.findall(r'--preset ([a-z][\w+-]*)', DOCS)) | set(re.findall(r'`((?:glass|lsd|dinosaur)-(?:coco|voc)[\w-]*)`', DOCS))
    assert len(named) >= 4 and named <= known, named - known

def _glass_part(cmd:str):
    "The `glass` part of a command line: `glass train ARGS` for `accelerate launch ... -m glass.train ARGS` too."
    from glass.cli import COMMANDS
    mods = {v[0].split(':')[0]: k for k, v in COMMANDS.items()}
    cmd = ' '.join(cmd.split())
    m = re.search(r'-m (glass\.[a-z_]+) (.*)', cmd) or re.search(r'(?:\$\(which glass\)|^glass) ([a-z-]+) (.*)', cmd)
    if not m: return None
    return f"glass {mods.get(m.group(1), m.group(1))} {m.group(2)}"

def test_paper_scale_commands_are_the_reproduce_notebooks():
    "The README's paper-scale commands are cells of 14_reproduce, which the tests execute at reduced width."
    import json
    nb = json.loads((ROOT/'nbs'/'14_reproduce.ipynb').read_text())
    cells = [''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'code' and '#| eval: false' in ''.join(c['source'])]
    nb_cmds = {_glass_part(l.strip().lstrip('!')) for c in cells for l in re.sub(r'\\\n\s*', ' ', c).split('\n') if l.strip().startswith('!')}
    block = re.findall(r'```sh\n(.*?)```', _section('At paper scale'), re.S)[0]
    readme_cmds = [_glass_part(l) for l in re.sub(r'\\\n\s*', ' ', block).strip().split('\n')]
    assert len(readme_cmds) == 5 and None not in readme_cmds
    missing = [c for c in readme_cmds if c not in nb_cmds]
    assert not missing, f'README commands that 14_reproduce does not hold (and so no test runs): {missing}'

def test_where_it_stands_is_the_seed_bench():
    "Every number of the README's results table is the seed bench's (bench/results/demo_seeds.json), rounded as shown."
    import json
    res = json.loads((ROOT/'bench/results/demo_seeds.json').read_text())
    names = {'GLASS': 'GLASS', 'diffusion-only': 'diffusion-only', 'DINOSAUR-style': 'DINOSAUR-style', 'colour k-means': 'k-means (colour',
             'k-means on encoder features': 'k-means (encoder features)', 'grid': 'grid', 'patch oracle': 'patch oracle'}
    section = README.split('## Where it stands')[1].split('\n## ')[0]
    rows = [r for r in section.splitlines() if r.startswith('| ') and not r.startswith('| method') and not r.startswith('| ---')]
    assert len(rows) == len(names)
    for r in rows:
        cells = [c.strip() for c in r.strip('|').split('|')]
        key = next(v for k, v in names.items() if cells[0].startswith(k))
        name = next(n for n in res['mean'] if n.startswith(key))
        for shown, metric in zip(cells[1:4], ('fg_ari', 'mbo_i', 'miou_i')):
            mean, sd = res['mean'][name][metric], res['std'][name].get(metric)
            want = f'{mean:.1f}' + (f' ± {sd:.1f}' if sd else '')
            assert shown == want, (cells[0], metric, shown, want)
