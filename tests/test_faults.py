"""Issue 14's fault table: every `glass` subcommand, given bad input, exits non-zero with one clear line and leaves what
was there before as it was; given good input, it exits 0 with a clean standard error.

One format for every bad-input case (`Case`): the command line, a setup that makes the case's inputs and pre-existing
outputs in its own folder, the exit status, a fragment of the one error line, and the folders that must be byte for
byte unchanged (hashed before and after; by default the case's whole folder, so nothing may be written, removed or
changed there). The cases run in this process through `glass.cli.main` (what the console script runs), with stderr
captured; the slow inputs they share (tiny COCO and VOC exports, checkpoints, a guidance folder, finished runs) are
built once per test process, on first use (`World`). What only a process shows (the console script's exit status,
signals, tracebacks, what dependencies print at import) runs in subprocesses at the end.

Placeholders in a case's strings: `{T}` is the case's folder, `{NAME}` a shared input of `World.BUILD`.
"""
import hashlib, json, os, re, shutil, signal, subprocess, sys, time
from dataclasses import dataclass, replace
from pathlib import Path
import numpy as np, pytest, torch
from PIL import Image
from glass.cli import main, COMMANDS

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'WANDB_MODE': 'offline'}
GLASS = shutil.which('glass') or str(Path(sys.executable).parent / 'glass')
STANDIN = ['--model', 'tinyworld:stable-diffusion', '--vocab', 'tinyworld', '--recipe', 'standin', '--steps', '2', '--batch_size', '2']
CAPS = ['a circle and a square', 'a red triangle', 'two diamonds', 'a blue square', 'a circle', 'a triangle and a diamond',
        'a square', 'a diamond']

# --- the harness ------------------------------------------------------------------------------------------------

def digest(path) -> dict:
    "sha256 of every file under `path` (or of the file `path`) by relative name; {} if it does not exist."
    p = Path(path)
    if p.is_file(): return {'.': hashlib.sha256(p.read_bytes()).hexdigest()}
    return {q.relative_to(p).as_posix(): hashlib.sha256(q.read_bytes()).hexdigest() if q.is_file() else 'dir'
            for q in sorted(p.rglob('*'))} if p.exists() else {}

def toy_config(**train):
    "A run of the toy model on 16 tiny-world scenes: seconds on a CPU."
    from glass.train import RunConfig, DataConfig, TrainConfig
    t = dict(steps=3, batch_size=4, lr=3e-2, warmup_steps=1, ckpt_every=1, keep_last=1, log_every=1, wandb='disabled', cpu=True, threads=1)
    return RunConfig(model=dict(n_slots=3), builder='glass.train:ToyModel', data=DataConfig(n=16, size=32, image_size=16, val_source=None),
                     train=TrainConfig(**{**t, **train}))

def _released(w):
    from glass.slot_attention import SlotAttention, save_official_slot_attention
    save_official_slot_attention(SlotAttention(num_slots=7, num_iterations=2, slot_size=32, mlp_hidden_size=32, input_size=32, out_size=32,
                                               input_resolution=32), w.root / 'released')

def _images(w):
    d = w.root / 'imgs'; d.mkdir()
    for f in sorted((w.get('coco') / 'images').iterdir()): shutil.copy(f, d / f.name)

def _ab(w):
    for k, name in enumerate(('a.png', 'a.jpg')): Image.fromarray(np.full((16, 16, 3), 40 * k, np.uint8)).save(w.root / name)

def _good(w):
    "An earlier good evaluation (metrics.json, masks.png, masks/, per_image.jsonl): a failing rerun must leave it as it is."
    assert main(['eval', '--data', str(w.get('coco')), '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', '--n_show', '1',
                 '--save_masks', 'True', '--out', str(w.root / 'good')]) == 0

def _caps(w):
    from glass.guidance import write_jsonl
    write_jsonl(w.root / 'caps.jsonl', [dict(caption=c) for c in CAPS])

def _gen(w):
    "A finished guidance folder of 2 samples (its manifest holds the settings)."
    assert main(['guidance', str(w.get('caps')), str(w.root / 'gen'), *STANDIN, '--limit', '2']) == 0

def _toy(w):
    "A finished toy run of 3 steps (its checkpoints 2 and 3) and its config."
    toy_config(keep_last=2).save(w.root / 'toy.json')
    assert main(['train', str(w.root / 'toy'), '--config', str(w.root / 'toy.json')]) == 0

def _s1(w):
    "A finished stage-1 run of the tiny GLASS (1 step)."
    assert main(['train', str(w.root / 's1'), '--n', '16', '--steps', '1', '--batch_size', '2', '--cpu', 'True', '--wandb', 'disabled',
                 '--val_every', '0']) == 0

class World:
    "Inputs the cases share, each built once per test process on first use; `get(name)` is its path."
    BUILD = {
        'coco': lambda w: __import__('glass.tinyworld', fromlist=['x']).export_coco(w.root / 'coco', _split('test', 3)),
        'voc': lambda w: __import__('glass.tinyworld', fromlist=['x']).export_voc(w.root / 'voc', _split('test', 2), boundary=1),
        'ckpt': lambda w: _tiny_glass().save_pretrained(w.root / 'ckpt'),
        'released': _released, 'imgs': _images, 'a.png': _ab, 'a.jpg': _ab, 'good': _good, 'caps.jsonl': _caps, 'gen': _gen,
        'toy': _toy, 'toy.json': _toy, 's1': _s1}
    def __init__(self, root:Path): self.root = root
    def get(self, name:str) -> Path:
        name = {'caps': 'caps.jsonl', 'a': 'a.png'}.get(name, name)
        p = self.root / name
        if not p.exists(): self.BUILD[name](self)
        return p

def _split(split, n):
    from glass.tinyworld import split_seeds
    return split_seeds(split, n)

def _tiny_glass():
    from glass.model import build_model, tiny_config
    return build_model(tiny_config())

@pytest.fixture(scope='session')
def world(tmp_path_factory): return World(tmp_path_factory.mktemp('world'))

@dataclass
class Case:
    "One bad input: `glass ARGV` exits `code` with one error line holding `msg`, and the paths in `keep` do not change."
    name: str           # the test id
    argv: list          # the command line after `glass` ({T}: the case's folder; {NAME}: a shared input)
    msg: str            # a fragment of the error line
    setup: object = None  # f(world, T) -> None or a dict of more placeholders: the inputs and earlier outputs of the case
    keep: tuple = ('{T}',)  # paths that must be byte for byte unchanged (default: everything in the case's folder)
    absent: tuple = ()  # paths that must not exist afterwards
    code: int = 2       # the exit status

def fill(s, world:World, t:Path, extra:dict) -> str:
    "`s` with {T}, the setup's placeholders and the shared inputs' paths filled in."
    def one(m):
        k = m[1]
        if k == 'T': return str(t)
        if k in extra: return str(extra[k])
        return str(world.get(k))
    return re.sub(r'\{([\w.]+)\}', one, str(s))

def check_error(err:str, cmd:str, msg:str):
    "One error line, the last one, naming the problem; no traceback."
    lines = [l for l in err.splitlines() if l.strip()]
    assert lines and 'Traceback' not in err, err
    prefix = f'glass {cmd}: error: ' if cmd in COMMANDS else 'glass: error: '
    assert lines[-1].startswith(prefix) and msg in lines[-1], f'expected {prefix}...{msg}...; got:\n{err}'
    assert sum('error:' in l for l in lines) == 1, err

def run_case(c:Case, world:World, t:Path, capsys):
    "Set up, hash, run `glass` in this process, check status, message and that nothing changed."
    t.mkdir(parents=True, exist_ok=True)
    extra = (c.setup(world, t) if c.setup else None) or {}
    argv = [fill(a, world, t, extra) for a in c.argv]
    keep = [Path(fill(k, world, t, extra)) for k in c.keep]
    before = [digest(k) for k in keep]
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == c.code, f'exit status {code}, expected {c.code}\n{out}\n{err}'
    check_error(err, argv[0], fill(c.msg, world, t, extra))
    for k, b in zip(keep, before): assert digest(k) == b, f'{k} changed'
    for a in c.absent: assert not Path(fill(a, world, t, extra)).exists(), f'{a} was created'

def table(*cases): return [pytest.param(c, id=c.name) for c in cases]

# --- setups -----------------------------------------------------------------------------------------------------

def write(rel, text):
    "A setup writing `text` to T/rel."
    def f(w, t): p = t / rel; p.parent.mkdir(parents=True, exist_ok=True); p.write_text(text)
    return f

def both(*fs):
    def f(w, t):
        extra = {}
        for g in fs: extra.update(g(w, t) or {})
        return extra
    return f

def copy(name, rel=None):
    "A setup copying the shared input `name` to T/rel."
    def f(w, t):
        src, dst = w.get(name), t / (rel or name)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    return f

def config(rel, edit, base=None):
    "A setup writing a run config (a tiny GLASS run, or `base()`) edited by `edit(dict)`."
    def f(w, t):
        from glass.train import tiny_run
        d = (base() if base else tiny_run(n=16, steps=2, wandb='disabled', cpu=True)).to_dict(); edit(d)
        (t / rel).write_text(json.dumps(d))
    return f

