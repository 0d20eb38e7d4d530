#!/usr/bin/env python
"""Check a built documentation site as a reader would meet it: every page there, every link and image working.

    python tools/check_site.py [_docs] [--browser]

Works on any `_docs/`: the one `tools/build_site.py` writes, or the one `nbdev_docs` renders with Quarto.
Static checks (no browser):
* every notebook in `nbs/` has its page (nbdev's name: `00_core.ipynb` -> `core.html`), and every
  notebook is listed in `nbs/sidebar.yml`;
* every link in every page to a file of the site resolves, and so does its `#anchor` (links to the
  published site, settings.ini's `doc_host` + `doc_baseurl`, count as links into this folder);
* every image (`<img src>`, local file or `data:` URI) exists and decodes.
External links (other hosts) are counted, not followed: the machines that build the site have no network.
Pages made by tools/build_site.py also need: no TeX left as text, previous / next links in the order of
`nbs/sidebar.yml`, a search index.
`--browser` also opens pages in headless Chromium (see `browser_check`: the reader's pages at 1280 px, a typed
search, the legibility of every figure, a 390-px phone view) and saves screenshots in `<site>/_screenshots/`.
"""
import base64, html, io, json, os, re, shutil, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent

def nbdev_config(root):
    "nbdev's config of the project at `root` (nbdev looks for settings.ini from the working directory, and caches)."
    from nbdev.config import get_config
    cwd = os.getcwd(); os.chdir(root)
    try:
        get_config.cache_clear()
        return get_config()
    finally:
        os.chdir(cwd); get_config.cache_clear()

def site_url(root=ROOT):
    cfg = nbdev_config(root)
    return f'{cfg.doc_host}{cfg.doc_baseurl}'.rstrip('/') + '/'

