"""The demo over seeds: `glass demo` once per seed, then every learned method's TEST scores as mean +- std, with the frame.

    python bench/demo_seeds.py out/seeds                          # seeds 0, 1, 2 (each `glass demo OUT/seed-N --seed N`)
    python bench/demo_seeds.py out/seeds --reuse 0=out/demo       # a finished demo folder stands for seed 0
    python bench/demo_seeds.py out/seeds --threads 1              # torch threads of each demo (two side by side on 2 cores)
    python bench/demo_seeds.py out/seeds --quick                  # `glass demo --quick` per seed: checks the script

Each seed is a whole demo: its own guidance images and pseudo masks (the generator's seed), its own initialisation
and data order for GLASS, diffusion-only and DINOSAUR-style, scored on the same 500 parts-world TEST scenes. A
killed run continues (`glass demo` resumes; a finished seed is only read). The frame: colour k-means, the grid and the
patch oracle from the demos themselves, and k-means (K = 6, cosine) of the demo encoder's own patch features on the
same TEST scenes (`demo_diagnosis.feature_kmeans`). Issue 21's goals are checked on the means.

Writes bench/results/demo_seeds.json (per seed, mean, std, goals) and bench/results/demo_seeds.md (the table).
"""
import os
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import json, statistics, subprocess, sys, time
from pathlib import Path
from fastcore.script import call_parse, store_true
sys.path.insert(0, str(Path(__file__).parent))

KEYS = {'fg_ari': 'FG-ARI', 'mbo_i': 'mBO^i', 'miou_i': 'mIoU^i', 'mbo_c': 'mBO^c', 'miou_c': 'mIoU^c'}
LEARNED = ('GLASS', 'diffusion-only', 'DINOSAUR-style')

def run_demo(folder:Path, seed:int, threads, quick:bool):
    "Run (or continue) `glass demo` into `folder`; its log goes to folder.log."
    if (folder / 'report' / 'metrics.json').is_file(): return
    cmd = ['glass', 'demo', str(folder), '--seed', str(seed)] + (['--threads', str(threads)] if threads else []) + (['--quick'] if quick else [])
    print(' '.join(cmd), flush=True)
    with open(f'{folder}.log', 'a') as log: subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)

def _stats(vals:list):
    vals = [v for v in vals if v is not None]
    if not vals: return None, None
    return round(statistics.mean(vals), 2), (round(statistics.stdev(vals), 2) if len(vals) > 1 else None)

def summarise(per_seed:dict, feat:dict):
    "Mean and std over seeds of every method and metric (percent), and issue 21's goals on the means."
    names = list(next(iter(per_seed.values()))['table'])
    mean, std = {}, {}
    for n in names:
        mean[n], std[n] = {}, {}
        for k in KEYS: mean[n][k], std[n][k] = _stats([s['table'][n].get(k) for s in per_seed.values()])
    colour = next(n for n in names if n.startswith('k-means'))  # the demo's colour (+ position) k-means
    mean['k-means (encoder features)'], std['k-means (encoder features)'] = dict(feat), {k: None for k in feat}
    g, ck, fk = mean['GLASS']['mbo_i'], mean[colour]['mbo_i'], feat['mbo_i']
    ratio = lambda a, b: round(a / b, 3) if b else None
    goals = [dict(goal='GLASS mBO^i at least 1.1 x colour k-means', numbers=f'{g:.1f} vs {ck:.1f} (x{ratio(g, ck)})', met=g >= 1.1 * ck),
             dict(goal="GLASS mBO^i at least 1.1 x k-means of the encoder's patch features", numbers=f'{g:.1f} vs {fk:.1f} (x{ratio(g, fk)})', met=g >= 1.1 * fk)]
    for other in ('DINOSAUR-style', 'diffusion-only'):
        o = mean[other]['mbo_i']
        goals.append(dict(goal=f'GLASS mBO^i at least 1.25 x {other}', numbers=f'{g:.1f} vs {o:.1f} (x{ratio(g, o)})', met=g >= 1.25 * o))
    orc = next((mean[n]['mbo_i'] for n in names if n.startswith('patch oracle')), None)
    goals.append(dict(goal='patch oracle mBO^i at least 80', numbers=f'{orc:.1f}' if orc is not None else '-', met=orc is not None and orc >= 80))
    goals.append(dict(goal='colour k-means mBO^i at most 60', numbers=f'{ck:.1f}', met=ck <= 60))
    return mean, std, goals

