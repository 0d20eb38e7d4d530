"""Peak memory of `glass eval` (object discovery) on a paper-size checkpoint with random weights: the code now, which
loads no diffusion decoder for slot masks, against the code at an earlier git revision, which loaded all of Stable
Diffusion 2.1 and its text encoder.

The checkpoint is the `glass-coco` preset's model on the shipped architectures (`glass.reproduce.RANDOM_SIZES`: `full`
is DINOv2 ViT-B/14 + SD 2.1, `mini` their reduced-width variants), saved as a stage-1 run saves it (the frozen SD parts
are named, not copied). Each `glass eval --preset glass-coco` of 2 COCO-format images (`glass.reproduce.coco_sample`)
runs in its own process, measured by `glass.reproduce.run_measured` (peak resident memory, wall and CPU seconds); the
two runs must write the same metrics.

    python bench/eval_memory.py --before 6b48fae            # full size (minutes, about 6 GB at the peak of the old code)
    python bench/eval_memory.py --size mini --out /tmp/m.json   # the same at reduced width, in seconds
"""
import json, os, subprocess, sys, tempfile, time, platform
from pathlib import Path
from fastcore.script import call_parse

ROOT = Path(__file__).resolve().parent.parent
ENV = {'OMP_NUM_THREADS': os.environ.get('GLASS_THREADS', '1'), 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}
BUILD = '''import sys
from glass.train import run_preset
from glass.reproduce import RANDOM_SIZES
from glass.model import GlassConfig, build_model
build_model(GlassConfig.from_dict({**run_preset('glass-coco').model, **RANDOM_SIZES[sys.argv[1]]})).save_pretrained(sys.argv[2])'''
RUN = 'import sys; from glass.cli import main; sys.exit(main(sys.argv[1:]))'
KEYS = ('fg_ari', 'ari', 'mbo_i', 'mbo_c', 'miou_i', 'miou_c', 'n_images')

def measured(argv, cwd, env, what):
    "Run `argv` measured; fail with its error output."
    from glass.reproduce import run_measured
    r = run_measured(argv, cwd=cwd, env=env, min_available_gib=1.0)
    if r['rc'] != 0: sys.exit(f"{what}: exited {r['rc']} ({r['killed'] or 'error'}):\n{r['err'][-3000:]}")
    print(f"{what}: peak RSS {r['peak_rss_mib']} MiB, {r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU", flush=True)
    return {k: r[k] for k in ('peak_rss_mib', 'seconds', 'cpu_seconds')}

@call_parse
def main(size:str='full', # 'full' (random:dinov2-base + random:sd21) or 'mini'
         before:str=None, # a git revision to measure too (its glass/ package, from `git archive`)
         out:str=None): # JSON to write; default bench/results/eval_memory[_mini].json
    "Measure `glass eval` (discovery) now, and at revision `before`, on the same checkpoint and images."
    from glass.reproduce import coco_sample, glass_argv
    out = Path(out or ROOT / 'bench' / 'results' / f"eval_memory{'' if size == 'full' else '_' + size}.json")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t = time.time()
        subprocess.run([sys.executable, '-c', BUILD, size, str(d / 'ckpt')], check=True, env={**os.environ, **ENV})
        print(f"built and saved the {size} checkpoint in {time.time() - t:.0f} s", flush=True)
        coco_sample(d / 'coco', 'val2017', n=2)
        args = ['eval', str(d / 'ckpt'), '--data', str(d / 'coco'), '--images', 'val2017', '--ann', 'annotations/instances_val2017.json',
                '--preset', 'glass-coco', '--batch_size', '1']
        shown = ['CKPT' if a == str(d / 'ckpt') else 'COCO' if a == str(d / 'coco') else a for a in args]
        res = dict(size=size, command='glass ' + ' '.join(shown) + ' [--device cpu] --out OUT', images=2, threads=int(ENV['OMP_NUM_THREADS']),
                   machine=dict(cpu=platform.processor() or platform.machine(), cpus=os.cpu_count()), date=time.strftime('%Y-%m-%d %H:%M'))
        res['now'] = measured(glass_argv(*args, '--device', 'cpu', '--out', str(d / 'now')), d, ENV, 'now (no decoder)')
        now = json.loads((d / 'now' / 'metrics.json').read_text())
        if before:
            old = d / 'before'; old.mkdir()
            subprocess.run(f"git -C {ROOT} archive {before} glass | tar -x -C {old}", shell=True, check=True)
            env = {**ENV, 'PYTHONPATH': str(old)}
            res['before'] = dict(revision=before, **measured([sys.executable, '-c', RUN, *args, '--out', str(d / 'was')], d, env, f'at {before}'))
            was = json.loads((d / 'was' / 'metrics.json').read_text())
            assert all(now[k] == was[k] for k in KEYS), (now, was)
            res['same_metrics'] = True
            res['saved_mib'] = res['before']['peak_rss_mib'] - res['now']['peak_rss_mib']
        res['metrics'] = {k: now[k] for k in KEYS}
    out.write_text(json.dumps(res, indent=1) + '\n')
    print(f'wrote {out}')