def expected_pages(root=ROOT):
    "The page nbdev names after each notebook in `nbs/`: {notebook: page}."
    from nbdev.doclinks import _nbpath2html
    nbs = sorted(p for p in (Path(root)/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return {p.name: _nbpath2html(p).name for p in nbs}

def sidebar_notebooks(root=ROOT):
    "Every file `nbs/sidebar.yml` lists."
    import yaml
    def walk(items):
        for e in items:
            if isinstance(e, str): yield e
            elif isinstance(e, dict):
                if e.get('href'): yield e['href']
                yield from walk(e.get('contents', []))
    return list(walk(yaml.safe_load((Path(root)/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']))

def _parse(p):
    from bs4 import BeautifulSoup
    return BeautifulSoup(p.read_text(encoding='utf-8', errors='replace'), 'html.parser')

def _image_ok(data, name):
    "None if `data` is an image a browser can show, else why not."
    if name.lower().endswith('.svg') or data.lstrip()[:5] in (b'<?xml', b'<svg '):
        return None if b'<svg' in data[:2000] else 'not an SVG'
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im: im.load(); w, h = im.size
    except Exception as e: return f'does not decode ({type(e).__name__}: {e})'
    return None if w > 0 and h > 0 else 'empty image'

def check_site(docs='_docs', root=ROOT):
    "Check the site in `docs`; return counts and the list of problems found."
    docs = Path(docs).resolve(); url = site_url(root)
    problems, n = [], dict(pages=0, links_internal=0, anchors=0, links_external=0, images=0, image_bytes=0)
    if not docs.is_dir(): return dict(counts=n, problems=[f'{docs}: no such folder (build the site first)'])
    pages = sorted(p for p in docs.rglob('*.html') if '_screenshots' not in p.parts)
    n['pages'] = len(pages)
    for nb, page in expected_pages(root).items():
        if not (docs/page).is_file(): problems.append(f'{page}: missing (the page of nbs/{nb})')
    listed = set(sidebar_notebooks(root))
    for nb in expected_pages(root):
        if nb not in listed: problems.append(f'nbs/sidebar.yml does not list {nb}: add it to a section')
    ids, soups = {}, {}
    for p in pages:
        s = soups[p] = _parse(p)
        ids[p] = {t['id'] for t in s.find_all(id=True)} | {t['name'] for t in s.find_all('a', attrs={'name': True})}
    def target(page, ref):
        "The file of the site a reference points at, and its fragment; None for other hosts."
        if ref.startswith(url): ref = ref[len(url):] or 'index.html'
        sp = urlsplit(ref)
        if sp.scheme or sp.netloc: return None
        path = unquote(sp.path)
        f = page if not path else (docs/path.lstrip('/') if path.startswith('/') else page.parent/path)
        f = Path(os.path.normpath(f))
        if f.is_dir(): f = f/'index.html'
        return f, unquote(sp.fragment)
    for p, s in soups.items():
        rel = p.relative_to(docs)
        for tag, attr in (('a', 'href'), ('link', 'href'), ('script', 'src'), ('img', 'src'), ('source', 'src')):
            for t in s.find_all(tag, attrs={attr: True}):
                ref = t[attr].strip()
                if not ref or ref.startswith(('mailto:', 'javascript:', 'tel:')) or (ref == '#'): continue
                if ref.startswith('data:'):
                    if tag == 'img':
                        n['images'] += 1
                        try: data = base64.b64decode(ref.split(',', 1)[1]) if ';base64' in ref.split(',', 1)[0] else unquote(ref.split(',', 1)[1]).encode()
                        except Exception: problems.append(f'{rel}: <img> data URI does not decode'); continue
                        if why := _image_ok(data, ''): problems.append(f'{rel}: <img> data URI {why}')
                    continue
                tg = target(p, ref)
                if tg is None:
                    n['links_external'] += 1; continue
                f, frag = tg
                if tag == 'img': n['images'] += 1
                else: n['links_internal'] += 1
                if docs not in f.parents and f != docs:
                    problems.append(f'{rel}: {tag} {ref!r} points outside the site'); continue
                if not f.is_file():
                    problems.append(f'{rel}: {tag} {ref!r}: {f.relative_to(docs)} does not exist'); continue
                if tag == 'img':
                    data = f.read_bytes(); n['image_bytes'] += len(data)
                    if why := _image_ok(data, f.name): problems.append(f'{rel}: <img> {ref!r} {why}')
                if frag and f.suffix == '.html':
                    n['anchors'] += 1
                    if f not in ids: ids[f] = {t['id'] for t in _parse(f).find_all(id=True)}
                    if frag not in ids[f]: problems.append(f'{rel}: link {ref!r}: no #{frag} in {f.relative_to(docs)}')
    problems += reader_checks(docs, soups, root)
    return dict(counts=n, problems=problems)

_re_raw_tex = re.compile(r'\$[^$\n]*\\[a-zA-Z]+[^$\n]*\$|\\(?:frac|sqrt|mathcal|lambda|alpha|sum)\b')

def built_here(soup):
    "Whether a page comes from tools/build_site.py (and not from Quarto): the checks of its own layout apply."
    m = soup.find('meta', attrs={'name': 'generator'})
    return bool(m and 'build_site' in m.get('content', ''))

def reading_order(root=ROOT):
    "The pages in the order of `nbs/sidebar.yml`: the order of the previous / next links."
    pages = expected_pages(root)
    return list(dict.fromkeys(pages.get(nb, nb) for nb in sidebar_notebooks(root)))

def reader_checks(docs, soups, root=ROOT):
    "What a reader expects of every page: maths rendered (no TeX left as text), previous / next links in the sidebar's order, a search index."
    docs, problems = Path(docs), []
    order = reading_order(root)
    for p, s in soups.items():
        rel = p.relative_to(docs)
        main = s.find('main') or s.body
        if main is None: continue
        text = ' '.join(t for t in main.find_all(string=True) if not t.find_parent(['code', 'pre', 'script', 'style', 'math']))
        if m := _re_raw_tex.search(text): problems.append(f'{rel}: TeX shown as text, not rendered: {m.group(0)[:60]!r}')
        if not built_here(s) or str(rel) not in order: continue
        i = order.index(str(rel))
        for rel_, want in (('prev', order[i - 1] if i > 0 else None), ('next', order[i + 1] if i + 1 < len(order) else None)):
            got = [a['href'] for a in s.select(f'nav.page-nav a[rel="{rel_}"]')]
            if got != ([want] if want else []): problems.append(f'{rel}: {rel_} link {got} where the sidebar order gives {want}')
    if any(built_here(s) for s in soups.values()) and not (docs/'pagefind'/'pagefind-entry.json').is_file():
        problems.append('no search index (pagefind/pagefind-entry.json): tools/build_site.py builds it with Pagefind')
    return problems

def report(r):
    c = r['counts']
    lines = [f"site check: {c['pages']} pages, {c['links_internal']} internal links ({c['anchors']} with #anchors), "
             f"{c['images']} images ({c['image_bytes'] / 1e6:.2f} MB in files), {c['links_external']} external links not followed: "
             + (f"{len(r['problems'])} problems" if r['problems'] else 'all resolve')]
    lines += ['  ' + p for p in r['problems'][:200]]
    if len(r['problems']) > 200: lines.append(f"  ... and {len(r['problems']) - 200} more")
    return '\n'.join(lines)

# --- the browser ---------------------------------------------------------------------------------

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio']

def find_chromium():
    "Debian's chromium (or another Chrome on PATH, or $CHROMIUM); None if there is none."
    if os.environ.get('CHROMIUM'): return shutil.which(os.environ['CHROMIUM'])
    for name in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if p := shutil.which(name): return p
    return None

class _Server:
    "The site served on 127.0.0.1 (a thread of this process), as a reader's browser would fetch it."
    def __init__(self, docs):
        import functools, http.server
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *a): pass
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(docs)))
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
    def close(self): self.httpd.shutdown(); self.httpd.server_close()

class Browser:
    "Headless Chromium driven over the DevTools protocol (websocket-client; no browser download)."
    def __init__(self, exe=None, width=1400, height=1000, timeout=60, mobile=False):
        import websocket
        exe = exe or find_chromium()
        if not exe: raise FileNotFoundError('chromium not found (Debian: apt-get install chromium)')
        self.dir = tempfile.mkdtemp(prefix='glass-chromium-')
        self.proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f'--user-data-dir={self.dir}', '--remote-debugging-port=0',
                                      f'--window-size={width},{height}', 'about:blank'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, t0 = Path(self.dir)/'DevToolsActivePort', time.time()
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.time() - t0 > timeout:
                self.close(); raise RuntimeError(f'chromium did not start ({exe})')
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = websocket.create_connection(f'ws://127.0.0.1:{port}{path}', timeout=timeout, suppress_origin=True)
        self.id, self.events = 0, []
        tid = self.send('Target.createTarget', url='about:blank')['targetId']
        self.session = self.send('Target.attachToTarget', targetId=tid, flatten=True)['sessionId']
        self.send('Page.enable', session=True)
        self.send('Runtime.enable', session=True)
        self.send('Emulation.setDeviceMetricsOverride', session=True, width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    def send(self, method, session=False, **params):
        self.id += 1; msg = dict(id=self.id, method=method, params=params)
        if session: msg['sessionId'] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            r = json.loads(self.ws.recv())
            if r.get('id') == self.id:
                if 'error' in r: raise RuntimeError(f"{method}: {r['error']}")
                return r.get('result', {})
            self.events.append(r)

    def goto(self, url, timeout=60):
        self.events.clear()
        self.send('Page.navigate', session=True, url=url)
        t0 = time.time()
        while not any(e.get('method') == 'Page.loadEventFired' for e in self.events):
            if time.time() - t0 > timeout: raise TimeoutError(f'{url} did not load')
            self.events.append(json.loads(self.ws.recv()))
        # and until every image has loaded or failed
        self.js('Promise.all([...document.images].map(i => i.complete ? 1 : new Promise(r => { i.onload = i.onerror = r; })))')

    def js(self, expr):
        r = self.send('Runtime.evaluate', session=True, expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r: raise RuntimeError(f"javascript failed: {r['exceptionDetails']}")
        return r['result'].get('value')

    def screenshot(self, path, clip=None):
        p = dict(format='png')
        if clip: p.update(clip=dict(clip, scale=1), captureBeyondViewport=True)
        Path(path).write_bytes(base64.b64decode(self.send('Page.captureScreenshot', session=True, **p)['data']))
        return path

    def close(self):
        try: self.ws.close()
        except Exception: pass
        if getattr(self, 'proc', None) and self.proc.poll() is None:
            self.proc.terminate()
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

# What a reader sees, read off the page by the browser (the selectors hold for this build and for Quarto's).
_READ_PAGE = r"""(() => {
  const vis = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const main = document.querySelector('main') || document.body;
  const h1 = document.querySelector('h1.title') || main.querySelector('h1');
  const side = document.querySelector('#quarto-sidebar');
  const shown = n => { const el = document.getElementById(n); if (!el) return null;
    const h = /^H[1-6]$/.test(el.tagName) ? el : el.querySelector('h1,h2,h3,h4,h5,h6'); if (!h) return null;
    let txt = '', pre = null, e = h.nextElementSibling;
    while (e && !/^H[1-6]$/.test(e.tagName)) { txt += e.innerText + '\n'; pre = pre || (e.matches('pre') ? e : e.querySelector('pre')); e = e.nextElementSibling; }
    return {heading: h.innerText.replace(/[#¶]\s*$/, '').trim(), body: txt, visible: vis(h),
            mono: pre ? getComputedStyle(pre).fontFamily : ''};
  };
  const imgs = [...main.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), alt: i.alt,
      w: i.naturalWidth, h: i.naturalHeight, shown_w: Math.round(i.getBoundingClientRect().width), complete: i.complete}));
  return {doc_title: document.title, title: h1 ? h1.innerText.trim() : null, title_visible: h1 ? vis(h1) : false,
          sidebar_visible: side ? vis(side) : false,
          sidebar: side ? [...side.querySelectorAll('a')].map(a => ({text: a.innerText.trim(), href: a.getAttribute('href')})) : [],
          images: imgs, shown: Object.fromEntries((window.__names || []).map(n => [n, shown(n)])),
          width_overflow: document.documentElement.scrollWidth > window.innerWidth + 1};
})()"""

def read_page(b, url, names=()):
    "Open `url` and read what a reader sees; `names` are show_doc anchors to look up."
    b.goto(url)
    b.js(f'window.__names = {json.dumps(list(names))}')
    return b.js(_READ_PAGE)

def _clip(b, js_el, pad=8):
    "The rectangle of an element in page coordinates (for an element screenshot)."
    r = b.js(f"(() => {{ const e = {js_el}; if (!e) return null; e.scrollIntoView(); const r = e.getBoundingClientRect();"
             f" return {{x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}}; }})()")
    if not r or r['width'] == 0: return None
    return dict(x=max(0, r['x'] - pad), y=max(0, r['y'] - pad), width=r['width'] + 2 * pad, height=min(r['height'] + 2 * pad, 3000))

# The pages a reader is walked through: (page, show_doc names that must be shown, whether a figure must load).
# Change them here when the notebooks change (e.g. when a notebook's outputs add the figure of its page).
READER_PAGES = [('index.html', [], True), ('core.html', ['seed_everything', 'load_image'], True),
                ('foundation.html', ['build_models'], True)]

# Legibility of figures. A raster figure shown much narrower than its pixels wastes them and shrinks its text;
# text below MIN_TEXT_PX on screen cannot be read. The smallest font of a figure (points) comes from the PNG itself
# where the code that saved it wrote it down (tEXt key `glass:min_font_pt`, see `glass.core.save_figure`), else from
# the code of its notebook cell (`data-min-font-pt`, estimated by tools/build_site.py); its pixels per point from
# the PNG's dpi (matplotlib writes it; 72 if absent).
MIN_SCALE, MIN_TEXT_PX = 0.6, 8.0

_READ_FIGURES = r"""(() => [...(document.querySelector('main') || document.body).querySelectorAll('img')].map(i => ({
  src: i.getAttribute('src'), w: i.naturalWidth, shown_w: i.getBoundingClientRect().width,
  min_pt: (i.closest('[data-min-font-pt]') || {dataset: {}}).dataset.minFontPt || null})))()"""

def png_font_info(data):
    "(dpi, smallest font in points or None) of PNG bytes; None for other images."
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != 'PNG': return None
            dpi = (im.info.get('dpi') or (72, 72))[0]
            pt = im.info.get('glass:min_font_pt')
            return float(dpi), (float(pt) if pt else None)
    except Exception: return None

def svg_min_text_px(path, shown_w):
    "The smallest text of an SVG file shown `shown_w` px wide, in screen px (its `font-size`s scaled by the viewBox); None if unknown."
    import xml.etree.ElementTree as ET
    try: root = ET.parse(path).getroot()
    except ET.ParseError: return None
    vb = (root.get('viewBox') or '').replace(',', ' ').split()
    width = float(vb[2]) if len(vb) == 4 else float(re.sub(r'[^\d.]', '', root.get('width') or '0') or 0)
    sizes = [float(re.sub(r'[^\d.]', '', e.get('font-size'))) for e in root.iter() if e.get('font-size') and re.search(r'\d', e.get('font-size'))]
    if not width or not sizes: return None
    texts = [e for e in root.iter() if e.tag.split('}')[-1] in ('text', 'tspan')]
    smallest = min(float(re.sub(r'[^\d.]', '', t.get('font-size') or '0') or 0) or min(sizes) for t in texts) if texts else min(sizes)
    return smallest * shown_w / width

def figure_legibility(figs, docs, page):
    "Rows (src, natural width, shown width, scale, smallest text in px on screen) and the problems of `figs` (read by `_READ_FIGURES`)."
    rows, problems = [], []
    for f in figs:
        src = f['src'] or ''
        if not f['w'] or src.startswith('data:') or '://' in src: continue
        path = (Path(docs)/page).parent/src
        if src.lower().endswith('.svg'):      # vector: only its text can be too small (font-size in viewBox units)
            px = svg_min_text_px(path, f['shown_w']) if path.is_file() else None
            rows.append(dict(src=src, w=f['w'], shown_w=round(f['shown_w']), scale=None, text_px=px and round(px, 1)))
            if px is not None and px < MIN_TEXT_PX:
                problems.append(f'{page}: figure {src}: its smallest text is about {px:.1f} px on screen (below {MIN_TEXT_PX})')
            continue
        info = png_font_info(path.read_bytes()) if path.is_file() else None
        scale = f['shown_w'] / f['w']
        px = None
        if info:
            dpi, pt = info
            pt = pt or (float(f['min_pt']) if f['min_pt'] else None)
            if pt: px = pt * dpi / 72 * min(scale, 1.0)
        rows.append(dict(src=src, w=f['w'], shown_w=round(f['shown_w']), scale=round(scale, 2), text_px=px and round(px, 1)))
        if scale < MIN_SCALE:
            problems.append(f'{page}: figure {src} is {f["w"]} px wide but shown at {f["shown_w"]:.0f} px ({scale:.2f} of its pixels, '
                            f'below {MIN_SCALE}): draw it smaller in inches or at a lower dpi')
        if px is not None and px < MIN_TEXT_PX:
            problems.append(f'{page}: figure {src}: its smallest text is about {px:.1f} px on screen (below {MIN_TEXT_PX}): '
                            'a larger fontsize, a smaller figsize, or fewer panels')
    return rows, problems

def search(b, query, timeout=20):
    "Type `query` into the page's search box as a reader would; return the result links (href, text) once they show."
    t0 = time.time()
    while not b.js("!!document.querySelector('.pagefind-ui__search-input')"):
        if time.time() - t0 > timeout: raise TimeoutError('no search box (.pagefind-ui__search-input)')
        time.sleep(0.1)
    b.js("(() => { const i = document.querySelector('.pagefind-ui__search-input'); i.value = ''; i.focus(); })()")
    b.send('Input.insertText', session=True, text=query)
    while time.time() - t0 < timeout:
        r = b.js("""(() => ({links: [...document.querySelectorAll('.pagefind-ui__result-link')].map(a => [a.getAttribute('href'), a.innerText.trim()]),
                    message: (document.querySelector('.pagefind-ui__message') || {}).innerText || ''}))()""")
        if r['links'] or 'No results' in r['message']: return [tuple(l) for l in r['links']]
        time.sleep(0.2)
    raise TimeoutError(f'no search results for {query!r} within {timeout} s')

# (query, a result the reader must get: page#anchor for a name, a page for words of its text)
SEARCHES = [('seed_everything', 'core.html#seed_everything'), ('Frechet distance', 'tasks.html')]

_READ_PHONE = r"""(() => {
  const vis = e => { if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(e).display !== 'none'; };
  const side = document.querySelector('#quarto-sidebar'), h1 = document.querySelector('h1.title');
  return {sidebar_visible: vis(side), toggle_visible: vis(document.querySelector('#sidebar-toggle')),
          title_top: h1 ? h1.getBoundingClientRect().top : null, overflow: document.documentElement.scrollWidth > innerWidth + 1,
          sidebar_links: side ? [...side.querySelectorAll('a')].filter(vis).length : 0};
})()"""

def browser_check(docs='_docs', root=ROOT, pages=READER_PAGES, shots=None, all_pages=True, searches=SEARCHES):
    """Open `pages` in headless Chromium at a desktop width (1280 px), check what a reader sees, save screenshots;
    search as a reader would (`searches`); check the figures of every page for legibility; open pages at a phone's
    width (390 px): content first, the sidebar behind its button. Return (results by page, problems, more results)."""
    docs = Path(docs).resolve(); shots = Path(shots or docs/'_screenshots'); shots.mkdir(parents=True, exist_ok=True)
    site_title = nbdev_config(root).get('title', 'glass')
    want = [(nb, pg) for nb, pg in expected_pages(root).items() if nb in set(sidebar_notebooks(root))]
    srv, b, out, problems = _Server(docs), Browser(width=1280, height=900), {}, []
    more = dict(search={}, figures={}, phone={})
    try:
        for page, names, figure in pages:
            r = out[page] = read_page(b, srv.url + page, names)
            pr = lambda m: problems.append(f'{page}: {m}')
            if not (r['title'] and r['title_visible']): pr('no visible title (h1.title)')
            if site_title not in r['doc_title']: pr(f'the window title {r["doc_title"]!r} does not name {site_title!r}')
            hrefs = {re.sub(r'^\./', '', a['href'].split('#')[0]) for a in r['sidebar']}
            if not r['sidebar_visible']: pr('the sidebar (#quarto-sidebar) is not visible')
            for nb, pg in want:
                if pg not in hrefs: pr(f'the sidebar has no link to {pg} ({nb})')
            for nm in names:
                s = r['shown'].get(nm)
                if not s: pr(f'no show_doc block for {nm} (no heading with id {nm!r})'); continue
                if s['heading'] != nm or not s['visible']: pr(f'show_doc heading for {nm} reads {s["heading"]!r}')
                if f'{nm}(' not in s['body'].replace(' ', '').replace('\n', ''): pr(f'show_doc of {nm} shows no signature')
            bad = [i['src'] for i in r['images'] if not (i['complete'] and i['w'] > 0)]
            if bad: pr(f'images that did not load: {bad}')
            if figure and not any(i['w'] >= 100 and i['shown_w'] >= 100 for i in r['images']): pr('no figure shown')
            stem = Path(page).stem
            b.js('scrollTo(0, 0)'); r['screenshots'] = [str(b.screenshot(shots/f'{stem}.png'))]
            if names and (c := _clip(b, f"document.getElementById({json.dumps(names[0])})?.closest('.cell, section') || document.getElementById({json.dumps(names[0])})")):
                r['screenshots'].append(str(b.screenshot(shots/f'{stem}-show_doc.png', c)))
            if figure and (c := _clip(b, "[...(document.querySelector('main') || document.body).querySelectorAll('img')].find(i => i.naturalWidth >= 100)")):
                r['screenshots'].append(str(b.screenshot(shots/f'{stem}-figure.png', c)))
        if (docs/'pagefind').is_dir():      # search, as this builder makes it (Quarto's has its own)
            for q, hit in searches:
                b.goto(srv.url + 'index.html')
                links = more['search'][q] = search(b, q)
                got = [re.sub(r'^(\./|/)', '', urlsplit(h).path + (f'#{urlsplit(h).fragment}' if urlsplit(h).fragment else '')) for h, _ in links]
                if not any(g == hit or g.split('#')[0] == hit for g in got): problems.append(f'search {q!r}: no result {hit} (got {got[:8]})')
                if q == searches[0][0]: b.screenshot(shots/'search.png')
        for page in ([p for p in expected_pages(root).values()] if all_pages else [p for p, _, _ in pages]):
            b.goto(srv.url + page)
            rows, probs = figure_legibility(b.js(_READ_FIGURES), docs, page)
            more['figures'][page] = rows; problems += probs
    finally: b.close()
    b = Browser(width=390, height=844, mobile=True)
    try:
        for page in ('index.html', 'overview.html', 'core.html'):
            if not (docs/page).is_file(): continue
            b.goto(srv.url + page)
            r = more['phone'][page] = b.js(_READ_PHONE)
            pr = lambda m: problems.append(f'{page} at 390 px: {m}')
            if r['sidebar_visible']: pr('the sidebar is open before the content (it should fold behind a button)')
            if r['title_top'] is None or not (0 <= r['title_top'] < 300): pr(f'the title is not near the top (at {r["title_top"]} px)')
            if r['overflow']: pr('the page is wider than the screen')
            rows, probs = figure_legibility(b.js(_READ_FIGURES), docs, page)   # the figures at the phone's width too
            r['figures'] = rows; problems += [f'{q} (at 390 px)' for q in probs]
            b.screenshot(shots/f'{Path(page).stem}-phone.png')
            if page == 'core.html' and r['toggle_visible']:
                b.js("document.getElementById('sidebar-toggle').click()")
                r['menu'] = b.js(_READ_PHONE)
                if not r['menu']['sidebar_visible'] or r['menu']['sidebar_links'] < len(want): pr(f'the sidebar button shows {r["menu"]["sidebar_links"]} links')
                b.screenshot(shots/'core-phone-menu.png')
            if page == 'core.html' and (docs/'pagefind').is_dir():
                b.goto(srv.url + page); search(b, searches[0][0]); b.screenshot(shots/'search-phone.png')
    finally: b.close(); srv.close()
    return out, problems, more

def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description='Check a built documentation site: pages, internal links and anchors, '
                                 'images (and, with --browser, what a reader sees in headless Chromium).')
    ap.add_argument('docs', nargs='?', default='_docs', help='the site folder (default: _docs)')
    ap.add_argument('--root', default=str(ROOT), help='the project whose notebooks the site shows (default: this repository)')
    ap.add_argument('--browser', action='store_true', help='also open pages in headless Chromium and save screenshots')
    a = ap.parse_args(argv)
    root = Path(a.root).resolve()
    r = check_site(a.docs, root); print(report(r)); rc = 1 if r['problems'] else 0
    if a.browser:
        if not find_chromium(): print('browser check skipped: chromium not found (Debian: apt-get install chromium)')
        else:
            out, probs, more = browser_check(a.docs, root)
            for page, res in out.items():
                print(f"browser: {page}: title {res['title']!r}, {len(res['sidebar'])} sidebar links, "
                      f"{sum(1 for i in res['images'] if i['w'])} images loaded; screenshots: {', '.join(res['screenshots'])}")
            for q, links in more['search'].items(): print(f'browser: search {q!r}: {len(links)} results, first {links[:3]}')
            n_fig = sum(len(v) for v in more['figures'].values())
            small = sorted((r['text_px'], pg, r['src']) for pg, v in more['figures'].items() for r in v if r['text_px'])[:3]
            print(f'browser: {n_fig} raster figures checked for legibility; smallest text on screen: {small}')
            for pg, r in more['phone'].items(): print(f'browser: {pg} at 390 px: {r}')
            for p in probs: print('  ' + p)
            rc = rc or (1 if probs else 0)
    return rc

if __name__ == '__main__': sys.exit(main())
