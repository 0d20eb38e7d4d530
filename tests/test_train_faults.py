"""`glass train` fails safely: each bad input or fault exits non-zero with one line naming it, before any work, and leaves
the files that were there as they were (issue 14, the training cases). Most cases run `glass.cli.main` in this process
(the exit status and stderr of the `glass` command); one runs `python -m glass.train` in a subprocess."""
import json, os, subprocess, sys
from dataclasses import replace
from pathlib import Path
import pytest
from glass.cli import main
from glass.train import RunConfig, DataConfig, TrainConfig, run_preset, list_checkpoints, latest_checkpoint

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'disabled'}

def toy(**train) -> RunConfig:
    "A run of the toy model on 16 tiny-world scenes: seconds on a CPU."
    t = dict(steps=3, batch_size=4, lr=3e-2, warmup_steps=1, ckpt_every=1, keep_last=1, log_every=1, wandb='disabled', cpu=True, threads=1)
    return RunConfig(model=dict(n_slots=3), builder='glass.train:ToyModel', data=DataConfig(n=16, size=32, image_size=16, val_source=None),
                     train=TrainConfig(**{**t, **train}))

def write_config(path:Path, d:dict) -> Path: path.write_text(json.dumps(d)); return path

def snapshot(d:Path) -> dict:
    "Every file below `d` (or `d` itself) with its bytes."
    d = Path(d)
    if d.is_file(): return {d: d.read_bytes()}
    return {p: p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()} if d.exists() else {}

