#!/usr/bin/env python
"""Build the documentation site in `_docs/` from the notebooks, without Quarto.

    python tools/build_site.py             # build _docs/ (about a minute on 2 cores), then check it
    python tools/check_site.py _docs       # the same checks on any _docs/, e.g. one built by nbdev_docs

The pages come from nbdev's own processing of the notebooks, the one `nbdev_docs` hands to Quarto:
nbdev's `FilterDefaults` processors (frontmatter and title, `show_doc` added after every exported name
and executed, `#| export`/`#| hide` cells removed, doclinks turning backticked names into links, Quarto
cell options such as `echo: false` and `output: asis`) write `_proc/*.ipynb`, with `sidebar.yml`,
`_quarto.yml`, `nbdev.yml`, `styles.css` and `images/` copied beside them. nbconvert's HTML exporter
then renders each processed notebook, and this script lays the pages out as Quarto would: one page per
notebook under nbdev's output name (`00_core.ipynb` -> `core.html`, `index.ipynb` -> `index.html`,
the README's home page), the title block, the sidebar of `nbs/sidebar.yml`, a table of contents,
Pandoc-style heading ids (the anchors nbdev's doclinks point at), links to the site (`doc_host` +
`doc_baseurl`) made relative, links to `.ipynb` files turned into their pages, figures written
beside their page (`core_files/`), and TeX math as MathML. Beyond Quarto's layout: previous / next links in
the sidebar's order, a sidebar that folds behind a button on narrow screens (`tools/site.css`, `tools/site.js`),
and search over every page and name: Pagefind (the `pagefind[bin]` package from PyPI, which ships its binary)
indexes the written pages into `_docs/pagefind/`, and its UI sits in the header. Each figure's page records the
smallest font its code sets (`data-min-font-pt`), for the legibility check of `tools/check_site.py`. The stored
outputs of the notebooks are shown as they are: run a notebook with `tools/run_notebooks.py` to keep its figures.

One difference from `nbdev_docs`: an error while nbdev executes the cells `show_doc` needs (a cell
mixing imports with other code, see nbdev's FAQ) stops `nbdev_docs`; here it is reported with the
notebook and cell, that page is built without the failed cell's outputs, and the command exits 1
unless `--keep_going` is given.
"""
import html, json, os, re, shutil, subprocess, sys, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_CSS = Path(__file__).resolve().parent/'site.css'
SITE_JS = Path(__file__).resolve().parent/'site.js'

# --- 1. nbdev's processing -------------------------------------------------------------------------

def nbdev_config(root):
    "nbdev's config of the project at `root` (nbdev looks for settings.ini from the working directory, and caches)."
    from nbdev.config import get_config
    cwd = os.getcwd(); os.chdir(root)
    try:
        get_config.cache_clear()
        return get_config()
    finally:
        os.chdir(cwd); get_config.cache_clear()


def _proc_worker(src, dst):
    "Process notebook `src` into `dst` with nbdev's `FilterDefaults`; return the errors met."
    os.environ['IN_TEST'] = '1'                        # as nbdev.serve_drv does
    warnings.filterwarnings('ignore', message='Found cells containing imports and other code')
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults, exec_show_docs
    errors = []

    class exec_show_docs_reporting(exec_show_docs):
        "nbdev's `exec_show_docs`, reporting a failing cell instead of stopping."
        def __call__(self, cell):
            try: super().__call__(cell)
            except Exception as e:
                cause = e.__cause__ or e
                src_ = (cell.source or '').strip().splitlines()
                errors.append(dict(notebook=Path(src).name, cell=cell.get('id') or cell.idx_,
                                   error=f'{type(cause).__name__}: {cause}', first_line=src_[0] if src_ else ''))
                self.k.exc = None

    class Filters(FilterDefaults):
        def base_procs(self):
            return [exec_show_docs_reporting if p is exec_show_docs else p for p in super().base_procs()]

    nb = read_nb(src)
    nb.path_ = str(src)   # FrontmatterProc names the page from it, as in nbdev.serve_drv
    Filters()(nb)
    write_nb(nb, dst)
    return errors

