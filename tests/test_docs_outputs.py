"""Notebook outputs for the site: kept by `tools/run_notebooks.py`, clean for CI, shown by the site, kept small.

A two-notebook nbdev project made in a temporary folder goes through the whole path a notebook of
`glass` takes: run in place keeping its outputs (a printed result, a matplotlib figure; the
`#| eval: false` cell not run, the `#| slow` cell run only with `--flags slow`), `nbdev_clean` and
`nbdev_export` then change nothing (CI's "notebooks are clean and in step" check), and the site built
from it shows the figure, the `show_doc` block and the links, all checked by `tools/check_site.py`.
The last test holds the budget on the outputs stored in `nbs/`.
"""
import base64, json, os, shutil, struct, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT/'tools'
sys.path.insert(0, str(TOOLS))
import check_site  # noqa: E402

def _nb(cells):
    "A notebook in nbdev's clean format, sources as one string."
    return dict(cells=[dict(cell_type=t, id=f'{i:08x}', metadata={}, source=s, **(dict(execution_count=None, outputs=[]) if t == 'code' else {}))
                       for i, (t, s) in enumerate(cells)],
                metadata=dict(kernelspec=dict(display_name='python3', language='python', name='python3')), nbformat=4, nbformat_minor=5)

CORE = [('markdown', '# Mini core\n> A page that shows what it explains.'),
        ('code', '#| default_exp core'),
        ('code', '#| export\ndef add(a:int, # the first number\n        b:int=1, # the second number\n       ):\n    "Add `a` and `b`."\n    return a + b'),
        ('markdown', '`add` adds two numbers; the [home page](index.ipynb) says why. Its square is $x^2$.'),
        ('code', 'print(add(1, 2))'),
        ('code', 'import matplotlib.pyplot as plt'),
        ('code', 'fig, ax = plt.subplots(figsize=(4, 2))\nax.plot([0, 1, 2], [add(0), add(1), add(2)]);'),
        ('code', "#| eval: false\nraise RuntimeError('an eval: false cell ran')"),
        ('code', "#| slow\nprint('the slow cell ran')"),
        ('code', '#| hide\nassert add(2) == 3')]
INDEX = [('markdown', '# minidoc\n> The home page.'), ('markdown', 'A dot: ![a dot](images/dot.png)')]

def _run(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(cwd))
    r = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f'{args} failed:\n{r.stdout}\n{r.stderr}'
    return r.stdout

@pytest.fixture(scope='module')
def mini(tmp_path_factory):
    "A small nbdev project, exported and clean."
    d = tmp_path_factory.mktemp('minidoc')
    ini = (ROOT/'settings.ini').read_text()
    for k, v in dict(repo='minidoc', lib_path='minidoc', title='minidoc', custom_sidebar='True', doc_baseurl='/minidoc',
                     requirements='', console_scripts='', package_data='').items():
        ini = '\n'.join(f'{k} = {v}' if l.split('=')[0].strip() == k else l for l in ini.splitlines())
    (d/'settings.ini').write_text(ini + '\n')
    (d/'nbs'/'images').mkdir(parents=True)
    (d/'nbs'/'00_core.ipynb').write_text(json.dumps(_nb(CORE), indent=1))
    (d/'nbs'/'index.ipynb').write_text(json.dumps(_nb(INDEX), indent=1))
    shutil.copy(ROOT/'_quarto.yml', d/'_quarto.yml'); (d/'nbs'/'_quarto.yml').symlink_to('../_quarto.yml')
    shutil.copy(ROOT/'nbs'/'styles.css', d/'nbs'/'styles.css')
    (d/'nbs'/'sidebar.yml').write_text('website:\n  sidebar:\n    contents:\n      - index.ipynb\n      - 00_core.ipynb\n')
    (d/'.gitignore').write_text('_docs/\n_proc/\n*.egg-info/\n__pycache__/\nnbs/nbdev.yml\n')
    from PIL import Image
    Image.new('RGB', (40, 20), (200, 30, 30)).save(d/'nbs'/'images'/'dot.png')
    _run('-c', 'from nbdev.clean import nbdev_clean; from nbdev.doclinks import nbdev_export; '
               'nbdev_clean.__wrapped__(); nbdev_export.__wrapped__()', cwd=d)
    subprocess.run(['git', 'init', '-q'], cwd=d, check=True)
    subprocess.run(['git', 'add', '-A'], cwd=d, check=True)
    subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'mini'], cwd=d, check=True)
    return d

