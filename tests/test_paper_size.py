"""The paper's model at full size on a CPU, with random weights, through the commands a user runs.

One stage-1 step with all three losses (`glass train OUT --preset glass-coco`, the model put on the shipped architectures
with random weights by `--model` flags, `glass.reproduce.random_model_flags`), one stage-2 step
(`glass train OUT2 --stage 2 --init_from OUT`), and one `glass eval --preset glass-coco` of 2 COCO-format images on the saved
stage-1 model. The training data is a 2-sample guidance folder written by `glass guidance` (random:sd21-mini, 2 steps; its
content does not matter here); the COCO images come from `glass.reproduce.coco_sample`.

Sizes: `full` is the `glass-coco` preset's own model (DINOv2 ViT-B/14 at 448, slot attention 7 x 768, SD 2.1 UNet at 256,
MLP decoder 3 x 2048), run only with GLASS_SLOW=1; `mini` (the default, CI) is the same commands with `random:dinov2-mini`,
`random:sd21-mini` and slot width 64. The full-size stage-2 step trains the whole SD 2.1 UNet with AdamW and an EMA (about
17 GB of weights, gradients, moments and shadow before activations): it runs only where the machine has GLASS_FULL_UNET_GIB
(default 22) GiB available; the `full-cross_attn` variant (`train_unet='cross_attn'`, 50.4 M parameters) runs with GLASS_SLOW=1.
The full-size 512-px guidance generation is `tests/test_paperscale_guidance.py::test_sd_recipe_generation_full_size`.

Every command runs in a child process (`glass.reproduce.run_measured`): each test prints its wall and CPU seconds and peak
resident memory (`-s` shows them) and, with GLASS_RECORD=FILE, adds them to that JSON file. Full size, one test at a time:

    GLASS_SLOW=1 GLASS_RECORD=bench/results/paper_size_commands.json python -m pytest -s -p no:xdist tests/test_paper_size.py
"""
import os, sys, json, time, platform
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file
from glass.reproduce import coco_sample, random_model_flags, run_measured, glass_argv, available_gib, SAMPLE_SCENES
from glass.guidance import write_jsonl

SLOW = os.environ.get('GLASS_SLOW') == '1'
THREADS = os.environ.get('GLASS_THREADS', '1')
ENV = {'OMP_NUM_THREADS': THREADS, 'WANDB_MODE': 'disabled', 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}
FULL_UNET_GIB = float(os.environ.get('GLASS_FULL_UNET_GIB', '22'))
# a step on a CPU: one sample, full precision, no workers, no logging service; the rest is the preset's
CPU_STEP = ['--steps', '1', '--batch_size', '1', '--mixed_precision', 'no', '--cpu', 'True', '--threads', THREADS, '--wandb', 'disabled',
            '--num_workers', '0']
full_only = pytest.mark.skipif(not SLOW, reason='full size (random weights, minutes, several GB): set GLASS_SLOW=1')
SIZES = ['mini', pytest.param('full', marks=full_only)]

def glass(args, cwd, what):
    "Run `glass ARGS` in `cwd`, measured; fail with its error output; print and record the figures."
    r = run_measured(glass_argv(*args), cwd=cwd, env=ENV, min_available_gib=1.0)
    if r['killed'] == 'memory': pytest.fail(f"{what}: stopped at {r['peak_rss_mib']} MiB: the machine ran out of memory")
    assert r['rc'] == 0, f"{what}: glass {' '.join(args)} exited {r['rc']}:\n{r['err'][-4000:]}"
    fig = dict(what=what, command='glass ' + ' '.join(args), seconds=r['seconds'], cpu_seconds=r['cpu_seconds'], peak_rss_mib=r['peak_rss_mib'])
    print(f"\n{what}: {r['seconds']:.1f} s wall, {r['cpu_seconds']:.1f} s CPU, peak RSS {r['peak_rss_mib']} MiB  (glass {' '.join(args)})")
    if os.environ.get('GLASS_RECORD'): _record(Path(os.environ['GLASS_RECORD']), fig)
    return r

