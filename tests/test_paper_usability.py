"""What running the paper's pipeline at scale needs from the commands, checked at reduced width (the `glass-coco` preset's
model on `random:dinov2-mini` and `random:sd21-mini`, `glass.reproduce.RANDOM_SIZES['mini']`):

* `glass eval` (object discovery) and `glass segment` never load the diffusion decoder; `glass compose` does
  (`bench/eval_memory.py` measures what that saves at full size);
* `--device` and `--dtype` of eval, segment and compose reach the model and are recorded;
* `glass caption` under a launcher: one process per device, each with its share of the batches, writes the
  single-process file; a shard run alone leaves its batches for the next run, which finishes the file.
"""
import os, sys, json, shutil, socket, subprocess, time
from pathlib import Path
import pytest, torch
from glass.cli import main
from glass.reproduce import coco_sample

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}
GLASS = shutil.which('glass') or str(Path(sys.executable).parent / 'glass')
CAPTION = ['--model', 'random:blip2-mini', '--max_new_tokens', '3', '--batch_size', '1', '--device', 'cpu']

@pytest.fixture(scope='module')
def world(tmp_path_factory):
    "A saved stage-1 checkpoint of the glass-coco model at reduced width, and 2 COCO-format images."
    from glass.train import run_preset
    from glass.reproduce import RANDOM_SIZES
    from glass.model import GlassConfig, build_model
    d = tmp_path_factory.mktemp('usability')
    build_model(GlassConfig.from_dict({**run_preset('glass-coco').model, **RANDOM_SIZES['mini']})).save_pretrained(d / 'ckpt')
    coco_sample(d / 'coco', 'val2017', n=2)
    return d

EVAL = ['--images', 'val2017', '--ann', 'annotations/instances_val2017.json', '--preset', 'glass-coco', '--batch_size', '1']

def test_masks_need_no_decoder(world, tmp_path, monkeypatch, capsys):
    "Discovery and segment run with every way of loading the diffusion decoder broken; compose reaches it."
    import glass.model, glass.decoder
    def refuse(*a, **kw): raise AssertionError('the diffusion decoder was loaded')
    monkeypatch.setattr(glass.model, '_load_decoder', refuse)
    monkeypatch.setattr(glass.model, 'build_decoder', refuse)
    monkeypatch.setattr(glass.decoder.SlotDiffusionDecoder, 'from_pretrained', refuse)
    assert main(['eval', str(world / 'ckpt'), '--data', str(world / 'coco'), *EVAL, '--device', 'cpu', '--out', str(tmp_path / 'eval')]) == 0
    m = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
    assert (m['n_images'], m['device'], m['dtype'], m['protocol']['num_slots']) == (2, 'cpu', 'float32', 7)
    assert main(['segment', str(world / 'ckpt'), str(world / 'coco' / 'val2017'), '--out', str(tmp_path / 'seg'), '--device', 'cpu']) == 0
    assert len(list((tmp_path / 'seg').glob('*_masks.png'))) == 2
    img = sorted((world / 'coco' / 'val2017').iterdir())[0]
    with pytest.raises(AssertionError, match='decoder was loaded'): main(['compose', str(world / 'ckpt'), str(img), '--steps', '1', '--out', str(tmp_path / 'c')])

def test_bf16_masks_match(world, tmp_path, capsys):
    "The same evaluation in bf16 gives close masks: the scores of 2 images within a few points."
    for dt in ('fp32', 'bf16'):
        assert main(['eval', str(world / 'ckpt'), '--data', str(world / 'coco'), *EVAL, '--device', 'cpu', '--dtype', dt, '--out', str(tmp_path / dt)]) == 0
    a, b = (json.loads((tmp_path / dt / 'metrics.json').read_text()) for dt in ('fp32', 'bf16'))
    assert b['dtype'] == 'bfloat16' and abs(a['mbo_i'] - b['mbo_i']) < 0.1, (a['mbo_i'], b['mbo_i'])

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_caption_one_process_per_device(world, tmp_path):
    "`accelerate launch` with 2 CPU processes: each captions its share; the file equals one process's; a lone shard resumes."
    imgs = tmp_path / 'imgs'; imgs.mkdir()
    src = sorted((world / 'coco' / 'val2017').iterdir())
    for k in range(5): shutil.copy(src[k % 2], imgs / f'{k}.jpg')
    run = lambda *args: subprocess.run([*args], env=ENV, capture_output=True, text=True, timeout=600)
    one = run(GLASS, 'caption', str(imgs), '--out', str(tmp_path / 'one.jsonl'), *CAPTION)
    assert one.returncode == 0, one.stderr[-3000:]
    t0 = time.time()
    two = run('accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
              '--dynamo_backend', 'no', '--main_process_port', str(_free_port()), GLASS, 'caption', str(imgs), '--out', str(tmp_path / 'two.jsonl'), *CAPTION)
    assert two.returncode == 0, two.stderr[-4000:]
    print(f'2-process caption (accelerate launch, 2 CPU processes, 5 images): {time.time() - t0:.1f} s')
    assert 'shard 0/2' in two.stdout and 'shard 1/2' in two.stdout, two.stdout
    assert (tmp_path / 'two.jsonl').read_text() == (tmp_path / 'one.jsonl').read_text()
    assert [json.loads(l)['image'] for l in (tmp_path / 'one.jsonl').read_text().splitlines()] == [f'{k}.jpg' for k in range(5)]
    assert not list(tmp_path.glob('.*.parts*'))  # the finished batches are removed with the file written
    part = run(GLASS, 'caption', str(imgs), '--out', str(tmp_path / 'three.jsonl'), '--shard', '1/2', *CAPTION)
    assert part.returncode == 0 and 'is written when every shard is done' in part.stdout and not (tmp_path / 'three.jsonl').exists(), part
    rest = run(GLASS, 'caption', str(imgs), '--out', str(tmp_path / 'three.jsonl'), *CAPTION)
    assert rest.returncode == 0 and 'captioned 3 images' in rest.stdout, rest   # batches 0, 2, 4: shard 1 did 1 and 3
    assert (tmp_path / 'three.jsonl').read_text() == (tmp_path / 'one.jsonl').read_text()