def glass_train(capsys, *args) -> tuple:
    "Run `glass train ARGS` in this process: (exit status, stdout, stderr)."
    rc = main(['train', *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err

def fails(capsys, fragment:str, *args, keep=()):
    "`glass train ARGS` exits 2 with one line containing `fragment`, and the files below `keep` are unchanged."
    before = {k: snapshot(k) for k in keep}
    rc, out, err = glass_train(capsys, *args)
    assert rc == 2, (rc, out, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert lines and lines[-1].startswith('glass train: error: ') and fragment in lines[-1], err
    assert 'Traceback' not in err, err
    for k in keep: assert snapshot(k) == before[k], f'{k} changed'
    return lines[-1]

# --- config values, checked before any work -------------------------------------------------------------------

@pytest.mark.parametrize('edit, fragment', [
    (lambda d: d['model'].update(slots=3), "unknown field(s) ['slots']"),
    (lambda d: d['model'].update(num_slots=0), 'GlassConfig.num_slots must be >= 1, got 0'),
    (lambda d: d['train'].update(steps=2.5), 'TrainConfig.steps must be an integer, got 2.5'),
    (lambda d: d['train'].update(lr='1e-4'), "TrainConfig.lr must be a finite number, got '1e-4'"),
    (lambda d: d['train'].update(lr=-1e-4), 'TrainConfig.lr must be > 0, got -0.0001'),
    (lambda d: d['train'].update(ema_decay=2.0), 'TrainConfig.ema_decay must be in [0, 1), got 2.0'),
    (lambda d: d['data'].update(n=0), 'DataConfig.n must be >= 1, got 0'),
    (lambda d: d['data'].update(sorce='coco'), "unknown field(s) ['sorce'] in data"),
    (lambda d: d['model'].update(stage=2, train_unet='full'), 'model.stage=2 fine-tunes a trained stage-1 model: set init_from'),
    (lambda d: d['data'].update(image_size=64), 'data.image_size=64 but model.image_size=32'),
])
def test_bad_config_value(tmp_path, capsys, edit, fragment):
    from glass.train import tiny_run
    d = tiny_run(n=16, steps=2, wandb='disabled', cpu=True).to_dict()
    edit(d)
    cfg = write_config(tmp_path / 'bad.json', d)
    fails(capsys, fragment, tmp_path / 'run', '--config', cfg, keep=[cfg])
    assert not (tmp_path / 'run').exists()  # no run folder, no run.json for the next run to reuse

@pytest.mark.parametrize('args, fragment', [
    (['--n', '0'], 'DataConfig.n must be >= 1, got 0'),
    (['--ema_decay', '2.0'], 'TrainConfig.ema_decay must be in [0, 1), got 2.0'),
    (['--lr=-0.0001'], 'TrainConfig.lr must be > 0'),
    (['--steps', '0'], 'TrainConfig.steps must be >= 1, got 0'),
    (['--mixed_precision', 'fp8'], 'TrainConfig.mixed_precision must be one of'),
    (['--preset', 'nope'], "unknown preset 'nope'"),
    (['--preset', 'glass-coco', '--config', 'x.json'], '--preset glass-coco and --config both give a whole run config'),
    (['--stage', '2', '--preset', 'dinosaur-coco', '--init_from', 'x'], 'no stage 2'),
])
def test_bad_flag(tmp_path, capsys, args, fragment):
    fails(capsys, fragment, tmp_path / 'run', *args)
    assert not (tmp_path / 'run').exists()

def test_run_folder_is_a_file(tmp_path, capsys):
    f = tmp_path / 'notes.txt'; f.write_text('my notes')
    fails(capsys, f'the run folder {f} is a file', f, '--steps', '2', keep=[f])

def test_out_dir_required(capsys):
    fails(capsys, 'OUT_DIR (the run folder) is required', '--steps', '2')

def test_broken_run_json_in_the_folder(tmp_path, capsys):
    (tmp_path / 'run').mkdir(); (tmp_path / 'run' / 'run.json').write_text('{"train": {"steps": 2.5}}')
    fails(capsys, 'run.json: TrainConfig.steps must be an integer, got 2.5', tmp_path / 'run', keep=[tmp_path / 'run'])

def test_preset_data_folder_missing(tmp_path, capsys):
    fails(capsys, f'data.root={tmp_path}/gen: {tmp_path}/gen/manifest.json not found', tmp_path / 'run', '--preset', 'glass-coco',
          '--data_root', tmp_path / 'gen')

# --- stage 2 ----------------------------------------------------------------------------------------------------

def test_stage2_init_from_problems(tmp_path, capsys):
    fails(capsys, f'init_from={tmp_path}/nothing: no such folder', tmp_path / 's2', '--stage', '2', '--init_from', tmp_path / 'nothing')
    (tmp_path / 'half').mkdir(); (tmp_path / 'half' / 'ckpt-000003').mkdir()
    fails(capsys, "its run has not finished", tmp_path / 's2', '--stage', '2', '--init_from', tmp_path / 'half')
    assert glass_train(capsys, tmp_path / 's1', '--n', '16', '--steps', '1', '--batch_size', '2', '--cpu', 'True', '--wandb', 'disabled',
                       '--val_every', '0')[0] == 0
    cfg = RunConfig.load(tmp_path / 's1' / 'run.json')
    cfg = write_config(tmp_path / 's2.json', replace(cfg, model={**cfg.model, 'num_slots': 5}).to_dict())
    fails(capsys, 'model.num_slots is 5 but', tmp_path / 's2', '--config', cfg, '--stage', '2', '--init_from', tmp_path / 's1',
          keep=[tmp_path / 's1'])
    assert not (tmp_path / 's2').exists()

# --- resume -----------------------------------------------------------------------------------------------------

@pytest.fixture
def finished(tmp_path, capsys):
    "A finished toy run of 3 steps (its checkpoints 2 and 3) and its config file."
    cfg = tmp_path / 'toy.json'; toy(keep_last=2).save(cfg)
    rc, _, err = glass_train(capsys, tmp_path / 'run', '--config', cfg)
    assert rc == 0, err
    return tmp_path / 'run', cfg

def test_checkpoints_without_resume(finished, capsys):
    run, cfg = finished
    fails(capsys, 'already holds checkpoints; pass --resume True', run, '--config', cfg, '--steps', '5', keep=[run])

def test_refused_resume_changes_nothing(finished, capsys, tmp_path):
    run, _ = finished
    other = tmp_path / 'other.json'; replace(toy(keep_last=1, steps=6), model=dict(n_slots=5)).save(other)
    fails(capsys, "differs in 'model' (n_slots: 3 in the checkpoint, 5 now)", run, '--resume', 'True', '--config', other, keep=[run])
    assert [p.name for p in list_checkpoints(run)] == ['ckpt-000002', 'ckpt-000003']

def test_corrupt_newest_checkpoint_falls_back(finished, capsys):
    run, _ = finished
    (run / 'ckpt-000003' / 'trainable.pt').write_bytes(b'\0' * 64)
    rc, out, err = glass_train(capsys, run, '--resume', 'True', '--steps', '4')
    assert rc == 0, err
    assert f'glass train: warning: checkpoint {run}/ckpt-000003 is unreadable (trainable.pt: ' in err, err
    assert f'resuming from {run}/ckpt-000002 instead' in err and 'kept as ckpt-000003.corrupt' in err
    assert latest_checkpoint(run).name == 'ckpt-000004' and (run / 'ckpt-000003.corrupt').is_dir()
    assert json.loads((run / 'ckpt-000004' / 'state.json').read_text())['step'] == 4

def test_every_checkpoint_unreadable(finished, capsys):
    run, _ = finished
    for ck in list_checkpoints(run): (ck / 'optimizer.pt').write_bytes(b'')
    fails(capsys, 'no readable checkpoint in', run, '--resume', 'True', '--steps', '4', keep=[run])

# --- data -------------------------------------------------------------------------------------------------------

def _coco_with_truncated_image(root:Path) -> Path:
    from glass.tinyworld import export_coco, split_seeds
    export_coco(root, split_seeds('train', 6))
    img = sorted((root / 'images').iterdir())[3]
    img.write_bytes(img.read_bytes()[:len(img.read_bytes()) // 3])
    return img

def _coco_run(root:Path, **train) -> RunConfig:
    return replace(toy(**train), data=DataConfig(source='coco', root=str(root), n=None, size=None, crop=64, image_size=16, val_source=None))

@pytest.mark.skipif(not hasattr(__import__('glass.data', fromlist=['CocoSegmentation']).CocoSegmentation, 'check'),
                    reason='glass.data.CocoSegmentation.check() (the data engineer adds it) is not there yet')
def test_truncated_coco_image_fails_before_training(tmp_path, capsys):
    img = _coco_with_truncated_image(tmp_path / 'coco')
    cfg = tmp_path / 'coco.json'; _coco_run(tmp_path / 'coco').save(cfg)
    fails(capsys, img.name, tmp_path / 'run', '--config', cfg, keep=[tmp_path / 'coco'])
    assert not list_checkpoints(tmp_path / 'run') and not (tmp_path / 'run' / 'run.json').exists()

def test_check_data_calls_the_dataset_check(tmp_path, monkeypatch, capsys):
    "The check runs before training and its error stops the run before anything is written (a stand-in `check()` here)."
    from glass.data import CocoSegmentation
    from glass.core import InputError
    from glass.tinyworld import export_coco, split_seeds
    export_coco(tmp_path / 'coco', split_seeds('train', 6))
    calls = []
    def check(self):
        calls.append(1); raise InputError(f'{self.root}: an image is truncated')
    monkeypatch.setattr(CocoSegmentation, 'check', check, raising=False)
    cfg = tmp_path / 'coco.json'; _coco_run(tmp_path / 'coco').save(cfg)
    fails(capsys, 'an image is truncated', tmp_path / 'run', '--config', cfg)
    assert calls == [1] and not (tmp_path / 'run').exists()
    monkeypatch.setattr(CocoSegmentation, 'check', lambda self: calls.append(2), raising=False)
    assert glass_train(capsys, tmp_path / 'ok', '--config', cfg, '--steps', '1')[0] == 0 and calls == [1, 2]
    rc, _, err = glass_train(capsys, tmp_path / 'trusted', '--config', cfg, '--steps', '1', '--check_data', 'False')
    assert rc == 0 and calls == [1, 2], err

# --- the command's other faces -------------------------------------------------------------------------------------

def test_print_config_round_trip(tmp_path, capsys):
    rc, out, err = glass_train(capsys, '--preset', 'glass-coco', '--print_config')
    assert rc == 0, err
    cfg = tmp_path / 'coco.json'; cfg.write_text(out)
    assert RunConfig.load(cfg) == run_preset('glass-coco')

def test_python_m_glass_train_prints_one_line(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'glass.train', str(tmp_path / 'run'), '--ema_decay', '2.0'], env=ENV,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == 'glass train: error: TrainConfig.ema_decay must be in [0, 1), got 2.0', r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path / 'run').exists()