def _outputs(nb):
    return {c['id']: c.get('outputs', []) for c in json.loads(Path(nb).read_text())['cells'] if c['cell_type'] == 'code'}

def test_run_keeps_outputs_and_stays_clean(mini):
    nb = mini/'nbs'/'00_core.ipynb'
    print(_run(TOOLS/'run_notebooks.py', nb, cwd=mini))
    outs = _outputs(nb)
    assert outs['00000004'][0]['text'] == ['3\n']                                        # printed result kept
    fig = outs['00000006']
    assert len(fig) == 1 and fig[0]['output_type'] == 'display_data'                     # the figure, once
    png = base64.b64decode(fig[0]['data']['image/png'])
    assert struct.unpack('>II', png[16:24])[0] in range(330, 420)    # 4 in at dpi 100, cropped tight (72 dpi: ~260)
    assert outs['00000007'] == [] and outs['00000008'] == []                             # eval: false, slow: not run
    assert all(isinstance(c['source'], str) for c in json.loads(nb.read_text())['cells'])  # one-string sources kept
    before = nb.read_bytes()
    # CI's check: cleaning and exporting change nothing but the outputs just added
    _run('-c', 'from nbdev.clean import nbdev_clean; from nbdev.doclinks import nbdev_export; '
               'nbdev_clean.__wrapped__(); nbdev_export.__wrapped__()', cwd=mini)
    assert nb.read_bytes() == before
    st = subprocess.run(['git', 'status', '--porcelain'], cwd=mini, capture_output=True, text=True).stdout.split('\n')
    assert [l for l in st if l.strip()] == [' M nbs/00_core.ipynb'], st

def test_run_slow_flag(mini, tmp_path):
    "`--flags slow` runs the slow cells for real (on a copy)."
    nb = mini/'nbs'/'00_core_slow.ipynb'
    shutil.copy(mini/'nbs'/'00_core.ipynb', nb)
    try:
        _run(TOOLS/'run_notebooks.py', nb, '--flags', 'slow', cwd=mini)
        assert _outputs(nb)['00000008'][0]['text'] == ['the slow cell ran\n']
    finally: nb.unlink()

def test_run_stops_on_error(mini):
    "A failing cell stops the run and leaves the notebook as it was."
    nb = mini/'nbs'/'_broken.ipynb'
    nb.write_text(json.dumps(_nb([('code', 'print(1)'), ('code', '1/0')]), indent=1))
    before = nb.read_bytes()
    r = subprocess.run([sys.executable, TOOLS/'run_notebooks.py', nb], cwd=mini, capture_output=True, text=True)
    nb_after = nb.read_bytes(); nb.unlink()
    assert r.returncode != 0 and 'ZeroDivisionError' in r.stderr and nb_after == before