def _record(path, fig):
    "Add one command's figures to the JSON record (replacing an earlier record of the same step)."
    d = json.loads(path.read_text()) if path.is_file() else {}
    d.setdefault('machine', dict(cpu=platform.processor() or platform.machine(), cpus=os.cpu_count(), threads=int(THREADS),
                                 memory_gib=round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1), torch=torch.__version__))
    d.setdefault('steps', {})[fig['what']] = dict(fig, load_average=os.getloadavg()[0], date=time.strftime('%Y-%m-%d %H:%M'))
    path.write_text(json.dumps(d, indent=1) + '\n')

def once(tmp_path_factory, name, make):
    "`make(folder)` once per test session, shared by the xdist workers (a lock and a JSON of its result in their common folder)."
    from filelock import FileLock
    root = tmp_path_factory.getbasetemp()
    root = (root.parent if os.environ.get('PYTEST_XDIST_WORKER') else root) / 'paper-size'
    root.mkdir(exist_ok=True)
    with FileLock(str(root / f'{name}.lock')):
        if not (root / f'{name}.json').is_file(): (root / f'{name}.json').write_text(json.dumps(make(root)))
    return root, json.loads((root / f'{name}.json').read_text())

def make_data(d):
    "COCO val and train samples, and a 2-sample guidance folder made by `glass guidance` from the train captions."
    coco_sample(d / 'coco', 'val2017', n=2); coco_sample(d / 'coco', 'train2017', n=2, first=2)
    write_jsonl(d / 'captions.jsonl', [dict(caption=s[2]) for s in SAMPLE_SCENES[2:4]])
    glass(['guidance', 'captions.jsonl', 'guidance', '--model', 'random:sd21-mini', '--steps', '2', '--size', '128', '--batch_size', '2',
           '--device', 'cpu', '--no-progress'], d, 'guidance data (random:sd21-mini, 128 px, 2 samples)')
    return {}

@pytest.fixture(scope='module', params=SIZES)
def stage1(request, tmp_path_factory):
    "A finished one-step stage-1 run of the `glass-coco` preset at this size."
    size = request.param
    def make(d):
        once(tmp_path_factory, 'data', make_data)
        glass(['train', f's1-{size}', '--preset', 'glass-coco', '--data_root', 'guidance', '--cache_dir', f'cache-{size}', *random_model_flags(size),
               *CPU_STEP], d, f'stage 1 step, {size}')
        return {}
    d, _ = once(tmp_path_factory, f's1-{size}', make)
    return size, d / f's1-{size}'

def trained(run_dir):
    "Names of the parameters a run's checkpoint holds as trained, and their total size."
    sd = torch.load(next(Path(run_dir).glob('ckpt-*')) / 'trainable.pt', map_location='cpu', weights_only=True)
    return set(sd), sum(t.numel() for t in sd.values())

def log_row(run_dir): return [json.loads(l) for l in (Path(run_dir) / 'log.jsonl').read_text().splitlines()][-1]

def test_stage1_step(stage1):
    "One step of stage 1: the diffusion, semantic and instance losses are all on, and exactly slot attention and the MLP decoder train."
    size, run = stage1
    row = log_row(run)
    assert row['step'] == 1 and all(row[k] > 0 and torch.isfinite(torch.tensor(row[k])) for k in ('diff', 'sem', 'inst', 'grad_norm')), row
    assert row['matched'] >= 1, row  # the semantic loss matched slots to pseudo classes
    names, n = trained(run)
    assert names and {x.split('.')[0] for x in names} == {'slot_attention', 'feature_decoder'}
    c = json.loads((run / 'model' / 'glass_config.json').read_text())
    assert (c['num_slots'], c['image_size'], c['decoder_resolution'], c['stage']) == (7, 448, 256, 1)
    if size == 'full':
        assert (c['encoder'], c['decoder'], c['slot_size'], c['feature_decoder_hidden']) == ('random:dinov2-base', 'random:sd21', 768, [2048] * 3)
        print(f"stage 1 trains {n / 1e6:.2f} M parameters")