def process_notebooks(root=ROOT, n_workers=2):
    "Run nbdev's docs processing of `nbs/` into `_proc/` (what `nbdev_proc_nbs` does, less Quarto); return errors."
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob, _build_modidx
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    cwd = os.getcwd(); os.chdir(root)
    try:
        get_config.cache_clear()
        cfg = get_config()
        refresh_quarto_yml()                   # nbs/nbdev.yml from settings.ini (nbs/_quarto.yml is kept)
        _build_modidx()                        # the index doclinks read
        nbdev_sidebar.__wrapped__()            # regenerates nbs/sidebar.yml unless custom_sidebar = True
        nbs, proc = cfg.nbs_path, cfg.config_path/'_proc'
        shutil.rmtree(proc, ignore_errors=True)
        todo = []
        for s in nbglob(nbs, func=Path, file_glob='', file_re=''):
            if any(o.startswith('.') or o in ('_proc', '_docs', '_site') for o in s.relative_to(nbs).parts): continue
            d = proc/s.relative_to(nbs)
            d.parent.mkdir(parents=True, exist_ok=True)
            if s.suffix == '.ipynb': todo.append((s, d))
            else: shutil.copy2(s, d)           # follows links: nbs/_quarto.yml -> ../_quarto.yml
        for extra in ('_quarto.yml', '_brand.yml'):
            if (nbs/extra).exists(): shutil.copy2(nbs/extra, proc/extra)
        with ProcessPoolExecutor(max(1, n_workers), mp_context=get_context('spawn')) as ex:
            futs = {ex.submit(_proc_worker, str(s), str(d)): s for s, d in todo}
            errors = []
            for f, s in futs.items():
                try: errors += f.result()
                except Exception as e:
                    errors.append(dict(notebook=s.name, cell=None, error=f'{type(e).__name__}: {e}', first_line=''))
        return proc, errors
    finally: os.chdir(cwd); get_config.cache_clear()

# --- 2. rendering -------------------------------------------------------------------------------------

_TEMPLATE = r"""{%- extends 'classic/base.html.j2' -%}
{% block input_group -%}
{%- set fold = cell.metadata.get('glass_fold') -%}
{%- if fold -%}
<details class="code-fold"{% if fold == 'show' %} open{% endif %}><summary>{{ cell.metadata.get('glass_summary', 'Code') | escape_html }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group %}
{% block data_png scoped %}
{%- set minfont = cell.metadata.get('glass_minfont') -%}
{%- if minfont %}<div class="glass-figure" data-min-font-pt="{{ minfont }}">{% endif %}
{{ super() }}
{%- if minfont %}</div>{% endif %}
{%- set cap = cell.metadata.get('glass_figcap') -%}
{%- if cap %}<p class="figure-caption">{{ cap | escape_html }}</p>{% endif -%}
{%- endblock data_png %}
"""

_re_opt = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def cell_options(cell):
    "Split the Quarto options (`#| key: value` lines at the top) off a code cell; return them."
    import yaml
    lines, opts = cell.source.splitlines(), {}
    while lines and re.match(r'^\s*#\|', lines[0]):
        if m := _re_opt.match(lines.pop(0)):
            try: opts[m.group(1)] = yaml.safe_load(m.group(2))
            except yaml.YAMLError: opts[m.group(1)] = m.group(2)
    cell.source = '\n'.join(lines)
    return opts

def _false(v): return v is False or str(v).lower() == 'false'

def _attrs(s):
    "Pandoc attributes `{.cls #id key=\"v\"}` as HTML attributes."
    out, cls = [], []
    for tok in re.findall(r'[\w-]+="[^"]*"|[\w-]+=\S+|\.[\w-]+|#[\w-]+', s):
        if tok.startswith('.'): cls.append(tok[1:])
        elif tok.startswith('#'): out.append(f'id="{tok[1:]}"')
        else: out.append(tok)
    if cls: out.append(f'class="{" ".join(cls)}"')
    return ' '.join(out)