def truncated(path):
    b = path.read_bytes(); path.write_bytes(b[:len(b) // 2])

def first_image(d): return sorted((d / 'images').iterdir())[0]

def coco(edit_json=None, edit_files=None):
    "A setup copying the COCO export to T/coco with its instances JSON and files changed, and an earlier good eval to T/out."
    def f(w, t):
        d = t / 'coco'; shutil.copytree(w.get('coco'), d)
        if edit_json:
            a = d / 'annotations' / 'instances.json'
            j = json.loads(a.read_text()); edit_json(j); a.write_text(json.dumps(j))
        if edit_files: edit_files(d)
        shutil.copytree(w.get('good'), t / 'out')
    return f

def _first_ann(j): return next(a for a in j['annotations'] if a['image_id'] == j['images'][0]['id'])
def wrong_size(j): j['images'][0]['height'] += 3
def rle_wrong_size(j): _first_ann(j)['segmentation'] = {'size': [4, 4], 'counts': [16]}
def rle_garbage(j): im = j['images'][0]; _first_ann(j)['segmentation'] = {'size': [im['height'], im['width']], 'counts': '~~~~zz'}
def rle_truncated(j): im = j['images'][0]; _first_ann(j)['segmentation'] = {'size': [im['height'], im['width']], 'counts': [5, 10]}

def voc(edit):
    def f(w, t):
        d = t / 'voc'; shutil.copytree(w.get('voc'), d); edit(d)
        shutil.copytree(w.get('good'), t / 'out')
    return f

def first_id(d): return (d / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split()[0]
def png(a, path): im = Image.fromarray(a.astype(np.uint8), 'P'); im.putpalette([0, 0, 0] * 256); im.save(path)

def earlier(rel, *names):
    "A setup making T/rel an output folder holding an earlier result (files `names`) and a file of the user's."
    def f(w, t):
        d = t / rel; d.mkdir(parents=True, exist_ok=True)
        for n in names: (d / n).write_bytes(b'an earlier result')
        (d / 'keep.txt').write_text('mine')
    return f

def images_with_broken(w, t):
    d = t / 'imgs'; shutil.copytree(w.get('imgs'), d)
    (d / 'broken.png').write_bytes(first_image(w.get('coco')).read_bytes()[:40])

def user_folder(w, t):
    d = t / 'mine'; d.mkdir(); (d / 'notes.txt').write_text('my notes'); (d / 'images').mkdir(); (d / 'images' / 'x.png').write_bytes(b'x')

def demo_folder(w, t):
    "A demo folder started with the --quick settings (demo.json) and a guidance stage under way."
    from glass.demo import check_demo, demo_budget, stand_ins_dir
    check_demo((t / 'demo').resolve(), demo_budget(True), stand_ins_dir(None))
    (t / 'demo' / 'guidance').mkdir(); (t / 'demo' / 'guidance' / 'manifest.json').write_text('{}')

def truncated_coco_run(w, t):
    "A COCO training folder with a truncated image, and a run config that trains on it."
    from glass.tinyworld import export_coco
    from glass.train import DataConfig
    export_coco(t / 'coco', _split('train', 6))
    img = sorted((t / 'coco' / 'images').iterdir())[3]; truncated(img)
    replace(toy_config(), data=DataConfig(source='coco', root=str(t / 'coco'), n=None, size=None, crop=64, image_size=16,
                                          val_source=None)).save(t / 'coco.json')
    return {'IMG': img.name}

def resumable(w, t): shutil.copytree(w.get('toy'), t / 'run')

def other_model(w, t):
    resumable(w, t)
    replace(toy_config(keep_last=1, steps=6), model=dict(n_slots=5)).save(t / 'other.json')

def unreadable(w, t):
    from glass.train import list_checkpoints
    resumable(w, t)
    for ck in list_checkpoints(t / 'run'): (ck / 'optimizer.pt').write_bytes(b'')

def stage2_other_slots(w, t):
    from glass.train import RunConfig
    cfg = RunConfig.load(w.get('s1') / 'run.json')
    replace(cfg, model={**cfg.model, 'num_slots': 5}).save(t / 's2.json')

def bad_jsonl(w, t): (t / 'bad.jsonl').write_text('{"caption": "a circle"}\n\n{"caption": "a square"\n')

NO_CUDA = not torch.cuda.is_available()

# --- the table ----------------------------------------------------------------------------------------------------

GLASS_CASES = table(
    Case('unknown command', ['segmnet', '{ckpt}', '{a}'], "unknown command 'segmnet'"),
    Case('flag of the wrong type', ['train', '{T}/run', '--steps', '2.5'], "argument --steps: invalid int value: '2.5'", absent=['{T}/run']),
)

DEMO = ['demo', '{T}/demo', '--quick']
DEMO_CASES = table(
    Case('demo --steps 0', [*DEMO, '--steps', '0'], '--steps 0: must be at least 1', absent=['{T}/demo']),
    Case('demo --n_guidance 0', [*DEMO, '--n_guidance', '0'], '--n_guidance 0: must be at least 1', absent=['{T}/demo']),
    Case('demo --n_test 0', [*DEMO, '--n_test', '0'], '--n_test 0: must be at least 1', absent=['{T}/demo']),
    Case('demo --batch_size 0', [*DEMO, '--batch_size', '0'], '--batch_size 0: must be at least 1', absent=['{T}/demo']),
    Case('demo --threads 0', [*DEMO, '--threads', '0'], '--threads 0: must be at least 1', absent=['{T}/demo']),
    Case('demo --seed -1', [*DEMO, '--seed', '-1'], 'GlassConfig.seed must be >= 0, got -1', absent=['{T}/demo']),
    Case('demo unknown wandb mode', [*DEMO, '--wandb', 'sometimes'], "TrainConfig.wandb must be one of", absent=['{T}/demo']),
    Case('demo missing stand-ins', [*DEMO, '--stand_ins', '{T}/nothing'], 'lacks stable-diffusion/, dinov2/: train the stand-ins',
         absent=['{T}/demo']),
    Case('demo folder is a file', ['demo', '{T}/notes.txt', '--quick'], 'notes.txt is a file; give a folder', write('notes.txt', 'mine')),
    Case('demo folder under a file', ['demo', '{T}/notes.txt/demo', '--quick'], 'notes.txt is a file, not a folder', write('notes.txt', 'mine')),
    Case("demo folder holds the user's files", ['demo', '{T}/mine', '--quick'], "holds files that are not a demo's (images, notes.txt)",
         user_folder),
    Case('demo rerun with other settings', [*DEMO, '--steps', '5'], 'holds a demo with other settings (steps)', demo_folder),
)

CAPTION = ['--model', 'random:blip2-mini', '--max_new_tokens', '2']
CAPTION_CASES = table(
    Case('caption missing folder', ['caption', '{T}/nope', '--out', '{T}/c.jsonl', *CAPTION], 'image folder', absent=['{T}/c.jsonl']),
    Case('caption folder is a file', ['caption', '{a}', '--out', '{T}/c.jsonl', *CAPTION], 'is a file; give the folder of images'),
    Case('caption no images', ['caption', '{T}/empty', '--out', '{T}/c.jsonl', *CAPTION], 'no images',
         lambda w, t: (t / 'empty').mkdir()),
    Case('caption truncated image', ['caption', '{T}/imgs', '--out', '{T}/c.jsonl', *CAPTION], '1 of 4 images cannot be read: cannot read image',
         images_with_broken, absent=['{T}/c.jsonl']),
    Case('caption unchecked truncated image', ['caption', '{T}/imgs', '--out', '{T}/c.jsonl', *CAPTION, '--check_data', 'False'],
         'cannot read image', images_with_broken, keep=('{T}/imgs',), absent=['{T}/c.jsonl']),  # batches before it stay in .c.jsonl.parts/
    Case('caption --shard 2/2', ['caption', '{imgs}', '--out', '{T}/c.jsonl', *CAPTION, '--shard', '2/2'], "'i/n'", absent=['{T}/c.jsonl']),
    Case('caption resumed with other settings', ['caption', '{imgs}', '--out', '{T}/c.jsonl', *CAPTION, '--max_new_tokens', '3'],
         'max_new_tokens, model, n); use the same settings, or delete',
         write('.c.jsonl.parts/manifest.json', '{"model": "random:blip2-opt-2.7b", "max_new_tokens": 2}')),
    Case('caption --batch_size 0', ['caption', '{imgs}', '--out', '{T}/c.jsonl', *CAPTION, '--batch_size', '0'], '--batch_size 0: must be at least 1'),
    Case('caption --max_new_tokens 0', ['caption', '{imgs}', '--out', '{T}/c.jsonl', '--model', 'random:blip2-mini', '--max_new_tokens', '0'],
         '--max_new_tokens 0: must be at least 1'),
    Case('caption --out is a folder', ['caption', '{imgs}', '--out', '{T}/o', *CAPTION], 'is a folder; give a file name',
         lambda w, t: (t / 'o').mkdir()),
    Case('caption --out under a file', ['caption', '{imgs}', '--out', '{T}/notes.txt/c.jsonl', *CAPTION], 'notes.txt is a file, not a folder',
         write('notes.txt', 'mine')),
    Case("caption --out is the user's file", ['caption', '{imgs}', '--out', '{T}/notes.txt', *CAPTION], 'is not a captions file',
         write('notes.txt', 'my notes')),
    Case('caption missing model', ['caption', '{imgs}', '--out', '{T}/c.jsonl', '--model', '{T}/no-blip'], 'no such folder'),
    Case('caption unknown architecture', ['caption', '{imgs}', '--out', '{T}/c.jsonl', '--model', 'random:blip9'], 'no such architecture'),
    Case('caption --device tpu', ['caption', '{imgs}', '--out', '{T}/c.jsonl', *CAPTION, '--device', 'tpu'], "--device 'tpu' is not a device"),
    *([Case('caption --device cuda without one', ['caption', '{imgs}', '--out', '{T}/c.jsonl', *CAPTION, '--device', 'cuda'],
            'this machine has 0 CUDA device(s)')] if NO_CUDA else []),
)

GUIDANCE = ['guidance', '{caps}', '{T}/gen', *STANDIN]
GUIDANCE_CASES = table(
    Case('guidance --batch_size 0', [*GUIDANCE, '--batch_size', '0'], '--batch_size 0: must be at least 1', absent=['{T}/gen']),
    Case('guidance --limit 0', [*GUIDANCE, '--limit', '0'], '--limit 0: must be at least 1', absent=['{T}/gen']),
    Case('guidance --steps 0', [*GUIDANCE, '--steps', '0'], '--steps 0: must be at least 1', absent=['{T}/gen']),
    Case('guidance --size -8', [*GUIDANCE, '--size', '-8'], '--size -8: must be 0', absent=['{T}/gen']),
    Case('guidance --size 30', [*GUIDANCE, '--size', '30'], '--size 30: this model needs a multiple of 8', absent=['{T}/gen']),
    Case('guidance --fg 2', [*GUIDANCE, '--fg', '2'], '--fg 2.0: must be in (0, 1]', absent=['{T}/gen']),
    Case('guidance --uncertain above --fg', [*GUIDANCE, '--uncertain', '0.9'], '--uncertain 0.9: must be in [0, --fg]', absent=['{T}/gen']),
    Case('guidance --cross_res of no layer', [*GUIDANCE, '--cross_res', '7'], 'cross_res 7 has no layers; available sides: [8, 16]',
         absent=['{T}/gen']),
    Case('guidance --cross_res not a number', [*GUIDANCE, '--cross_res', 'x'], "--cross_res must be map sides", absent=['{T}/gen']),
    Case('guidance reversed --step_window', [*GUIDANCE, '--step_window', '0.5,0.2'], '0 <= start < end <= 1', absent=['{T}/gen']),
    Case('guidance --device tpu', [*GUIDANCE, '--device', 'tpu'], "--device 'tpu' is not a device", absent=['{T}/gen']),
    Case('guidance OUT_DIR is a file', ['guidance', '{caps}', '{T}/notes.txt', *STANDIN], 'notes.txt is a file; give a folder',
         write('notes.txt', 'mine')),
    Case("guidance OUT_DIR holds the user's files", ['guidance', '{caps}', '{T}/mine', *STANDIN], 'but no manifest.json: not a guidance folder',
         user_folder),
    Case('guidance captions file is a folder', ['guidance', '{T}', '{T}/gen', *STANDIN], 'is a folder; give the JSONL file'),
    Case('guidance missing captions', ['guidance', '{T}/none.jsonl', '{T}/gen', *STANDIN], 'none.jsonl not found'),
    Case('guidance class word outside the vocabulary', ['guidance', '{T}/cw.jsonl', '{T}/gen', *STANDIN],
         "caption 2 names class word(s) ['zebra'] outside the tinyworld vocabulary",
         write('cw.jsonl', '{"caption": "a circle", "class_words": ["circle"]}\n{"caption": "a zebra", "class_words": ["zebra"]}\n'),
         absent=['{T}/gen']),
    Case('guidance bad JSONL line', ['guidance', '{T}/bad.jsonl', '{T}/gen', *STANDIN], 'bad.jsonl:3: not a JSON line', bad_jsonl),
    Case('guidance other settings than the manifest', ['guidance', '{caps}', '{T}/gen', *STANDIN, '--limit', '2', '--seed', '3'],
         'holds a run with other settings (seed)', copy('gen')),
)

def tiny(edit):
    "A setup writing T/bad.json: the tiny GLASS run edited."
    return config('bad.json', edit)

TRAIN_CONFIG = ['train', '{T}/run', '--config', '{T}/bad.json']
TRAIN_CASES = table(
    # config values, checked before any work (no run folder, no run.json for the next run to reuse)
    Case('train unknown model key', TRAIN_CONFIG, "unknown field(s) ['slots']", tiny(lambda d: d['model'].update(slots=3)), absent=['{T}/run']),
    Case('train num_slots 0', TRAIN_CONFIG, 'GlassConfig.num_slots must be >= 1, got 0', tiny(lambda d: d['model'].update(num_slots=0)), absent=['{T}/run']),
    Case('train float steps', TRAIN_CONFIG, 'TrainConfig.steps must be an integer, got 2.5', tiny(lambda d: d['train'].update(steps=2.5)), absent=['{T}/run']),
    Case('train string lr', TRAIN_CONFIG, "TrainConfig.lr must be a finite number, got '1e-4'", tiny(lambda d: d['train'].update(lr='1e-4')), absent=['{T}/run']),
    Case('train negative lr', TRAIN_CONFIG, 'TrainConfig.lr must be > 0, got -0.0001', tiny(lambda d: d['train'].update(lr=-1e-4)), absent=['{T}/run']),
    Case('train ema_decay 2', TRAIN_CONFIG, 'TrainConfig.ema_decay must be in [0, 1), got 2.0', tiny(lambda d: d['train'].update(ema_decay=2.0)), absent=['{T}/run']),
    Case('train data.n 0', TRAIN_CONFIG, 'DataConfig.n must be >= 1, got 0', tiny(lambda d: d['data'].update(n=0)), absent=['{T}/run']),
    Case('train unknown data key', TRAIN_CONFIG, "unknown field(s) ['sorce'] in data", tiny(lambda d: d['data'].update(sorce='coco')), absent=['{T}/run']),
    Case('train stage 2 without init_from', TRAIN_CONFIG, 'model.stage=2 fine-tunes a trained stage-1 model: set init_from',
         tiny(lambda d: d['model'].update(stage=2, train_unet='full')), absent=['{T}/run']),
    Case('train data size differs from the model', TRAIN_CONFIG, 'data.image_size=64 but model.image_size=32',
         tiny(lambda d: d['data'].update(image_size=64)), absent=['{T}/run']),
    Case('train --model unknown field', ['train', '{T}/run', '--model', 'num_slot=3'], "no field 'num_slot'", absent=['{T}/run']),
    Case('train --model without a value', ['train', '{T}/run', '--model', 'num_slots'], "--model 'num_slots': expected KEY=VALUE", absent=['{T}/run']),
    Case('train --model of the wrong type', ['train', '{T}/run', '--model', 'num_slots=three'], "GlassConfig.num_slots must be an integer, got 'three'",
         absent=['{T}/run']),
    Case('train model part cannot be loaded', TRAIN_CONFIG, "cannot load AutoModel from /no/such/dinov2",
         tiny(lambda d: d['model'].update(encoder='/no/such/dinov2')), absent=['{T}/run']),
    # flags
    Case('train --n 0', ['train', '{T}/run', '--n', '0'], 'DataConfig.n must be >= 1, got 0', absent=['{T}/run']),
    Case('train --ema_decay 2', ['train', '{T}/run', '--ema_decay', '2.0'], 'TrainConfig.ema_decay must be in [0, 1), got 2.0', absent=['{T}/run']),
    Case('train --lr negative', ['train', '{T}/run', '--lr=-0.0001'], 'TrainConfig.lr must be > 0', absent=['{T}/run']),
    Case('train --steps 0', ['train', '{T}/run', '--steps', '0'], 'TrainConfig.steps must be >= 1, got 0', absent=['{T}/run']),
    Case('train --batch_size 0', ['train', '{T}/run', '--batch_size', '0'], 'TrainConfig.batch_size must be >= 1, got 0', absent=['{T}/run']),
    Case('train --mixed_precision fp8', ['train', '{T}/run', '--mixed_precision', 'fp8'], 'TrainConfig.mixed_precision must be one of', absent=['{T}/run']),
    Case('train --wandb sometimes', ['train', '{T}/run', '--wandb', 'sometimes'], 'TrainConfig.wandb must be one of', absent=['{T}/run']),
    Case('train unknown preset', ['train', '{T}/run', '--preset', 'nope'], "unknown preset 'nope'", absent=['{T}/run']),
    Case('train --preset and --config', ['train', '{T}/run', '--preset', 'glass-coco', '--config', 'x.json'],
         '--preset glass-coco and --config both give a whole run config', absent=['{T}/run']),
    Case('train no stage 2 of the preset', ['train', '{T}/run', '--stage', '2', '--preset', 'dinosaur-coco', '--init_from', 'x'], 'no stage 2',
         absent=['{T}/run']),
    Case('train missing --config', ['train', '{T}/run', '--config', '{T}/nope.json'], 'run config {T}/nope.json not found', absent=['{T}/run']),
    Case('train malformed --config', ['train', '{T}/run', '--config', '{T}/broken.json'], 'broken.json: Expecting value',
         write('broken.json', '{"train": '), absent=['{T}/run']),
    Case('train --cache_dir is a file', ['train', '{T}/run', '--cache_dir', '{T}/notes.txt'], 'data.cache_dir={T}/notes.txt is a file',
         write('notes.txt', 'mine'), absent=['{T}/run']),
    # the run folder
    Case('train run folder is a file', ['train', '{T}/notes.txt', '--steps', '2'], 'the run folder {T}/notes.txt is a file', write('notes.txt', 'mine')),
    Case('train run folder under a file', ['train', '{T}/notes.txt/run', '--n', '16', '--steps', '1'], 'notes.txt is a file, not a folder',
         write('notes.txt', 'mine')),
    Case("train run folder holds the user's files", ['train', '{T}/mine', '--n', '16', '--steps', '1'], 'but no run.json: not a glass run',
         user_folder),
    Case('train OUT_DIR missing', ['train', '--steps', '2'], 'OUT_DIR (the run folder) is required'),
    Case('train broken run.json in the folder', ['train', '{T}/run'], 'run.json: TrainConfig.steps must be an integer, got 2.5',
         write('run/run.json', '{"train": {"steps": 2.5}}')),
    Case('train preset data folder missing', ['train', '{T}/run', '--preset', 'glass-coco', '--data_root', '{T}/gen'],
         'data.root={T}/gen: {T}/gen/manifest.json not found', absent=['{T}/run']),
    # stage 2
    Case('train stage 2 from a missing run', ['train', '{T}/s2', '--stage', '2', '--init_from', '{T}/nothing'], 'init_from={T}/nothing: no such folder',
         absent=['{T}/s2']),
    Case('train stage 2 from an unfinished run', ['train', '{T}/s2', '--stage', '2', '--init_from', '{T}/half'], 'its run has not finished',
         lambda w, t: (t / 'half' / 'ckpt-000003').mkdir(parents=True), absent=['{T}/s2']),
    Case('train stage 2 of another architecture', ['train', '{T}/s2', '--config', '{T}/s2.json', '--stage', '2', '--init_from', '{s1}'],
         'model.num_slots is 5 but', stage2_other_slots, keep=('{T}', '{s1}'), absent=['{T}/s2']),
    # resume
    Case('train checkpoints without --resume', ['train', '{T}/run', '--config', '{toy.json}', '--steps', '5'],
         'already holds checkpoints; pass --resume True', resumable),
    Case('train refused resume changes nothing', ['train', '{T}/run', '--resume', 'True', '--config', '{T}/other.json'],
         "differs in 'model' (n_slots: 3 in the checkpoint, 5 now)", other_model),
    Case('train every checkpoint unreadable', ['train', '{T}/run', '--resume', 'True', '--steps', '4'], 'no readable checkpoint in', unreadable),
    # data
    Case('train truncated COCO image', ['train', '{T}/run', '--config', '{T}/coco.json'], '{IMG}', truncated_coco_run, absent=['{T}/run']),
)

EVAL = ['--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', '--out', '{T}/out']
def eval_coco(name, msg, edit_json=None, edit_files=None, flags=(), pos=()):
    return Case(name, ['eval', *pos, '--data', '{T}/coco', *EVAL, '--overwrite', 'True', *flags], msg, coco(edit_json, edit_files))  # may replace T/out: a failure keeps it

EVAL_CASES = table(
    eval_coco('eval truncated image', 'truncated', edit_files=lambda d: truncated(first_image(d))),
    eval_coco('eval zero-byte image', 'empty, corrupt, truncated or not an image', edit_files=lambda d: first_image(d).write_bytes(b'')),
    eval_coco('eval JSON size differs from the image', 'image is 64x64 but', wrong_size),
    eval_coco('eval RLE of the wrong size', 'is 4x4 but its image is 64x64', rle_wrong_size),
    eval_coco('eval garbage RLE', 'malformed RLE counts', rle_garbage),
    eval_coco('eval truncated RLE', 'the RLE counts cover 15 pixels', rle_truncated),
    eval_coco('eval empty annotation list', 'the annotation list is empty', lambda j: j.update(annotations=[])),
    eval_coco('eval malformed JSON', 'malformed JSON in', edit_files=lambda d: (d / 'annotations' / 'instances.json').write_text('{"images": [')),
    eval_coco('eval annotation of a missing image', 'points at missing image id 999', lambda j: j['annotations'][0].update(image_id=999)),
    eval_coco('eval unknown category', 'unknown category_id 999', lambda j: j['annotations'][0].update(category_id=999)),
    eval_coco('eval no images folder', 'image folder not found', edit_files=lambda d: shutil.rmtree(d / 'images')),
    eval_coco('eval --n_slots 0', '--n_slots 0: must be at least 1', flags=['--n_slots', '0']),
    eval_coco('eval --batch_size 0', '--batch_size 0: must be at least 1', flags=['--batch_size', '0']),
    eval_coco('eval --resolution 0', '--resolution 0', flags=['--resolution', '0']),
    eval_coco('eval unknown preset', "unknown preset 'monet'", flags=['--preset', 'monet']),
    eval_coco('eval unknown overlap rule', 'Protocol.overlap must be one of ignore, last, first', flags=['--overlap', 'max']),
    eval_coco('eval unknown crowd rule', 'Protocol.crowd must be one of', flags=['--crowd', 'drop']),
    eval_coco('eval unknown format', "unknown --format 'ade'", flags=['--format', 'ade']),
    eval_coco('eval missing checkpoint', 'checkpoint folder not found', pos=['{T}/nockpt']),
    eval_coco('eval mlp masks of a released checkpoint', 'no MLP decoder', pos=['{released}', '--encoder', '{ckpt}/encoder'],
              flags=['--mask_source', 'mlp_decoder']),
    eval_coco('eval no check, truncated image', 'cannot read image', edit_files=lambda d: truncated(first_image(d)), flags=['--check_data', 'False']),
    eval_coco('eval --image_size not a multiple of the patch', 'a multiple of its patch size 8', pos=['{ckpt}'], flags=['--image_size', '30']),
    eval_coco('eval --device tpu', "--device 'tpu' is not a device", pos=['{ckpt}'], flags=['--device', 'tpu']),
    eval_coco('eval unknown --dtype', "unknown --dtype 'fp64'", pos=['{ckpt}'], flags=['--dtype', 'fp64']),
    *([eval_coco('eval --device cuda without one', 'this machine has 0 CUDA device(s)', pos=['{ckpt}'], flags=['--device', 'cuda'])] if NO_CUDA else []),
    Case('eval --out is a file', ['eval', '--data', '{coco}', '--preset', 'tinyworld', '--out', '{T}/metrics'], 'is a file; give a folder',
         write('metrics', 'my notes')),
    Case('eval --out under a file', ['eval', '--data', '{coco}', '--preset', 'tinyworld', '--out', '{T}/metrics/sub'], 'is a file, not a folder',
         write('metrics', 'my notes')),
    Case("eval --save_masks over the user's masks/", ['eval', '--data', '{coco}', *EVAL, '--save_masks', 'True'],
         'holds files glass eval did not write (holiday.jpg)', write('out/masks/holiday.jpg', 'mine')),
    Case('eval --data missing', ['eval', *EVAL], '--data DIR is required'),
    Case('eval semseg unknown vocabulary', ['eval', '{ckpt}', '--data', '{coco}', '--task', 'semseg', '--pipeline', 'tinyworld:stable-diffusion',
                                            '--vocab', 'xyz', *EVAL], "unknown --vocab 'xyz'"),
    Case('eval semseg --noise_level 3', ['eval', '{ckpt}', '--data', '{coco}', '--task', 'semseg', '--pipeline', 'tinyworld:stable-diffusion',
                                         '--noise_level', '3', *EVAL], '--noise_level 3.0: must be in (0, 1]'),
    Case('eval --data not there', ['eval', '--data', '{T}/nothing', *EVAL], 'dataset folder not found'),
    Case('eval VOC missing label PNG', ['eval', '--data', '{T}/voc', '--format', 'voc', *EVAL], 'mask file not found',
         voc(lambda d: (d / 'SegmentationObject' / f'{first_id(d)}.png').unlink())),
    Case('eval VOC wrong-size label PNG', ['eval', '--data', '{T}/voc', '--format', 'voc', *EVAL], 'is 5x5 but',
         voc(lambda d: png(np.zeros((5, 5)), d / 'SegmentationClass' / f'{first_id(d)}.png'))),
    Case('eval VOC class ids outside the list', ['eval', '--data', '{T}/voc', '--format', 'voc', *EVAL], 'class ids [40] are outside the 21 classes',
         voc(lambda d: png(np.full((64, 64), 40), d / 'SegmentationClass' / f'{first_id(d)}.png'))),
    Case('eval VOC missing image', ['eval', '--data', '{T}/voc', '--format', 'voc', *EVAL], 'image file not found',
         voc(lambda d: (d / 'JPEGImages' / f'{first_id(d)}.jpg').unlink())),
    Case('eval VOC unknown void rule', ['eval', '--data', '{T}/voc', '--format', 'voc', *EVAL, '--void', 'keep'], 'Protocol.void must be one of',
         voc(lambda d: None)),
)

SEGMENT_CASES = table(
    *([Case('segment --device cuda without one', ['segment', '{ckpt}', '{a}', '--device', 'cuda', '--out', '{T}/o'], 'this machine has 0 CUDA device(s)',
            absent=['{T}/o'])] if NO_CUDA else []),
    Case('segment unknown --dtype', ['segment', '{ckpt}', '{a}', '--dtype', 'fp64', '--out', '{T}/o'], "unknown --dtype 'fp64'", absent=['{T}/o']),
    Case('segment --num_slots 0', ['segment', '{ckpt}', '{a}', '--num_slots', '0', '--out', '{T}/out'], 'num_slots=0: at least one slot',
         earlier('out', 'a_masks.png')),
    Case('segment --size 0', ['segment', '{ckpt}', '{a}', '--size', '0', '--out', '{T}/out'], 'size=0', earlier('out', 'a_masks.png')),
    Case('segment unknown mask source', ['segment', '{ckpt}', '{a}', '--mask_source', 'unet', '--out', '{T}/out'], "mask_source='unet'",
         earlier('out', 'a_masks.png')),
    Case('segment --size not a multiple of the patch', ['segment', '{ckpt}', '{a}', '--size', '30', '--out', '{T}/out'],
         'a multiple of its patch size 8', earlier('out', 'a_masks.png')),
    Case('segment missing image', ['segment', '{ckpt}', '{T}/nope.png', '--out', '{T}/o'], 'image not found', absent=['{T}/o']),
    Case('segment missing checkpoint', ['segment', '{T}/nockpt', '{a}', '--out', '{T}/o'], 'checkpoint folder not found', absent=['{T}/o']),
    Case('segment not a checkpoint', ['segment', '{coco}', '{a}', '--out', '{T}/o'], 'is not a checkpoint', absent=['{T}/o']),
    Case('segment folder without images', ['segment', '{ckpt}', '{T}/empty', '--out', '{T}/o'], 'no images found',
         lambda w, t: (t / 'empty').mkdir(), absent=['{T}/o']),
    Case('segment broken image in the folder', ['segment', '{ckpt}', '{T}/imgs', '--out', '{T}/o'], 'broken.png', images_with_broken,
         absent=['{T}/o']),
    Case('segment unchecked broken image', ['segment', '{ckpt}', '{T}/imgs', '--out', '{T}/o', '--check_data', 'False'], 'cannot read image',
         images_with_broken, keep=('{T}/imgs',)),
    Case('segment --out is a file', ['segment', '{ckpt}', '{a}', '--out', '{T}/notes.txt'], 'is a file; give a folder', write('notes.txt', 'mine')),
    Case('segment --out under a file', ['segment', '{ckpt}', '{a}', '--out', '{T}/notes.txt/o'], 'notes.txt is a file, not a folder',
         write('notes.txt', 'mine')),
    Case('segment --out is the image folder', ['segment', '{ckpt}', '{T}/imgs', '--out', '{T}/imgs'], 'is the image folder itself',
         copy('imgs')),
)

def _compose(*args): return ['compose', *args, '--out', '{T}/out']
COMPOSE_OUT = earlier('out', 'edited_a.png', 'compose.png')
COMPOSE_CASES = table(
    Case('compose --steps 0', _compose('{ckpt}', '{a}', '--steps', '0'), '--steps 0: at least 1 sampler step', COMPOSE_OUT),
    Case('compose unknown --dtype', _compose('{ckpt}', '{a}', '--dtype', 'half'), "unknown --dtype 'half'", COMPOSE_OUT),
    *([Case('compose --device cuda without one', _compose('{ckpt}', '{a}', '--device', 'cuda'), 'this machine has 0 CUDA device(s)', COMPOSE_OUT)]
      if NO_CUDA else []),
    Case('compose unknown op', _compose('{ckpt}', '{a}', '--op', 'blend'), "--op 'blend'", COMPOSE_OUT),
    Case('compose slot out of range', _compose('{ckpt}', '{a}', '--i', '9', '--steps', '1'), 'slot i=9 out of range', COMPOSE_OUT),
    Case('compose swap slot j out of range', _compose('{ckpt}', '{a}', '{a.jpg}', '--op', 'swap', '--j', '-5', '--steps', '1'),
         'slot j=-5 out of range for K=4 slots', COMPOSE_OUT),
    Case('compose add without a second image', _compose('{ckpt}', '{a}', '--op', 'add', '--steps', '1'), 'needs a second image', COMPOSE_OUT),
    Case('compose missing image', _compose('{ckpt}', '{T}/nope.png'), 'image file not found', COMPOSE_OUT),
    Case('compose image is a folder', _compose('{ckpt}', '{imgs}'), 'is a folder; give an image file', COMPOSE_OUT),
    Case('compose truncated image', _compose('{ckpt}', '{T}/imgs/broken.png'), 'cannot read image', both(COMPOSE_OUT, images_with_broken)),
    Case('compose released checkpoint without --sd', _compose('{released}', '{a}'), 'holds no Stable Diffusion: pass --sd', COMPOSE_OUT),
    Case('compose --resolution 30', _compose('{released}', '{a}', '--resolution', '30'), '--resolution 30', COMPOSE_OUT),
    Case('compose unknown scheduler', _compose('{ckpt}', '{a}', '--scheduler', 'pndm'), "--scheduler 'pndm'", COMPOSE_OUT),
    Case('compose --out is a file', ['compose', '{ckpt}', '{a}', '--out', '{T}/notes.txt'], 'is a file; give a folder', write('notes.txt', 'mine')),
    Case('compose --out under a file', ['compose', '{ckpt}', '{a}', '--out', '{T}/notes.txt/o'], 'notes.txt is a file, not a folder',
         write('notes.txt', 'mine')),
)

# every number finite and in range, through one check before any work (issue 24): nan and inf for every float flag, a
# trillion for every integer flag, of every command (the paths need not exist: nothing is read before the check)
NUMBER_BASE = {'demo': ['{T}/demo'], 'tinyworld': ['{T}/tw'], 'eval': ['--data', '{T}/coco', '--out', '{T}/ev'], 'pretrain-tinyworld': ['{T}/st'],
               'caption': ['{T}/imgs', '--out', '{T}/c.jsonl'], 'guidance': ['{T}/caps.jsonl', '{T}/gen'], 'train': ['{T}/run'],
               'segment': ['{T}/ckpt', '{T}/imgs', '--out', '{T}/seg'], 'compose': ['{T}/ckpt', '{T}/a.png', '--out', '{T}/comp']}

def _numeric_flags():
    from fastcore.script import anno_parser
    from glass.cli import get_command
    for cmd in COMMANDS:
        acts = anno_parser(get_command(cmd))._actions
        yield cmd, [a.dest for a in acts if a.type is float], [a.dest for a in acts if a.type is int]

NUMBER_CASES = table(
    *[Case(f'{cmd} --{k} {v}', [cmd, *NUMBER_BASE[cmd], f'--{k}={v}'], f'--{k} {v}: must be a finite number')
      for cmd, floats, _ in _numeric_flags() for k in floats for v in ('nan', 'inf', '-inf')],
    *[Case(f'{cmd} --{k} 10**12', [cmd, *NUMBER_BASE[cmd], f'--{k}', str(10**12)], f'--{k} {10**12}: out of range; at most 2147483647')
      for cmd, _, ints in _numeric_flags() for k in ints],
    Case('train --seed 10**20', ['train', '{T}/run', '--seed', '99999999999999999999'], '--seed 99999999999999999999: out of range'),
    Case('tinyworld --seed 10**20', ['tinyworld', '{T}/tw', '--seed', '99999999999999999999'], '--seed 99999999999999999999: out of range'),
    Case('train config steps 10**12', TRAIN_CONFIG, 'TrainConfig.steps 1000000000000: out of range', tiny(lambda d: d['train'].update(steps=10**12)),
         absent=['{T}/run']),
    Case('train config lr NaN', TRAIN_CONFIG, 'TrainConfig.lr must be a finite number, got nan', tiny(lambda d: d['train'].update(lr=float('nan'))),
         absent=['{T}/run']),
    Case('train config lambda_diff Infinity', TRAIN_CONFIG, 'GlassConfig.lambda_diff must be a finite number, got inf',
         tiny(lambda d: d['model'].update(lambda_diff=float('inf'))), absent=['{T}/run']),
    Case('train config data.n 10**12', TRAIN_CONFIG, 'DataConfig.n 1000000000000: out of range', tiny(lambda d: d['data'].update(n=10**12)),
         absent=['{T}/run']),
    Case('compose --i -1', _compose('{ckpt}', '{a}', '--i=-1', '--steps', '1'), 'slot i=-1 out of range for K=4 slots', COMPOSE_OUT),
)

GOOD_EVAL = ['eval', '--data', '{coco}', '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', '--n_show', '1', '--save_masks', 'True']

def segmented(w, t):
    "A finished `glass segment` folder T/out (seed 0) of the image a.png."
    assert main(['segment', str(w.get('ckpt')), str(w.get('a')), '--out', str(t / 'out')]) == 0

# outputs apart from inputs; finished results replaced only with the same settings or --overwrite True (issue 24)
APART_CASES = table(
    Case('segment --out inside the image folder', ['segment', '{ckpt}', '{T}/imgs', '--out', '{T}/imgs/out2'], 'lies inside the image folder {T}/imgs',
         copy('imgs')),
    Case('eval --out inside the dataset folder', ['eval', '--data', '{T}/coco', *EVAL[:-1], '{T}/coco/eval'], 'lies inside the dataset folder {T}/coco',
         copy('coco')),
    Case('eval rerun with other settings', [*GOOD_EVAL, '--out', '{T}/out', '--n_slots', '5'], 'holds a result made with other settings (n_slots)',
         copy('good', 'out')),
    Case('eval over a result of unknown settings', [*GOOD_EVAL, '--out', '{T}/out'], 'settings are not recorded (metrics.json)',
         earlier('out', 'metrics.json')),
    Case('segment rerun with other settings', ['segment', '{ckpt}', '{a}', '--out', '{T}/out', '--seed', '3'], 'holds a result made with other settings (seed)',
         segmented),
    Case('segment over masks of unknown settings', ['segment', '{ckpt}', '{a}', '--out', '{T}/out'], 'settings are not recorded (segment.json)',
         earlier('out', 'a_masks.png')),
)

def composed(w, t):
    "A finished `glass compose` folder T/out (seed 0, 1 step)."
    assert main(['compose', str(w.get('ckpt')), str(w.get('a')), '--steps', '1', '--out', str(t / 'out')]) == 0

def dangling_image(w, t):
    "T/imgs: the shared images and a symlink z.png to a missing file."
    shutil.copytree(w.get('imgs'), t / 'imgs'); os.symlink(t / 'missing.png', t / 'imgs' / 'z.png')

SMALL_CASES = table(  # the smaller items of issue 24
    eval_coco('eval iscrowd "yes"', 'iscrowd must be 0 or 1, got \'yes\'', lambda j: _first_ann(j).update(iscrowd='yes')),
    Case('segment dangling image symlink', ['segment', '{ckpt}', '{T}/imgs', '--out', '{T}/o'], 'z.png is a symlink to a missing target',
         dangling_image, absent=['{T}/o']),
    Case('caption dangling image symlink', ['caption', '{T}/imgs', '--out', '{T}/c.jsonl', *CAPTION], 'z.png is a symlink to a missing target',
         dangling_image, absent=['{T}/c.jsonl']),
    Case('train config model null', TRAIN_CONFIG, 'RunConfig.model must be a mapping of GlassConfig fields', tiny(lambda d: d.update(model=None)),
         absent=['{T}/run']),
    Case("train --resume on another command's folder", ['train', '{T}/mine', '--resume', 'True', '--n', '16', '--steps', '1'],
         'but no run.json: not a glass run', user_folder),
    Case('compose rerun with other settings', _compose('{ckpt}', '{a}', '--steps', '1', '--seed', '3'), 'holds a result made with other settings (seed)',
         composed),
    Case('compose over a result of unknown settings', _compose('{ckpt}', '{a}', '--steps', '1'), 'settings are not recorded (compose.json)', COMPOSE_OUT),
)

ALL = GLASS_CASES + APART_CASES + SMALL_CASES + DEMO_CASES + CAPTION_CASES + GUIDANCE_CASES + TRAIN_CASES + EVAL_CASES + SEGMENT_CASES + COMPOSE_CASES + NUMBER_CASES

@pytest.mark.parametrize('case', ALL)
def test_fault(case, world, tmp_path, capsys):
    run_case(case, world, tmp_path / 'case', capsys)

def test_the_table_covers_every_command():
    "At least 60 cases, and cases for every subcommand this file owns (tinyworld's are in tests/test_tinyworld_faults.py)."
    per = {}
    for p in ALL: per[p.values[0].argv[0]] = per.get(p.values[0].argv[0], 0) + 1
    assert len(ALL) >= 60 and set(COMMANDS) - {'tinyworld', 'pretrain-tinyworld'} <= set(per), per

# --- cases with more than one command, or a success with a warning --------------------------------------------------

def glass_in_process(capsys, *args):
    rc = main([str(a) for a in args]); out, err = capsys.readouterr()
    return rc, out, err

def test_corrupt_newest_checkpoint_falls_back(world, tmp_path, capsys):
    from glass.train import latest_checkpoint
    run = tmp_path / 'run'; shutil.copytree(world.get('toy'), run)
    (run / 'ckpt-000003' / 'trainable.pt').write_bytes(b'\0' * 64)
    rc, out, err = glass_in_process(capsys, 'train', run, '--resume', 'True', '--steps', '4')
    assert rc == 0, err
    assert f'glass train: warning: checkpoint {run}/ckpt-000003 is unreadable (trainable.pt: ' in err, err
    assert f'resuming from {run}/ckpt-000002 instead' in err and 'kept as ckpt-000003.corrupt' in err
    assert latest_checkpoint(run).name == 'ckpt-000004' and (run / 'ckpt-000003.corrupt').is_dir()
    assert json.loads((run / 'ckpt-000004' / 'state.json').read_text())['step'] == 4

@pytest.mark.skipif(not hasattr(__import__('glass.data', fromlist=['CocoSegmentation']).CocoSegmentation, 'check'),
                    reason='glass.data.CocoSegmentation.check() is not there')
def test_check_data_calls_the_dataset_check(tmp_path, monkeypatch, capsys):
    "The check runs before training and its error stops the run before anything is written (a stand-in `check()` here)."
    from glass.data import CocoSegmentation
    from glass.core import InputError
    from glass.tinyworld import export_coco
    from glass.train import DataConfig
    export_coco(tmp_path / 'coco', _split('train', 6))
    calls = []
    def check(self, *a, **k): calls.append(1); raise InputError(f'{self.root}: an image is truncated')
    monkeypatch.setattr(CocoSegmentation, 'check', check)
    cfg = tmp_path / 'coco.json'
    replace(toy_config(), data=DataConfig(source='coco', root=str(tmp_path / 'coco'), n=None, size=None, crop=64, image_size=16,
                                          val_source=None)).save(cfg)
    rc, _, err = glass_in_process(capsys, 'train', tmp_path / 'run', '--config', cfg)
    assert rc == 2 and 'an image is truncated' in err and calls == [1] and not (tmp_path / 'run').exists()
    monkeypatch.setattr(CocoSegmentation, 'check', lambda self, *a, **k: calls.append(2))
    assert glass_in_process(capsys, 'train', tmp_path / 'ok', '--config', cfg, '--steps', '1')[0] == 0 and calls == [1, 2]
    rc, _, err = glass_in_process(capsys, 'train', tmp_path / 'trusted', '--config', cfg, '--steps', '1', '--check_data', 'False')
    assert rc == 0 and calls == [1, 2], err

def test_print_config_round_trip(tmp_path, capsys):
    from glass.train import RunConfig, run_preset
    rc, out, err = glass_in_process(capsys, 'train', '--preset', 'glass-coco', '--print_config')
    assert rc == 0, err
    cfg = tmp_path / 'coco.json'; cfg.write_text(out)
    assert RunConfig.load(cfg) == run_preset('glass-coco')

def test_eval_rules_recorded(world, tmp_path, capsys):
    "The rule flags reach metrics.json."
    out = tmp_path / 'out'
    rc, _, err = glass_in_process(capsys, 'eval', '--data', world.get('coco'), '--preset', 'glass-coco', '--image_size', '64', '--resolution', '64',
                                  '--baseline', 'grid', '--crowd', 'ignore', '--overlap', 'ignore', '--duplicates', 'drop', '--empty_ari', 'skip',
                                  '--out', out)
    assert rc == 0, err
    m = json.loads((out / 'metrics.json').read_text())
    assert m['dataset_rules'] == dict(crowd='ignore', overlap='ignore', class_overlap='same', duplicates='drop')
    assert (m['protocol']['empty_ari'], m['protocol']['num_slots'], m['dataset_check']['images']) == ('skip', 7, 3)

def test_segment_names_never_collide(world, tmp_path, capsys):
    src = tmp_path / 'imgs'; (src / 'x').mkdir(parents=True)
    for name in ('a.png', 'a.jpg', 'x/y.png', 'x__y.png'): shutil.copy(world.get('a.png'), src / name)
    rc, out, err = glass_in_process(capsys, 'segment', world.get('ckpt'), src, '--out', tmp_path / 'out')
    assert rc == 0, err
    masks = sorted(p.relative_to(tmp_path / 'out').as_posix() for p in (tmp_path / 'out').rglob('*_masks.png'))
    assert masks == ['a.jpg_masks.png', 'a.png_masks.png', 'x/y_masks.png', 'x__y_masks.png']
    assert 'of 4 image(s)' in out

def test_help(capsys):
    "`glass --help` lists every subcommand with its description, one a line; `glass CMD --help` works for each."
    rc, out, _ = glass_in_process(capsys, '--help')
    rows = {l.split()[0]: l for l in out.splitlines() if l.startswith('  ')}
    assert rc == 0 and list(rows) == list(COMMANDS)
    for name, (_, desc) in COMMANDS.items(): assert rows[name].rstrip().endswith(desc) and rows[name].split(name, 1)[1].startswith('  ')
    for name in COMMANDS:
        rc, out, err = glass_in_process(capsys, name, '--help')
        assert rc == 0 and out.startswith(f'usage: glass {name}'), (name, err)

# --- processes: the console script's exit status, signals, tracebacks, a clean stderr ----------------------------------

NOISE = re.compile(r'warn|deprecat|traceback|Loading weights|Writing model shards|Loading pipeline components|wandb:', re.I)

def glass_process(*args, env=None, timeout=600):
    "`glass ARGS` through the console script, in a fresh process (umask 022)."
    return subprocess.run([GLASS, *map(str, args)], capture_output=True, text=True, env=env or ENV, timeout=timeout,
                          preexec_fn=lambda: os.umask(0o022))

SUCCESS = {
    'tinyworld': ['{T}/tw', '--n', '3', '--split', 'test'],
    'pretrain-tinyworld': ['{T}/standins', '--quick'],
    'demo': ['{T}/demo', '--quick'],
    'eval': ['{ckpt}', '--data', '{coco}', '--preset', 'tinyworld', '--out', '{T}/eval'],
    'caption': ['{imgs}', '--out', '{T}/c.jsonl', '--model', 'random:blip2-mini', '--max_new_tokens', '2'],
    'guidance': ['{caps}', '{T}/gen', *STANDIN, '--limit', '3'],  # its function returns the number written, 3: still exit 0
    'train': ['{T}/run', '--n', '16', '--steps', '1', '--batch_size', '2', '--cpu', 'True', '--val_every', '0'],
    'segment': ['{ckpt}', '{imgs}', '--out', '{T}/seg'],
    'compose': ['{ckpt}', '{a}', '--steps', '1', '--out', '{T}/comp'],
}

NOT_YET = {}  # command: (why, the problems it explains) for success paths not yet clean; none left

def _refuse(c): raise ValueError(f'{c} is not standard JSON')

def nonstandard_json(folder:Path):
    "(file, problem) for each .json / .jsonl file under `folder` that holds NaN or Infinity (Python's extension) or does not parse."
    for p in sorted(folder.rglob('*.json*')):
        if p.suffix not in ('.json', '.jsonl') or '/wandb/' in p.as_posix() or not p.is_file(): continue
        try:
            if p.suffix == '.json': json.loads(p.read_text(), parse_constant=_refuse)
            else: [json.loads(l, parse_constant=_refuse) for l in p.read_text().splitlines() if l.strip()]
        except ValueError as e: yield p, e

def hygiene(r, out:Path) -> list:
    "What a success run should not do: print warnings, deprecations, tracebacks, dependency loading bars, blank lines; ignore the umask."
    problems = [f'{p} has mode {p.stat().st_mode & 0o777:o} under umask 022' for p in sorted(out.rglob('*'))
                if p.is_file() and '/wandb/' not in p.as_posix() and p.stat().st_mode & 0o044 != 0o044][:3]
    problems += [l for l in r.stderr.splitlines() if NOISE.search(l)]
    problems += [f'{p}: not standard JSON ({e})' for p, e in nonstandard_json(out)][:3]
    if '' in [l.strip() for l in r.stderr.splitlines()]: problems.append(f'a blank line in stderr: {r.stderr[-300:]!r}')
    if r.stdout.endswith('\n\n') or '\n\n\n' in r.stdout: problems.append(f'blank lines in stdout: {r.stdout[-300:]!r}')
    return problems

@pytest.mark.parametrize('cmd', list(SUCCESS))
def test_success_exit_status_and_clean_stderr(cmd, world, tmp_path):
    "Each subcommand's success path through the console script: exit 0; no warnings, deprecations, loading bars or blank lines; files as the umask says."
    assert set(SUCCESS) == set(COMMANDS)
    r = glass_process(cmd, *[fill(a, world, tmp_path, {}) for a in SUCCESS[cmd]])
    assert r.returncode == 0, r.stderr[-3000:]
    problems = hygiene(r, tmp_path)
    why, known = NOT_YET.get(cmd, ('', None))
    if problems and known and all(re.search(known, p) for p in problems): pytest.xfail(f'{cmd}: {why}: {problems[0]}')
    assert not problems, problems

def test_errors_in_a_process(world, tmp_path):
    "A real process: exit status 2, one line on stderr, no traceback; --debug and GLASS_DEBUG=1 show it, with the same status."
    data = tmp_path / 'coco'; shutil.copytree(world.get('coco'), data); first_image(data).write_bytes(b'')
    r = glass_process('eval', '--data', data, '--preset', 'tinyworld', '--out', tmp_path / 'out')
    assert r.returncode == 2, r.stderr
    check_error(r.stderr, 'eval', 'empty, corrupt')
    assert not (tmp_path / 'out').exists()
    r = glass_process('eval', '--data', data, '--preset', 'tinyworld', '--out', tmp_path / 'out', '--debug')
    assert r.returncode == 2 and 'Traceback' in r.stderr and 'InputError' in r.stderr  # the same status with --debug
    r = glass_process('nope')
    assert r.returncode == 2 and r.stderr.startswith("glass: error: unknown command 'nope'") and 'Traceback' not in r.stderr
    r = glass_process('nope', env={**ENV, 'GLASS_DEBUG': '1'})
    assert r.returncode == 2 and 'Traceback' in r.stderr and 'InputError' in r.stderr

def test_python_m_glass_train_prints_one_line(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'glass.train', str(tmp_path / 'run'), '--ema_decay', '2.0'], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == 'glass train: error: TrainConfig.ema_decay must be in [0, 1), got 2.0', r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path / 'run').exists()

INTERRUPT_AT = '''
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as on a terminal: a shell running the tests in the background starts them with SIGINT ignored
import glass.metrics
calls, update = [], glass.metrics.DiscoveryMetrics.update
def interrupted(self, *a, **k):
    calls.append(1)
    if len(calls) == 2: os.kill(os.getpid(), getattr(signal, sys.argv[1]))  # at the second batch
    return update(self, *a, **k)
glass.metrics.DiscoveryMetrics.update = interrupted
from glass.cli import main
sys.exit(main(sys.argv[2:]))
'''

@pytest.mark.parametrize('sig', ['SIGKILL', 'SIGINT', 'SIGTERM'])
def test_eval_interrupted_keeps_earlier_results(sig, world, tmp_path):
    "`glass eval` killed (or stopped by Ctrl-C) half way through writes no metrics.json and leaves an earlier result as it was."
    out = tmp_path / 'out'; shutil.copytree(world.get('good'), out); before = digest(out)
    args = ['eval', '--data', world.get('coco'), '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', '--batch_size', '1',
            '--save_masks', 'True', '--overwrite', 'True', '--out']  # other settings than the earlier result's (n_show): replace it
    r = subprocess.run([sys.executable, '-c', INTERRUPT_AT, sig, *map(str, args), str(out)], env=ENV, capture_output=True, text=True, timeout=300)
    if sig == 'SIGKILL': assert r.returncode == -signal.SIGKILL, r.stderr
    else:  # SIGTERM (kill PID, a scheduler) as Ctrl-C: one line, its own status
        what, code = ('interrupted', 130) if sig == 'SIGINT' else ('terminated (SIGTERM)', 143)
        assert r.returncode == code, r.stderr
        assert r.stderr.strip().splitlines()[-1] == f'glass eval: {what}; run the same command again to continue', r.stderr
    after = digest(out)  # on failure: which files changed, and what the command said
    assert after == before, (sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))[:10], r.returncode, r.stderr[-3000:])
    r = subprocess.run([sys.executable, '-c', INTERRUPT_AT, sig, *map(str, args), str(tmp_path / 'new')], env=ENV, capture_output=True, text=True,
                       timeout=300)
    assert not (tmp_path / 'new' / 'metrics.json').exists()                               # a new folder: no result claims to be finished

