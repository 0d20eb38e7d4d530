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
`--browser` also opens pages in headless Chromium (see `browser_check`) and saves screenshots in
`<site>/_screenshots/`.
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
    return dict(counts=n, problems=problems)

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
    def __init__(self, exe=None, width=1400, height=1000, timeout=60):
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
        self.send('Emulation.setDeviceMetricsOverride', session=True, width=width, height=height, deviceScaleFactor=1, mobile=False)

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

def browser_check(docs='_docs', root=ROOT, pages=READER_PAGES, shots=None):
    "Open `pages` in headless Chromium, check what a reader sees, save screenshots; return (results, problems)."
    docs = Path(docs).resolve(); shots = Path(shots or docs/'_screenshots'); shots.mkdir(parents=True, exist_ok=True)
    site_title = nbdev_config(root).get('title', 'glass')
    want = [(nb, pg) for nb, pg in expected_pages(root).items() if nb in set(sidebar_notebooks(root))]
    srv, b, out, problems = _Server(docs), Browser(), {}, []
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
    finally: b.close(); srv.close()
    return out, problems

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
            out, probs = browser_check(a.docs, root)
            for page, res in out.items():
                print(f"browser: {page}: title {res['title']!r}, {len(res['sidebar'])} sidebar links, "
                      f"{sum(1 for i in res['images'] if i['w'])} images loaded; screenshots: {', '.join(res['screenshots'])}")
            for p in probs: print('  ' + p)
            rc = rc or (1 if probs else 0)
    return rc

if __name__ == '__main__': sys.exit(main())