_re_link_attr = re.compile(r'(?<!!)\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}')
_re_fence = re.compile(r'^(```|~~~)')

def _math(tex, display):
    try:
        from latex2mathml.converter import convert
        return convert(tex.strip(), display='block' if display else 'inline')
    except Exception: return None   # latex2mathml missing or the TeX beyond it: leave the TeX as written

def _math_sub(text):
    def blk(m): return _math(m.group(1), True) or m.group(0)
    def inl(m): return _math(m.group(1), False) or m.group(0)
    text = re.sub(r'\$\$(.+?)\$\$', blk, text, flags=re.S)
    return re.sub(r'(?<![\\$\w])\$(?=[^\s$])([^$\n]+?)(?<=\S)\$(?![\w$])', inl, text)

def prep_markdown(md):
    "Pandoc-only syntax nbdev emits (`[a](b){attrs}`) and TeX math, made ready for nbconvert's Markdown."
    out, in_fence, para = [], False, []
    def flush():
        if not para: return
        txt = '\n'.join(para)
        parts = re.split(r'(`+[^`]*?`+)', txt)          # leave code spans alone
        out.append(''.join(p if i % 2 else _math_sub(_re_link_attr.sub(
            lambda m: f'<a href="{m.group(2)}" {_attrs(m.group(3))}>{m.group(1)}</a>', p)) for i, p in enumerate(parts)))
        para.clear()
    for line in md.splitlines():
        if _re_fence.match(line.strip()) or in_fence:
            flush(); out.append(line)
            if _re_fence.match(line.strip()): in_fence = not in_fence
        elif line.startswith('    ') and not para: out.append(line)
        else: para.append(line)
    flush()
    return '\n'.join(out)

# --- font sizes of figures (for the legibility check of tools/check_site.py) ---------------------------

# matplotlib's named sizes, in points, at its default font.size of 10
_NAMED_PT = {'xx-small': 5.79, 'x-small': 6.94, 'small': 8.33, 'medium': 10.0, 'large': 12.0, 'x-large': 14.4, 'xx-large': 17.28}
_re_fontsize = re.compile(r"""\b(?:fontsize|labelsize|title_fontsize|size)\s*=\s*(?:([\d.]+)|['"]([a-z-]+)['"])""")
_re_rc_size = re.compile(r"""font\.size['"]\s*[\]:]?\s*[=:]?\s*([\d.]+)""")
_re_def = re.compile(r'^(?:def|class) (\w+)', re.M)

def font_sizes(src):
    "The font sizes in points that the code `src` sets (`fontsize=`, `size=`, `labelsize=`, `font.size`)."
    out = []
    for m in _re_fontsize.finditer(src):
        v = float(m.group(1)) if m.group(1) else _NAMED_PT.get(m.group(2))
        if v: out.append(v)
    out += [float(v) for v in _re_rc_size.findall(src)]
    return out

def _library_sources(root=ROOT):
    "{name: source} of every top-level function and class of the package (the figures' helpers)."
    cfg = nbdev_config(root); out = {}
    for f in sorted(Path(cfg.lib_path).glob('*.py')):
        txt = f.read_text(encoding='utf-8'); ms = list(_re_def.finditer(txt))
        for m, nxt in zip(ms, ms[1:] + [None]): out.setdefault(m.group(1), txt[m.start():nxt.start() if nxt else len(txt)])
    return out

def min_font_pt(src, lib=None, default=10.0):
    "The smallest font (points) a figure made by the cell `src` can hold: sizes set in the cell or in the package's functions it calls, else matplotlib's default 10."
    sizes = font_sizes(src)
    for name in set(re.findall(r'\b(\w+)\(', src)) & set(lib or {}):
        sizes += font_sizes(lib[name])
    return min(sizes + [default])

