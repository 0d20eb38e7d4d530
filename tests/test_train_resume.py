"""A training run killed with SIGKILL and resumed ends with exactly the weights of an uninterrupted run (CPU, subprocesses)."""
import os, sys, signal, subprocess, time
import torch
from glass.train import tiny_run, train, latest_checkpoint, list_checkpoints

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'disabled'}
STEPS = 20

def _glass_train(out, cfg, *extra): return [sys.executable, '-m', 'glass.train', str(out), '--config', str(cfg), *extra]

def _run(cmd):
    r = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]

def _kill_after_first_checkpoint(cmd, out, timeout=120):
    "Start `cmd`, SIGKILL it as soon as a checkpoint appears in `out`; return the newest checkpoint then."
    p, t0 = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), time.time()
    try:
        while latest_checkpoint(out) is None:
            assert p.poll() is None, f'the run ended (rc {p.returncode}) before its first checkpoint'
            assert time.time() - t0 < timeout, 'no checkpoint appeared'
            time.sleep(0.01)
        os.kill(p.pid, signal.SIGKILL)
    finally: p.wait()
    return latest_checkpoint(out)

def _load(ckpt, name): return torch.load(ckpt / name, map_location='cpu', weights_only=False)

def test_sigkill_then_resume_matches_uninterrupted(tmp_path):
    run = tiny_run(n=64, steps=STEPS, batch_size=4, warmup_steps=3, ckpt_every=5, keep_last=2, log_every=5, val_every=0,
                   ema_decay=0.9, wandb='disabled', cpu=True, threads=1)
    cfg = tmp_path / 'run.json'; run.save(cfg)
    train(run, tmp_path / 'ref')  # the uninterrupted run, in this process
    killed = _kill_after_first_checkpoint(_glass_train(tmp_path / 'killed', cfg), tmp_path / 'killed')
    assert int(killed.name.split('-')[1]) < STEPS, 'the run finished before it was killed: nothing was tested'
    at_kill = _load(killed, 'trainable.pt')
    _run(_glass_train(tmp_path / 'killed', cfg, '--resume', 'True'))
    a, b = latest_checkpoint(tmp_path / 'ref'), latest_checkpoint(tmp_path / 'killed')
    assert a.name == b.name == f'ckpt-{STEPS:06d}'
    wa, wb = _load(a, 'trainable.pt'), _load(b, 'trainable.pt')
    assert wa.keys() == wb.keys() and len(wa) > 0
    for k in wa: assert torch.equal(wa[k], wb[k]), k
    assert any(not torch.equal(wa[k], at_kill[k]) for k in wa), 'training after the kill changed nothing'
    for x, y in zip(_load(a, 'ema.pt')['shadow'], _load(b, 'ema.pt')['shadow']): assert torch.equal(x, y)
    assert not list(tmp_path.glob('*/ckpt-*.tmp')) and not list(tmp_path.glob('*/.ckpt-*.glass-tmp'))
    assert len(list_checkpoints(tmp_path / 'killed')) == 2
