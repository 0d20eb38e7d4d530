#!/usr/bin/env python
"""Write `nbs/index.ipynb` (the docs site's home page) from `README.md`, the one that is edited.

    python tools/sync_index.py           # rewrite nbs/index.ipynb from README.md
    python tools/sync_index.py --check   # exit 1 if nbs/index.ipynb is not in step with README.md

nbdev usually writes the README from `index.ipynb` with Quarto (`nbdev_readme`); Quarto cannot be installed on
every machine, so here the direction is the other: README.md is the source and the home page is made from it.
Each `## ` section of the README becomes one markdown cell (the title and the text before the first section
make the first two); a cell keeps its id while its heading stays the same, so the notebook's diff shows only
the text that changed. Image links under `nbs/` are made relative to `nbs/`. `tests/test_readme.py` runs the
check.
"""
import argparse, hashlib, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def sections(readme:str) -> list:
    "The README as (key, markdown) pairs: 'title', 'intro', then one per `## ` heading."
    lines, out, cur, key = readme.rstrip('\n').split('\n'), [], [], 'title'
    fence = False
    for l in lines:
        if l.startswith('```'): fence = not fence
        starts = not fence and (l.startswith('## ') or (key == 'title' and cur and not l.startswith('>') and l.strip()))
        if starts:
            out.append((key, '\n'.join(cur).strip('\n'))); cur = []
            key = l[3:].strip() if l.startswith('## ') else 'intro'
        cur.append(l)
    out.append((key, '\n'.join(cur).strip('\n')))
    return [(k, t.replace('](nbs/', '](')) for k, t in out if t.strip()]

def _id(key:str, old:dict) -> str:
    return old.get(key) or hashlib.sha1(key.encode()).hexdigest()[:8]

def index_notebook(readme:str, old_nb:dict=None) -> dict:
    "The home-page notebook for `readme`, keeping the cell ids of `old_nb` by section."
    old = {}
    for c in (old_nb or {}).get('cells', []):
        src = ''.join(c['source']); first = src.split('\n', 1)[0]
        k = 'title' if first.startswith('# ') else first[3:].strip() if first.startswith('## ') else 'intro'
        old.setdefault(k, c.get('id'))
    cells = [dict(cell_type='markdown', id=_id(k, old), metadata={}, source=t) for k, t in sections(readme)]
    return dict(cells=cells, metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
                nbformat=4, nbformat_minor=5)

def render(nb:dict) -> str: return json.dumps(nb, indent=1, ensure_ascii=False) + '\n'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--check', action='store_true', help='only check; exit 1 if not in step')
    a = p.parse_args(argv)
    readme, index = ROOT / 'README.md', ROOT / 'nbs' / 'index.ipynb'
    old = json.loads(index.read_text(encoding='utf-8')) if index.is_file() else None
    new = index_notebook(readme.read_text(encoding='utf-8'), old)
    same = old is not None and [(c['id'], ''.join(c['source'])) for c in old['cells']] == [(c['id'], c['source']) for c in new['cells']]
    if a.check:
        if not same: print('nbs/index.ipynb is not in step with README.md: run python tools/sync_index.py', file=sys.stderr)
        return 0 if same else 1
    if not same:
        index.write_text(render(new), encoding='utf-8')
        from nbdev.clean import nbdev_clean
        nbdev_clean(fname=str(index))   # nbdev's own layout, so CI's "notebooks are clean" check holds
    print(f"nbs/index.ipynb: {len(new['cells'])} cells{'' if not same else ' (unchanged)'}")
    return 0

if __name__ == '__main__': sys.exit(main())