def image_sources(root=ROOT):
    """{file name: code that draws it} for the images of `nbs/images/` that text shows: the notebook cells that save
    them (`savefig(...name...)`), or the benchmark of the same name (`bench/<stem>.py`). For `min_font_pt`."""
    cfg = nbdev_config(root); out = {}
    for img in (cfg.nbs_path/'images').glob('*.png'):
        for nb in sorted(cfg.nbs_path.glob('*.ipynb')):
            for c in json.loads(nb.read_text(encoding='utf-8'))['cells']:
                src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
                if c['cell_type'] == 'code' and 'savefig(' in src and img.name in src: out[img.name] = src
        if img.name not in out and (b := Path(root)/'bench'/f'{img.stem}.py').is_file(): out[img.name] = b.read_text(encoding='utf-8')
    return out

def prep_notebook(nb, lib=None):
    "Apply the Quarto cell options of nbdev's processed notebook; return (frontmatter, nb)."
    import yaml
    fm = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.lstrip().startswith('---'):
        fm = yaml.safe_load(nb.cells[0].source.strip().strip('-')) or {}
        nb.cells = nb.cells[1:]
    cells = []
    for c in nb.cells:
        c.metadata = dict(c.get('metadata', {}))
        tags = []
        if c.cell_type == 'markdown': c.source = prep_markdown(c.source)
        elif c.cell_type == 'raw': continue
        elif c.cell_type == 'code':
            o = cell_options(c)
            if _false(o.get('include', True)): continue
            if _false(o.get('echo', True)) or not c.source.strip(): tags.append('remove_input')
            if _false(o.get('output', True)) or _false(o.get('eval', True)): c.outputs = []
            if str(o.get('output')) == 'asis': tags.append('asis')
            if 'show_doc(' in c.source and tags.count('asis'): tags.append('show-doc')
            if o.get('code-fold') not in (None, False, 'false'):
                c.metadata['glass_fold'] = 'show' if str(o['code-fold']) == 'show' else 'hide'
                c.metadata['glass_summary'] = str(o.get('code-summary', 'Code'))
            if o.get('fig-cap'): c.metadata['glass_figcap'] = str(o['fig-cap'])
            if o.get('fig-alt') or o.get('fig-cap'): c.metadata['alt'] = str(o.get('fig-alt') or o['fig-cap'])
            if any('image/png' in out.get('data', {}) for out in c.get('outputs', [])):
                c.metadata['glass_minfont'] = round(min_font_pt(c.source, lib), 2)
            for out in c.get('outputs', []):
                md = out.get('data', {}).get('text/markdown')
                if md is not None: out['data']['text/markdown'] = prep_markdown(''.join(md) if isinstance(md, list) else md)
                if out.get('output_type') == 'error': out['traceback'] = out.get('traceback', [])
            if not c.get('outputs') and 'remove_input' in tags: continue
        c.metadata['tags'] = tags
        cells.append(c)
    nb.cells = cells
    return fm, nb

def pandoc_id(text):
    "The identifier Pandoc (and so Quarto) gives a heading with `text`."
    s = re.sub(r'[^\w\s.-]', '', text.strip().lower(), flags=re.U)
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z]+', '', s)
    return s or 'section'

def _exporter():
    import jinja2
    from traitlets.config import Config
    from nbconvert import HTMLExporter
    c = Config()
    c.ExtractOutputPreprocessor.enabled = True
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    return HTMLExporter(config=c, template_name='basic', template_file='glass.html.j2',
                        extra_loaders=[jinja2.DictLoader({'glass.html.j2': _TEMPLATE})],
                        exclude_input_prompt=True, exclude_output_prompt=True)

