"""Where each method stands on the parts world: no-learning baselines and the patch-grid cap, on val and test.

    python bench/tinyworld_parts.py            # 500 val + 500 test scenes (about a minute on one core)
    python bench/tinyworld_parts.py --quick    # 40 scenes each, to check that the script works

Scores object discovery (mBO^i, mIoU^i, FG-ARI; the `tinyworld` protocol of `glass.evaluate`: 64 px masks,
background not an object) of

* `kmeans`: `glass.evaluate.KMeansBaseline` (colour + position k-means, no learning) at K slots,
* `grid`: `glass.evaluate.GridBaseline` with K cells,
* `patch_oracle`: `glass.tinyworld.patch_oracle`, every cell of a g x g patch grid given its majority object:
  the best any model can do when its masks live on that grid (g = 16: 64 px at patch 4; 24: 96 px at patch 4,
  the encoder input the parts world is made for; 32: the paper's grid),

for K in 5, 6, 7 and both worlds (the shapes world for reference). The choices (the world's sizes, counts and
colours) were tuned on val; test is reported as is. A cross-check runs `glass eval --baseline kmeans` on a COCO
export of the test scenes and asserts that it gives the same numbers as the in-process evaluation.
Writes bench/results/tinyworld_parts.json (--quick: tinyworld_parts_quick.json).
"""
import os
for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
import json, platform, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse, store_true
from glass.tinyworld import TinyWorld, patch_oracle, export_coco, split_seeds
from glass.evaluate import KMeansBaseline, GridBaseline, evaluate, get_protocol, _grid_shape
from glass.data import collate

KEYS = ('mbo_i', 'miou_i', 'fg_ari')
GLASS = [sys.executable, '-c', 'import sys; from glass.cli import main; sys.exit(main(sys.argv[1:]))']  # the `glass` command

def _pct(res): return {k: round(100 * res[k], 1) for k in KEYS}

def oracle_scores(ds, grid:int, protocol):
    "Metrics of `patch_oracle` at `grid` on dataset `ds` (scored like `evaluate` scores a model)."
    m = protocol.metrics()
    for i in range(0, len(ds), 100):
        b = collate([ds[j] for j in range(i, min(i + 100, len(ds)))])
        m.update(patch_oracle(b['instance'], grid), b['instance'], b['semantic'], b['ignore'])
    return m.compute()

def world_scores(world:str, split:str, n:int, slots=(5, 6, 7), grids=(16, 24, 32)):
    "Baselines and oracles of `n` scenes of `split`."
    ds, proto = TinyWorld(split, n=n, world=world), get_protocol('tinyworld')
    out = {f'kmeans_{k}': _pct(evaluate(KMeansBaseline(k=k), ds, proto, 100, progress=False)) for k in slots}
    out |= {f'grid_{k}': _pct(evaluate(GridBaseline(*_grid_shape(k)), ds, proto, 100, progress=False)) for k in slots}
    out |= {f'patch_oracle_{g}x{g}': _pct(oracle_scores(ds, g, proto)) for g in grids}
    return out

def cli_kmeans(world:str, n:int, k:int):
    "`glass eval --baseline kmeans` on a COCO export of `n` test scenes: its metrics."
    with tempfile.TemporaryDirectory() as d:
        export_coco(Path(d) / 'coco', split_seeds('test', n), world=world)
        r = subprocess.run([*GLASS, 'eval', '--data', str(Path(d) / 'coco'), '--baseline', 'kmeans',
                            '--n_slots', str(k), '--preset', 'tinyworld', '--out', str(Path(d) / 'eval')],
                           capture_output=True, text=True, env={**os.environ, 'GLASS_PROGRESS': '0'})
        assert r.returncode == 0, r.stderr[-2000:]
        return _pct(json.loads((Path(d) / 'eval/metrics.json').read_text()))

@call_parse
def main(quick:store_true=False, # 40 scenes per split
         out:str=None): # results file; default bench/results/tinyworld_parts[_quick].json
    "Score the no-learning baselines and the patch oracle on the parts (and shapes) world."
    n, t0 = (40 if quick else 500), time.time()
    res = {w: {s: world_scores(w, s, n) for s in ('val', 'test')} for w in ('parts', 'shapes')}
    check = cli_kmeans('parts', n, 6)
    assert check == res['parts']['test']['kmeans_6'], (check, res['parts']['test']['kmeans_6'])
    doc = dict(n_scenes=n, quick=quick, protocol='tinyworld (64 px masks, background not an object)', metrics_percent=list(KEYS),
               goals=dict(kmeans_mbo_i_at_most=60, patch_oracle_mbo_i_at_least=80, grid_at_least='16x16'),
               results=res, cli_check=dict(command='glass eval --baseline kmeans --n_slots 6 --preset tinyworld (COCO export of the test scenes)', parts_test=check),
               seconds=round(time.time() - t0, 1),
               machine=dict(platform=platform.platform(), python=platform.python_version(), numpy=np.__version__, torch=torch.__version__,
                            load_average=[round(v, 2) for v in os.getloadavg()]))
    out = Path(out or f"bench/results/tinyworld_parts{'_quick' if quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(doc, indent=1) + '\n')
    for w in res:
        for s in res[w]:
            print(w, s, ' '.join(f"{k}={v['mbo_i']}" for k, v in res[w][s].items()))
    print(f'wrote {out} ({doc["seconds"]} s)')