def test_site_shows_the_outputs(mini):
    "The site built from the run notebook shows its figure, show_doc and links; every check passes."
    if not _outputs(mini/'nbs'/'00_core.ipynb')['00000006']:
        _run(TOOLS/'run_notebooks.py', mini/'nbs'/'00_core.ipynb', cwd=mini)
    out = _run(TOOLS/'build_site.py', '--root', mini, cwd=mini)
    assert 'built 2 pages' in out and 'all resolve' in out, out
    docs = mini/'_docs'
    r = check_site.check_site(docs, mini)
    assert r['problems'] == [] and r['counts']['images'] == 2, r
    from bs4 import BeautifulSoup
    page = BeautifulSoup((docs/'core.html').read_text(), 'html.parser')
    assert page.select_one('h1.title').get_text() == 'Mini core'
    img = page.select('main img')
    assert len(img) == 1 and img[0]['src'].startswith('core_files/') and (docs/img[0]['src']).is_file()
    sd = page.find(id='add')
    assert sd.name == 'h3' and 'def add(' in sd.find_parent(class_='cell').get_text()
    assert page.find('a', href='index.html', string='home page') and page.find('math')
    assert 'the first number' in page.get_text()                                  # docments in show_doc
    assert 'an eval: false cell ran' in page.get_text()                           # its code shown, not run
    assert 'assert add(2)' not in page.get_text()                                 # hidden cell hidden
    assert '#| ' not in page.get_text()                                           # no directive shown
    if check_site.find_chromium():
        res, probs, more = check_site.browser_check(docs, mini, pages=[('core.html', ['add'], True)], searches=[('add', 'core.html#add')])
        assert probs == [], probs
        assert any(h.endswith('core.html#add') for h, _ in more['search']['add'])   # the search finds the name

def test_checks_catch_broken_sites(mini, tmp_path):
    "The checks fail on a missing page, a dead link or anchor, a broken image; pass once they are mended."
    docs = tmp_path/'site'; docs.mkdir()
    (docs/'core.html').write_text('<h2 id="here">h</h2>')
    (docs/'index.html').write_text('<a href="core.html#nowhere">x</a><a href="gone.html">y</a>'
                                   '<img src="bad.png"><img src="data:image/png;base64,AAAA">'
                                   '<a href="https://glass-ocl.github.io/minidoc/missing.html">z</a>')
    (docs/'bad.png').write_bytes(b'not a png')
    msgs = '\n'.join(check_site.check_site(docs, mini)['problems'])
    for m in ("'core.html#nowhere': no #nowhere in core.html", "'gone.html': gone.html does not exist",
              "<img> 'bad.png' does not decode", '<img> data URI does not decode', 'missing.html does not exist'):
        assert m in msgs, msgs
    (docs/'index.html').write_text('<a href="core.html#here">x</a><a href="https://glass-ocl.github.io/minidoc/core.html">c</a>'
                                   '<a href="https://example.org/elsewhere">e</a>')
    r = check_site.check_site(docs, mini)
    assert r['problems'] == [] and r['counts']['anchors'] == 1 and r['counts']['links_external'] == 1, r
    (docs/'core.html').unlink()
    assert 'core.html: missing (the page of nbs/00_core.ipynb)' in check_site.check_site(docs, mini)['problems']

# --- the budget on the outputs kept in the notebooks ------------------------------------------------------------
MAX_IMAGE_KB, MAX_IMAGE_PX, MAX_NOTEBOOK_MB, MAX_TOTAL_MB = 300, 2000, 2, 12

def test_notebook_outputs_small():
    "Outputs stored in nbs/ stay small: images at most 300 kB and 2000 px wide, 2 MB a notebook, 12 MB in all."
    total, problems = 0, []
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        size = 0
        for c in json.loads(p.read_text(encoding='utf-8'))['cells']:
            for o in c.get('outputs', []):
                size += len(json.dumps(o))
                for m, v in o.get('data', {}).items():
                    if m in ('image/png', 'image/jpeg'):
                        b = base64.b64decode(v if isinstance(v, str) else ''.join(v))
                        w = struct.unpack('>I', b[16:20])[0] if m == 'image/png' else 0
                        if len(b) > MAX_IMAGE_KB * 1000 or w > MAX_IMAGE_PX:
                            problems.append(f'{p.name} cell {c.get("id")}: {m} {len(b) / 1e3:.0f} kB, {w} px wide')
        if size > MAX_NOTEBOOK_MB * 1e6: problems.append(f'{p.name}: outputs {size / 1e6:.1f} MB')
        total += size
    assert total <= MAX_TOTAL_MB * 1e6, f'outputs in nbs/ total {total / 1e6:.1f} MB'
    assert not problems, 'outputs too big (smaller figsize or dpi: tools/run_notebooks.py --dpi):\n' + '\n'.join(problems)