def render_page(proc_nb, out_dir, site_url, pages, exporter=None, lib=None, img_src=None):
    "Render one processed notebook to `out_dir/<output-file>`; return (frontmatter, body soup, files)."
    import nbformat
    from bs4 import BeautifulSoup
    nb = nbformat.read(proc_nb, as_version=4)
    fm, nb = prep_notebook(nb, lib)
    page = fm.get('output-file') or proc_nb.with_suffix('.html').name
    stem = Path(page).stem
    body, res = (exporter or _exporter()).from_notebook_node(nb, resources={'output_files_dir': f'{stem}_files', 'unique_key': stem})
    for name, data in res.get('outputs', {}).items():
        p = out_dir/name; p.parent.mkdir(parents=True, exist_ok=True); p.write_bytes(data)
    soup = BeautifulSoup(body, 'html.parser')
    for c in soup.select('.celltag_asis .output_subarea'): c['class'] = c.get('class', []) + ['asis']
    for img in soup.find_all('img', src=True):      # figures of nbs/images/: the smallest font of the code that drew them
        name = Path(img['src']).name
        if img['src'].startswith('images/') and name in (img_src or {}) and not img.find_parent(attrs={'data-min-font-pt': True}):
            img['data-min-font-pt'] = str(round(min_font_pt(img_src[name], lib), 2))
    # Pandoc's heading ids, de-duplicated as Pandoc does; nbconvert's pilcrow links follow them
    seen = {}
    for h in soup.find_all(re.compile('^h[1-6]$')):
        for a in h.select('a.anchor-link'): a.decompose()
        base = pandoc_id(h.get_text()); n = seen.get(base, 0); seen[base] = n + 1
        h['id'] = base if n == 0 else f'{base}-{n}'
        h['class'] = h.get('class', []) + ['anchored']
        a = soup.new_tag('a', href=f"#{h['id']}", **{'class': 'anchor-link', 'aria-label': 'link to this section', 'data-pagefind-ignore': ''})
        a.string = '#'; h.append(a)
    for a in soup.find_all('a', href=True): a['href'] = local_href(a['href'], site_url, pages)
    for code in soup.select('td code, th code'):   # GFM/Pandoc: `a\|b` in a table cell shows a|b
        for t in code.find_all(string=lambda x: '\\|' in x): t.replace_with(t.replace('\\|', '|'))
    return fm, page, soup

def local_href(href, site_url, pages):
    "A link into the site made relative; a link to a notebook turned into its page."
    base = site_url.rstrip('/') + '/'
    for pre in (base, base.replace('https://', 'http://')):
        if href.startswith(pre): href = href[len(pre):] or 'index.html'
    m = re.match(r'^(?:\./)?([^/:#?]+\.ipynb)(#.*)?$', href)
    if m and m.group(1) in pages: href = pages[m.group(1)] + (m.group(2) or '')
    return href

# --- 3. the site ----------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tools/build_site.py (nbdev processing, nbconvert, Pagefind)">
<title>{doc_title}</title>
<meta name="description" content="{description}">
<link rel="stylesheet" href="pagefind/pagefind-ui.css">
<link rel="stylesheet" href="site.css">
<link rel="stylesheet" href="styles.css">
{page_links}
</head>
<body>
<header id="quarto-header" class="navbar">
  <button id="sidebar-toggle" class="sidebar-toggle" type="button" aria-controls="quarto-sidebar" aria-expanded="false" aria-label="show the pages">&#9776;</button>
  <a class="navbar-brand" href="index.html">{site_title}</a>
  <div id="search" class="site-search" role="search"></div>
  <a class="navbar-link" href="{repo_url}">GitHub</a>