KILL_AT_BATCH = '''
import os, signal, sys
import glass.guidance as g
calls, gen = [], g.generate_with_masks
def killed(*a, **k):
    calls.append(1)
    if len(calls) == 2: os.kill(os.getpid(), signal.SIGKILL)  # in the second batch, after the first was written
    return gen(*a, **k)
g.generate_with_masks = killed
from glass.cli import main
sys.exit(main(sys.argv[1:]))
'''

def test_guidance_killed_then_resumed_is_exact(world, tmp_path, capsys):
    "`glass guidance` killed in its second batch, run again, writes what an uninterrupted run writes, file for file."
    args = ['guidance', str(world.get('caps')), None, *STANDIN, '--limit', '6']
    r = subprocess.run([sys.executable, '-c', KILL_AT_BATCH, *[a or str(tmp_path / 'killed') for a in args]], env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == -signal.SIGKILL, r.stderr[-2000:]
    assert len(list((tmp_path / 'killed' / 'records').glob('*.json'))) == 2          # the first batch, whole
    rc, out, err = glass_in_process(capsys, *[a or tmp_path / 'killed' for a in args])
    assert rc == 0 and 'wrote 4 samples' in out, err
    assert glass_in_process(capsys, *[a or tmp_path / 'whole' for a in args])[0] == 0
    assert digest(tmp_path / 'killed') == digest(tmp_path / 'whole')

# --- issue 24: two writers, the environment's faults, signals ----------------------------------------------------------

HOLD = 'import sys, time\nfrom glass.core import output_lock\nwith output_lock(sys.argv[1], sys.argv[2] or None):\n    print("held", flush=True); time.sleep(120)\n'

def _output_of(cmd, args):
    "The output (and part) the `glass` command line `cmd args` writes, as `glass.cli.main` locks it."
    from fastcore.script import anno_parser
    from glass.cli import get_command, _output
    a = vars(anno_parser(get_command(cmd)).parse_args(args))
    return _output(cmd, a)

@pytest.mark.parametrize('cmd', list(SUCCESS))
def test_second_writer_is_refused_at_once(cmd, world, tmp_path, capsys):
    "Every writing command, given an output another process is writing, is refused before any work, naming the output and the process."
    from glass.cli import WRITES
    assert set(WRITES) == set(COMMANDS)
    args = [fill(a, world, tmp_path, {}) for a in SUCCESS[cmd]]
    out, part = _output_of(cmd, args)
    holder = subprocess.Popen([sys.executable, '-c', HOLD, out, part or ''], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        before = digest(tmp_path)
        rc, _, err = glass_in_process(capsys, cmd, *args)
        assert rc == 2, err
        check_error(err, cmd, f'{out}{f" (part {part})" if part else ""} is being written by another process (PID {holder.pid}: ')
        assert digest(tmp_path) == before
    finally: holder.kill(); holder.wait()

def test_two_tinyworld_exports_then_a_killed_one(tmp_path):
    "Two real `glass tinyworld` processes into one folder: the second is refused at once; after the first is killed (kill -9) its lock does not block."
    d = tmp_path / 'D'
    p = subprocess.Popen([GLASS, 'tinyworld', str(d), '--n', '3000'], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while not any(tmp_path.glob('.D.*.glass-tmp/images/*.png')):
            assert p.poll() is None, p.stderr.read(); assert time.time() - t0 < 120; time.sleep(0.05)
        r = glass_process('tinyworld', d, '--n', '3000')
        assert r.returncode == 2, r.stderr
        check_error(r.stderr, 'tinyworld', f'{d} is being written by another process (PID {p.pid}: glass tinyworld {d} --n 3000')
    finally: p.kill(); p.wait()
    r = glass_process('tinyworld', d, '--n', '3', '--overwrite', 'True')
    assert r.returncode == 0, r.stderr
    assert os.listdir(tmp_path) == ['D'] and len(os.listdir(d / 'images')) == 3  # the killed run's work folder is gone

def test_rerun_same_settings_or_overwrite(world, tmp_path, capsys):
    "A finished eval or segment folder: the same settings run again (exit 0); other settings with --overwrite True replace it."
    out = tmp_path / 'ev'
    for extra in ([], [], ['--n_slots', '5', '--overwrite', 'True']):
        rc, _, err = glass_in_process(capsys, *[fill(a, world, tmp_path, {}) for a in GOOD_EVAL], '--out', out, *extra)
        assert rc == 0, err
    assert json.loads((out / 'metrics.json').read_text())['settings']['n_slots'] == 5
    seg = tmp_path / 'seg'
    for extra in ([], [], ['--seed', '3', '--overwrite', 'True']):
        rc, _, err = glass_in_process(capsys, 'segment', world.get('ckpt'), world.get('a'), '--out', seg, *extra)
        assert rc == 0, err
    assert json.loads((seg / 'segment.json').read_text())['settings']['seed'] == 3

# --- the environment's faults: a full disk, a read-only folder, a dangling link (issue 24) --------------------------------

def _tmp_left(folder:Path) -> list:
    "Temporary files or folders of glass under `folder`."
    return [p for p in folder.rglob('*') if 'glass-tmp' in p.name or p.name.endswith('.tmp') or '.tmp' in p.name]

def _file_size_limit(limit:int):
    "For a child process: writes past `limit` bytes fail with EFBIG (SIGXFSZ ignored, so the write raises instead of killing)."
    def pre():
        import resource
        os.umask(0o022); signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre

def check_fault(r, cmd, *fragments):
    "One line naming the fault, exit 1, no traceback."
    assert r.returncode == 1, (r.returncode, r.stderr[-3000:])
    check_error(r.stderr, cmd, fragments[0])
    for f in fragments[1:]: assert f in r.stderr.splitlines()[-1], r.stderr

FULL_DISK = {  # command line, the limit in bytes: the outputs need more, Python and the inputs need no write beyond it
    'eval': ([*GOOD_EVAL, '--out', '{T}/out', '--overwrite', 'True'], 4000),
    'tinyworld': (['tinyworld', '{T}/out', '--n', '4', '--overwrite', 'True'], 3000),
    'train': (['train', '{T}/out', '--config', '{toy.json}', '--resume', 'True', '--steps', '5'], 10000),
}

@pytest.mark.parametrize('cmd', list(FULL_DISK))
def test_full_disk(cmd, world, tmp_path):
    "A write that fails for lack of space (a file-size limit) ends the command with one line naming the output and the cause, exit 1; the earlier result stays as it was, no temporary file is left."
    argv, limit = FULL_DISK[cmd]
    earlier = {'eval': 'good', 'tinyworld': None, 'train': 'toy'}[cmd]
    if earlier: shutil.copytree(world.get(earlier), tmp_path / 'out')
    else: assert glass_process('tinyworld', tmp_path / 'out', '--n', '2', '--preview', 'False').returncode == 0
    before = digest(tmp_path / 'out')
    args = [fill(a, world, tmp_path, {}) for a in argv]
    r = subprocess.run([GLASS, *args], capture_output=True, text=True, env=ENV, timeout=600,
                       preexec_fn=_file_size_limit(limit))
    check_fault(r, cmd, 'File too large (a file-size limit')
    if cmd != 'train': assert digest(tmp_path / 'out') == before, 'the earlier result changed'
    else:  # the run's finished checkpoints and model stay; run.json says --steps 5, the log holds the steps run since (a resume rewinds it)
        after = digest(tmp_path / 'out')
        assert set(k for k in before if after.get(k) != before[k]) <= {'log.jsonl', 'run.json'}
    assert not _tmp_left(tmp_path), _tmp_left(tmp_path)

def _can_mount_read_only() -> bool:
    try: return subprocess.run(['unshare', '-m', 'sh', '-c', 'mount --bind -o ro /tmp /tmp && ! touch /tmp/.glass-ro-probe'],
                               capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError): return False

RO_MOUNT = _can_mount_read_only()

@pytest.mark.skipif(not RO_MOUNT, reason='needs `unshare -m` and `mount --bind -o ro` (root in a container that allows mount namespaces)')
@pytest.mark.parametrize('cmd', list(SUCCESS))
def test_read_only_output(cmd, world, tmp_path):
    """Every writing command whose output lies in a read-only folder says so on one line, exit 1, before any work.

    Tests run as root, whom file modes do not stop: the folder is a read-only bind mount in a mount namespace of the
    command's own (`unshare -m`), a read-only file system even for root, gone when the command ends."""
    ro = tmp_path / 'ro'; ro.mkdir(); (ro / 'mine.txt').write_text('mine')
    args = [fill(a, world, tmp_path, {}) for a in SUCCESS[cmd]]
    out, _ = _output_of(cmd, args)
    args = [a.replace(out, str(ro / 'sub' / Path(out).name)) if a == out else a for a in args]  # under a read-only parent
    r = subprocess.run(['unshare', '-m', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', str(ro), GLASS, cmd, *args],
                       capture_output=True, text=True, env=ENV, timeout=600)
    check_fault(r, cmd, f'{ro}: cannot write here: Read-only file system')
    assert os.listdir(ro) == ['mine.txt']

@pytest.mark.parametrize('cmd', ['eval', 'tinyworld', 'segment', 'train'])
def test_dangling_symlink_output(cmd, world, tmp_path, capsys):
    "An output that is a symlink to a missing folder: one line naming it, exit 1, before any work; the link stays as it was."
    args = [fill(a, world, tmp_path, {}) for a in SUCCESS[cmd]]
    out, _ = _output_of(cmd, args)
    os.symlink(tmp_path / 'gone', out)
    rc, _, err = glass_in_process(capsys, cmd, *args)
    assert rc == 1, err
    check_error(err, cmd, f'{out}: a symlink to a missing target')
    assert os.readlink(out) == str(tmp_path / 'gone') and not (tmp_path / 'gone').exists()

def test_symlinked_output_stays_a_symlink(tmp_path):
    "`glass tinyworld link --overwrite True`, `link` a symlink to an export: the export it points to is replaced, the link stays."
    real = tmp_path / 'real'
    assert glass_process('tinyworld', real, '--n', '2', '--size', '32').returncode == 0
    os.symlink(real, tmp_path / 'link')
    r = glass_process('tinyworld', tmp_path / 'link', '--n', '3', '--size', '48', '--overwrite', 'True')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / 'link').is_symlink() and os.readlink(tmp_path / 'link') == str(real)
    assert len(os.listdir(real / 'images')) == 3 and sorted(os.listdir(tmp_path)) == ['link', 'real']

def test_debug_keeps_the_exit_status(world, tmp_path):
    "An environment fault exits 1 and an input error 2, with or without --debug (which adds the traceback)."
    os.symlink(tmp_path / 'gone', tmp_path / 'link')
    for extra, env in (([], ENV), (['--debug'], ENV), ([], {**ENV, 'GLASS_DEBUG': '1'})):
        r = glass_process('tinyworld', tmp_path / 'link', '--n', '2', *extra, env=env)
        assert r.returncode == 1 and ('Traceback' in r.stderr) == (extra != [] or env is not ENV), r.stderr
        r = glass_process('tinyworld', tmp_path / 'new', '--n', '0', *extra, env=env)
        assert r.returncode == 2 and ('Traceback' in r.stderr) == (extra != [] or env is not ENV), r.stderr

INTERRUPT_TRAIN = '''
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import glass.train
calls, write = [], glass.train.write_checkpoint
def interrupted(*a, **k):
    r = write(*a, **k); calls.append(1)
    if len(calls) == 2: os.kill(os.getpid(), getattr(signal, sys.argv[1]))  # after the second checkpoint
    return r
glass.train.write_checkpoint = interrupted
from glass.cli import main
sys.exit(main(sys.argv[2:]))
'''

@pytest.mark.parametrize('sig', ['SIGINT', 'SIGTERM'])
def test_train_interrupted_advice_works(sig, tmp_path):
    "`glass train` stopped by Ctrl-C or SIGTERM says which command continues it (with --resume True), and that command does."
    import shlex
    from glass.train import latest_checkpoint
    toy_config(steps=6, keep_last=2).save(tmp_path / 'toy.json')
    r = subprocess.run([sys.executable, '-c', INTERRUPT_TRAIN, sig, 'train', str(tmp_path / 'run'), '--config', str(tmp_path / 'toy.json')],
                       env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == (130 if sig == 'SIGINT' else 143), r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('glass train: ' + ('interrupted' if sig == 'SIGINT' else 'terminated (SIGTERM)') + '; to continue, run: glass train '), last
    advice = shlex.split(last.split('to continue, run: ', 1)[1])
    assert advice[-2:] == ['--resume', 'True']
    r = glass_process(*advice[1:])
    assert r.returncode == 0, r.stderr[-3000:]
    assert latest_checkpoint(tmp_path / 'run').name == 'ckpt-000006'

def test_resume_refusal_says_nothing_first(tmp_path, capsys):
    "`glass train --resume True` on a folder that is not a run: the refusal is the only line (no 'starting from step 0' before it)."
    (tmp_path / 'mine').mkdir(); (tmp_path / 'mine' / 'notes.txt').write_text('mine')
    rc, _, err = glass_in_process(capsys, 'train', tmp_path / 'mine', '--resume', 'True', '--n', '16', '--steps', '1')
    assert rc == 2 and len(err.strip().splitlines()) == 1, err

def test_short_polygon_is_said(world, tmp_path, capsys):
    "A polygon of 2 points scores as an empty mask (as COCO's tools do), and `glass eval` says so."
    d = tmp_path / 'coco'; shutil.copytree(world.get('coco'), d)
    a = d / 'annotations' / 'instances.json'; j = json.loads(a.read_text())
    _first_ann(j)['segmentation'] = [[1, 1, 5, 5]]; a.write_text(json.dumps(j))
    rc, _, err = glass_in_process(capsys, 'eval', '--data', d, *[fill(x, None, tmp_path, {}) for x in EVAL])
    assert rc == 0, err
    assert 'glass eval: note: 1 annotation(s) of' in err and 'fewer than 3 points, scored as empty masks' in err, err
    assert json.loads((tmp_path / 'out' / 'metrics.json').read_text())['dataset_check']['short_polygons'] == 1