def unet_names(decoder, cross_attn):
    "The parameter names of the decoder's UNet (built on the meta device), or of its cross-attention layers."
    from diffusers import UNet2DConditionModel
    from glass.core import build_random
    u = build_random(UNet2DConditionModel, decoder, 'unet', device='meta')
    return {f'decoder.unet.{n}' for n, _ in u.named_parameters() if not cross_attn or '.attn2.' in n}

@pytest.fixture(scope='module', params=['mini', pytest.param('full-cross_attn', marks=full_only),
                                        pytest.param('full', marks=[full_only, pytest.mark.skipif(available_gib() < FULL_UNET_GIB, reason=
                                            f'the whole SD 2.1 UNet with AdamW and an EMA: needs {FULL_UNET_GIB:g} GiB available, '
                                            f'the machine has {available_gib():.1f} (GLASS_FULL_UNET_GIB sets the bar)')])])
def stage2(request, stage1):
    "A finished one-step stage-2 run from the stage-1 run of its size (the preset's whole UNet, or its cross-attention)."
    variant, (size, s1) = request.param, stage1
    if size != variant.split('-')[0]: pytest.skip(f'stage 2 {variant} starts from the {variant.split("-")[0]} stage-1 run')
    def make(d):
        run = f's2-{variant}'
        args = ['train', run, '--stage', '2', '--init_from', s1.name, '--data_root', 'coco/train2017', '--cache_dir', f'cache-{size}', *CPU_STEP]
        if variant.endswith('cross_attn'): args += ['--model', 'train_unet=cross_attn']  # after --stage 2's train_unet='full'
        glass(args, d, f'stage 2 step, {variant}')
        return {}
    d, _ = once(request.getfixturevalue('tmp_path_factory'), f's2-{variant}', make)
    return variant, s1, d / f's2-{variant}'

def test_stage2_step(stage2):
    "One step of stage 2: the diffusion loss alone; exactly the UNet (or its cross-attention) and slot attention (jointly, at a tenth of the rate) train."
    variant, s1, s2 = stage2
    row = log_row(s2)
    assert row['step'] == 1 and row['diff'] > 0 and row['sem'] == row['inst'] == 0, row
    c = json.loads((s2 / 'model' / 'glass_config.json').read_text())
    assert (c['stage'], c['train_unet'], c['train_slot_attention'], c['slot_attention_lr_scale']) == \
        (2, 'cross_attn' if variant.endswith('cross_attn') else 'full', True, 0.1)
    names, n = trained(s2)
    f = 'slot_attention/diffusion_pytorch_model.safetensors'
    a, b = load_file(s1 / 'model' / f), load_file(s2 / 'model' / f)
    assert names == unet_names(c['decoder'], variant.endswith('cross_attn')) | {f'slot_attention.{k}' for k in a}
    n -= sum(t.numel() for t in a.values())
    if variant == 'full': assert n == 865_910_724  # SD 2.1's UNet
    if variant == 'full-cross_attn': assert round(n / 1e6, 1) == 50.4  # its cross-attention layers (paper-scale.md)
    assert a.keys() == b.keys() and not all(torch.equal(a[k], b[k]) for k in a)  # fine-tuned from the stage-1 run's

def test_eval(stage1):
    "`glass eval` with the released evaluation's preset on 2 COCO images, on the saved stage-1 model."
    size, run = stage1
    d = run.parent
    args = ['eval', f'{run.name}/model', '--data', 'coco', '--images', 'val2017', '--ann', 'annotations/instances_val2017.json',
            '--preset', 'glass-coco', '--batch_size', '1', '--out', f'eval-{size}']
    glass(args, d, f'eval, 2 COCO images, {size}')
    m = json.loads((d / f'eval-{size}' / 'metrics.json').read_text())
    assert m['n_images'] == 2 and m['protocol']['preset'] == 'glass-coco' and m['protocol']['num_slots'] == 7
    assert all(0 <= m[k] <= 1 for k in ('fg_ari', 'ari', 'mbo_i', 'mbo_c', 'miou_i', 'miou_c')), m
    assert m['n_objects']['mbo_i'] == 6  # in each image 2 instances (the crowd is background) and the background segment
    assert (d / f'eval-{size}' / 'masks.png').is_file()