</header>
<div class="page-columns">
<nav id="quarto-sidebar" class="sidebar" aria-label="pages">
{sidebar}
</nav>
<main class="content" id="quarto-document-content" data-pagefind-body>
<header id="title-block-header">
<h1 class="title">{title}</h1>
{description_html}
</header>
{body}
{page_nav}
</main>
<nav id="TOC" class="toc" aria-label="on this page">
{toc}
</nav>
</div>
<script src="pagefind/pagefind-ui.js"></script>
<script src="site.js"></script>
</body>
</html>
"""

def reading_order(contents, pages):
    "The pages of `sidebar.yml` in the order it lists them (sections flattened): the previous / next order."
    out = []
    def walk(items):
        for e in items:
            if isinstance(e, str): out.append(pages.get(e, e))
            elif isinstance(e, dict):
                if e.get('href'): out.append(pages.get(e['href'], e['href']))
                walk(e.get('contents', []))
    walk(contents)
    return list(dict.fromkeys(out))

def page_nav(order, current, titles_by_page):
    "Links to the previous and next pages of the reading order, and `<link rel>`s for the head."
    if current not in order: return '', ''
    i = order.index(current)
    prev, nxt = (order[i - 1] if i > 0 else None), (order[i + 1] if i + 1 < len(order) else None)
    def a(pg, rel, label):
        t = html.escape(titles_by_page.get(pg, pg))
        return (f'<a class="page-nav-{rel}" href="{pg}" rel="{rel}" data-pagefind-ignore>'
                f'<span class="page-nav-label">{label}</span><span class="page-nav-title">{t}</span></a>')
    body = ('<nav class="page-nav" aria-label="previous and next page" data-pagefind-ignore>'
            + (a(prev, 'prev', '&larr; Previous') if prev else '<span></span>')
            + (a(nxt, 'next', 'Next &rarr;') if nxt else '<span></span>') + '</nav>')
    head = ''.join(f'<link rel="{r}" href="{pg}">' for r, pg in (('prev', prev), ('next', nxt)) if pg)
    return body, head

def sidebar_html(contents, pages, titles, current):
    "The sidebar of `sidebar.yml` (`website.sidebar.contents`) as nested lists."
    def item(e):
        if isinstance(e, str): href, text = pages.get(e, e), titles.get(e, e)
        elif 'section' in e:
            head = e['section']
            if e.get('href'): head = f'<a class="sidebar-link" href="{pages.get(e["href"], e["href"])}">{html.escape(head)}</a>'
            return f'<li class="sidebar-section"><span class="sidebar-section-title">{head}</span>\n{lst(e.get("contents", []))}</li>'
        else: href, text = pages.get(e.get('href', ''), e.get('href', '')), e.get('text') or titles.get(e.get('href'), e.get('href'))
        act = ' active' if href == current else ''
        return f'<li class="sidebar-item"><a class="sidebar-link{act}" href="{href}">{html.escape(str(text))}</a></li>'
    def lst(items): return '<ul>\n' + '\n'.join(item(e) for e in items) + '\n</ul>'
    return lst(contents)

def toc_html(soup):
    hs = [h for h in soup.find_all(['h2', 'h3']) if h.get('id')]
    if not hs: return ''
    lis = ''.join(f'<li class="toc-{h.name}"><a href="#{h["id"]}">{html.escape(h.get_text().rstrip("#").strip())}</a></li>' for h in hs)
    return f'<h2 id="toc-title">On this page</h2>\n<ul>{lis}</ul>'

def inputs_digest(root=ROOT):
    "A hash of everything the site is built from (to tell a current `_docs/` from a stale one)."
    import hashlib
    root = Path(root); h = hashlib.sha256()
    files = [*(root/'nbs').rglob('*'), root/'settings.ini', root/'_quarto.yml', Path(__file__).resolve(), SITE_CSS, SITE_JS,
             *[p for p in root.glob('*/*.py') if p.parent.name not in ('tests', 'tools', 'bench') and p.name != '_modidx.py']]
    for p in sorted(f for f in files if f.is_file() and f.name != 'nbdev.yml' and '.ipynb_checkpoints' not in f.parts):
        h.update(str(p.relative_to(root) if root in p.parents else p.name).encode()); h.update(p.read_bytes())
    return h.hexdigest()

def current_build(root=ROOT, out=None):
    "The summary of the site in `out` if it was built from the present inputs, else None."
    cfg = nbdev_config(root)
    f = Path(out or cfg.config_path/cfg.doc_path.name)/'_build.json'
    try: s = json.loads(f.read_text())
    except (OSError, ValueError): return None
    return s if s.get('inputs') == inputs_digest(root) else None

def notebook_outputs(root=ROOT):
    "Images and bytes of the outputs stored in the notebooks of `nbs/`."
    import base64
    n_img = size = 0
    for p in sorted(Path(root, 'nbs').glob('*.ipynb')):
        for c in json.loads(p.read_text(encoding='utf-8'))['cells']:
            for o in c.get('outputs', []):
                size += len(json.dumps(o))
                n_img += sum(1 for m in o.get('data', {}) if m.startswith('image/'))
    return dict(images=n_img, bytes=size)

def _inline_md(s):
    "A one-line description as Quarto shows it: escaped, with `code` spans."
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(s, quote=False))

def search_index(out, quiet=True):
    "Index the pages of `out` with Pagefind (the `pagefind` package's own binary, from PyPI), into `out/pagefind/`."
    try: import pagefind  # noqa: F401
    except ImportError as e:
        raise SystemExit('build_site: the search index needs Pagefind: pip install "pagefind[bin]" (in the dev extras)') from e
    r = subprocess.run([sys.executable, '-m', 'pagefind', '--site', str(out), '--output-subdir', 'pagefind',
                        '--include-characters', '_', *(['--quiet'] if quiet else [])], capture_output=True, text=True)
    if r.returncode != 0 or not (Path(out)/'pagefind'/'pagefind-ui.js').is_file():
        raise RuntimeError(f'pagefind failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}')
    for f in Path(out, 'pagefind').glob('pagefind-*-ui.*'): f.unlink()   # the component and modular UIs: unused
    return r.stdout

def build(root=ROOT, out=None, n_workers=2, quiet=False, reuse_proc=False):
    """Build the site into `out` (settings.ini's doc_path, `_docs`); return a summary dict.
    `reuse_proc`: render from the `_proc/` of an earlier build, skipping nbdev's processing (for work on the layout)."""
    import yaml
    t0 = time.time()
    cfg = nbdev_config(root)
    if reuse_proc and (cfg.config_path/'_proc'/'sidebar.yml').is_file():
        digest, errors, proc = None, [], cfg.config_path/'_proc'
        for f in ('sidebar.yml', 'styles.css'): shutil.copy2(cfg.nbs_path/f, proc/f)
        shutil.copytree(cfg.nbs_path/'images', proc/'images', dirs_exist_ok=True)
    else:
        digest = inputs_digest(root)
        proc, errors = process_notebooks(root, n_workers)
    t1 = time.time()
    out = Path(out) if out else cfg.config_path/cfg.doc_path.name
    site_url = f"{cfg.doc_host}{cfg.doc_baseurl}"
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    for p in proc.rglob('*'):                   # images/, styles.css and the like, as Quarto copies them
        if p.is_file() and p.suffix not in ('.ipynb', '.yml', '.yaml'):
            d = out/p.relative_to(proc); d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(p, d)
    shutil.copy2(SITE_CSS, out/'site.css'); shutil.copy2(SITE_JS, out/'site.js')
    from pygments.formatters import HtmlFormatter
    with open(out/'site.css', 'a') as f: f.write('\n/* code highlighting (pygments) */\n' + HtmlFormatter(style='friendly').get_style_defs('.highlight'))
    nbs = sorted(proc.glob('*.ipynb'))
    pages = {p.name: _page_name(p) for p in nbs}
    ex = _exporter()
    lib = _library_sources(root)
    img_src = image_sources(root)
    rendered = [(p, *render_page(p, out, site_url, pages, ex, lib, img_src)) for p in nbs]
    titles = {p.name: fm.get('title', Path(page).stem) for p, fm, page, _ in rendered}
    sb = yaml.safe_load((proc/'sidebar.yml').read_text())['website']['sidebar']['contents']
    site_title = cfg.get('title', cfg.lib_name)
    order = reading_order(sb, pages)
    titles_by_page = {page: titles[p.name] for p, _, page, _ in rendered}
    for p, fm, page, soup in rendered:
        title = fm.get('title', site_title); desc = fm.get('description', '')
        nav, links = page_nav(order, page, titles_by_page)
        (out/page).write_text(_PAGE.format(
            doc_title=html.escape(title if page == 'index.html' else f'{title} – {site_title}'),
            site_title=html.escape(site_title), description=html.escape(desc), repo_url=cfg.git_url,
            title=html.escape(title), description_html=f'<div class="description">{_inline_md(desc)}</div>' if desc else '',
            sidebar=sidebar_html(sb, pages, titles, page), body=str(soup), toc=toc_html(soup),
            page_nav=nav, page_links=links))
    (out/'.nojekyll').touch()
    t2 = time.time()
    search_index(out)
    summary = dict(pages=len(rendered), out=str(out), proc_s=round(t1 - t0, 1), render_s=round(t2 - t1, 1),
                   search_s=round(time.time() - t2, 1),
                   total_s=round(time.time() - t0, 1), errors=errors, inputs=digest,
                   notebook_outputs=notebook_outputs(root), site_bytes=sum(p.stat().st_size for p in out.rglob('*') if p.is_file()))
    (out/'_build.json').write_text(json.dumps(summary, indent=1))
    if not quiet:
        print(f'built {len(rendered)} pages into {out} in {summary["total_s"]} s '
              f'(nbdev processing {summary["proc_s"]} s, rendering {summary["render_s"]} s, search index {summary["search_s"]} s); site {summary["site_bytes"] / 1e6:.1f} MB; '
              f'outputs stored in the notebooks: {summary["notebook_outputs"]["images"]} images, '
              f'{summary["notebook_outputs"]["bytes"] / 1e6:.2f} MB')
        for e in errors:
            print(f"nbdev processing error: {e['notebook']} cell {e['cell']} ({e['first_line']!r}): {e['error']}")
        if errors: print('  (nbdev_docs stops on these; most are a cell mixing imports with other code: '
                         'give the imports a cell of their own)')
    return summary

def _page_name(p):
    from execnb.nbio import read_nb
    import yaml
    c = read_nb(p).cells
    if c and c[0].cell_type == 'raw' and c[0].source.lstrip().startswith('---'):
        fm = yaml.safe_load(c[0].source.strip().strip('-')) or {}
        if fm.get('output-file'): return fm['output-file']
    return p.with_suffix('.html').name

def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description='Build the documentation site without Quarto (nbdev processing, '
                                 'nbconvert rendering), then check its pages, links and images.')
    ap.add_argument('--root', default=str(ROOT), help='the project (default: this repository)')
    ap.add_argument('--out', help="output folder (default: settings.ini's doc_path, _docs)")
    ap.add_argument('--n_workers', type=int, default=2, help='processes for nbdev\'s processing (default 2)')
    ap.add_argument('--keep_going', action='store_true', help="exit 0 even if nbdev's processing met errors")
    ap.add_argument('--no_check', action='store_true', help='skip the link and image checks')
    ap.add_argument('--browser', action='store_true', help='also check pages in headless Chromium (screenshots in <out>/_screenshots)')
    ap.add_argument('--reuse_proc', action='store_true', help="render from the _proc/ of the last build (skip nbdev's processing; for work on the layout)")
    a = ap.parse_args(argv)
    s = build(root=Path(a.root).resolve(), out=a.out, n_workers=a.n_workers, reuse_proc=a.reuse_proc)
    rc = 0 if (a.keep_going or not s['errors']) else 1
    if not a.no_check:
        import check_site
        rc = check_site.main([s['out'], '--root', a.root] + (['--browser'] if a.browser else [])) or rc
    return rc

if __name__ == '__main__':
    # run from the module `build_site`, so that the spawned workers find `_proc_worker` by name
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_site
    sys.exit(build_site.main())