def table_md(mean:dict, std:dict, seeds:list):
    rows = ['| method | ' + ' | '.join(KEYS.values()) + ' |', '| --- ' * (1 + len(KEYS)) + '|']
    for n in mean:
        f = lambda k: '–' if mean[n][k] is None else f'{mean[n][k]:.1f}' + (f' ± {std[n][k]:.1f}' if std[n].get(k) is not None else '')
        rows.append(f'| {n} | ' + ' | '.join(f(k) for k in KEYS) + ' |')
    return '\n'.join(rows) + f'\n\nMean ± std over seeds {", ".join(map(str, seeds))} (learned methods; the no-learning rows vary only through k-means\' seed).'

@call_parse
def main(out:str, # folder of the seed demos (OUT/seed-N)
         seeds:str='0,1,2', # comma-separated seeds
         reuse:str=None, # 'SEED=DIR,...': finished demo folders that stand for these seeds
         threads:int=None, # torch threads of each demo
         quick:store_true=False, # `glass demo --quick` per seed (checks the script)
         result:str='bench/results/demo_seeds'): # results stem (.json and .md)
    "Run the demo for each seed and write the table over seeds."
    import torch
    from glass import demo as D
    from demo_diagnosis import feature_kmeans
    out, seeds = Path(out), [int(s) for s in seeds.split(',')]
    given = dict((int(k), Path(v)) for k, v in (x.split('=') for x in reuse.split(','))) if reuse else {}
    out.mkdir(parents=True, exist_ok=True)
    per_seed = {}
    for s in seeds:
        folder = given.get(s, out / f'seed-{s}')
        t = time.time(); run_demo(folder, s, threads, quick)
        m = json.loads((folder / 'report' / 'metrics.json').read_text())
        if m['budget']['steps'] != D.demo_budget(quick).steps: raise SystemExit(f'{folder}: a demo of another budget ({m["budget"]["steps"]} steps)')
        per_seed[s] = dict(folder=str(folder), table=m['table'], checks=m['checks'], part_binding=m.get('part_binding'),
                           total_seconds=m.get('total_seconds'), wall_seconds_here=round(time.time() - t, 1))
    b = D.demo_budget(quick)
    torch.set_num_threads(threads or torch.get_num_threads())
    feat = feature_kmeans(D.stand_ins_dir(None), b.n_test, b, split='test')
    mean, std, goals = summarise(per_seed, feat)
    checks = [dict(check=c['check'], numbers=[per_seed[s]['checks'][i]['numbers'] for s in seeds],
                   met=sum(per_seed[s]['checks'][i]['met'] for s in seeds)) for i, c in enumerate(per_seed[seeds[0]]['checks'])]
    binding = {n: {k: _stats([per_seed[s]['part_binding'][n][k] for s in seeds]) for k in ('whole', 'split', 'merged')}
               for n in (per_seed[seeds[0]]['part_binding'] or {})}
    res = dict(seeds=seeds, n_test=b.n_test, budget=dict(steps=b.steps, stage2_steps=b.stage2_steps, n_guidance=b.n_guidance),
               mean=mean, std=std, goals=goals, checks=checks, part_binding=binding, per_seed=per_seed, feature_kmeans_test=feat)
    stem = Path(result if not quick else result + '_quick')
    stem.with_suffix('.json').write_text(json.dumps(res, indent=1) + '\n')
    md = (table_md(mean, std, seeds) + '\n\nGoals (on the means):\n\n' +
          '\n'.join(f"* {'met' if g['met'] else 'MISSED'}: {g['goal']}: {g['numbers']}" for g in goals) +
          '\n\nThe demo\'s checks of decodes and edits, seed by seed:\n\n' +
          '\n'.join(f"* met in {c['met']} of {len(seeds)}: {c['check']}: {'; '.join(c['numbers'])}" for c in checks) +
          '\n\nPart binding of compound objects (percent whole / split / merged, mean ± std):\n\n' +
          '\n'.join(f"* {n}: " + ' / '.join(f'{m:.1f} ± {d:.1f}' if d is not None else f'{m:.1f}' for m, d in v.values()) for n, v in binding.items()))
    stem.with_suffix('.md').write_text(md + '\n')
    print(md)
