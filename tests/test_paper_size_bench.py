"""`bench/paper_size.py`: its GPU mode (every step in one process, the batch halved until it fits, MFU against a peak)
run on the CPU at reduced width, its time limit, and its FLOP counts against the counts worked out by hand for
DINOv2 (the committed full-size results included)."""
import json, sys, importlib.util
from pathlib import Path
import pytest, torch
from glass.reproduce import run_measured

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench' / 'paper_size.py'
ENV = {'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}

def bench_module():
    spec = importlib.util.spec_from_file_location('paper_size', BENCH)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)  # call_parse runs nothing on import
    return m

def dinov2_flops(d, layers, n_patches, patch=14, mlp_ratio=4):
    "FLOPs (2 per multiply-add) of a DINOv2 forward by hand: patch embedding, then per layer QKV, output, MLP and attention."
    n = n_patches + 1  # the class token
    macs = n_patches * 3 * patch * patch * d + layers * (4 * n * d * d + 2 * n * d * mlp_ratio * d + 2 * n * n * d)
    return 2 * macs

def test_gpu_mode_on_cpu(tmp_path):
    "The GPU mode's code path (one process, MFU) at reduced width on the CPU, batch 2."
    out = tmp_path / 'ps.json'
    r = run_measured([sys.executable, str(BENCH), '--size', 'mini', '--only', 'stage1,eval,encode', '--isolate', 'False', '--batch', '2',
                      '--reps', '1', '--peak_tflops', '1', '--out', str(out)], env=ENV, timeout=900)
    assert r['rc'] == 0, r['err'][-3000:]
    res = json.loads(out.read_text())
    s = res['steps']
    for k in ('stage1', 'eval', 'encode'):
        assert s[k]['batch'] == 2 and s[k]['flops'] > 0 and s[k]['mfu'] == pytest.approx(s[k]['flops'] / s[k]['seconds_median'] / 1e12)
    assert s['stage1']['trained'] < s['stage1']['parameters'] and s['eval']['trained'] == 0
    assert s['encode']['parts']['dinov2']['flops'] == 2 * dinov2_flops(48, 12, 32 * 32)  # batch 2 of random:dinov2-mini at 448
    p = res['projections']['COCO eval']
    assert p['samples'] == 5000 and p['gpu_hours'] == pytest.approx(s['eval']['flops'] / 2 * 5000 / (0.4 * 989e12) / 3600, rel=1e-2)
    assert '\n| step | batch |' in out.with_suffix('.md').read_text()

def test_batch_halves_until_it_fits(monkeypatch):
    m = bench_module()
    tried = []
    def fake(step, size, device, dtype, batch, *a):
        tried.append(batch)
        if batch > 4: raise torch.OutOfMemoryError('CUDA out of memory')
        return dict(flops=1e12 * batch, seconds_median=0.5, batch=batch)
    monkeypatch.setattr(m, 'run_step', fake)
    r = m.in_process('stage1', 'full', 'cuda', 'bf16', 16, 3, 60, 10, peak=989e12)
    assert tried == [16, 8, 4] and r['batch'] == 4 and r['mfu'] == pytest.approx(4e12 / 0.5 / 989e12)
    def bug(*a): raise ValueError('a bug, not memory')
    monkeypatch.setattr(m, 'run_step', bug)
    with pytest.raises(ValueError): m.in_process('stage1', 'full', 'cuda', 'bf16', 16, 3, 60, 10, peak=None)

def test_time_limit(tmp_path):
    "Steps that would start after the time limit are skipped, and the results are still written."
    out = tmp_path / 'ps.json'
    r = run_measured([sys.executable, str(BENCH), '--size', 'mini', '--only', 'eval,encode', '--time_limit', '5', '--out', str(out)], env=ENV, timeout=300)
    assert r['rc'] == 0, r['err'][-3000:]
    assert json.loads(out.read_text())['steps'] == {'eval': {'skipped': 'time limit'}, 'encode': {'skipped': 'time limit'}}

def test_committed_full_size_results():
    "The committed CPU results: the paper-size architectures, their DINOv2 FLOPs as counted by hand, the stated projection rule."
    res = json.loads((ROOT / 'bench' / 'results' / 'paper_size.json').read_text())
    s = res['steps']
    assert res['size'] == 'full' and res['mfu_assumed'] == 0.4 and res['peak_flops_assumed'] == 989e12
    assert s['encode']['parts']['dinov2']['parameters'] == 86_580_480 and s['encode']['parts']['dinov2']['flops'] == dinov2_flops(768, 12, 32 * 32)
    assert s['stage2_xattn']['trained'] == 50_352_320 and s['guidance']['recipe_unet_calls'] == 101
    for name, p in res['projections'].items():
        assert p['hours_on_8_gpus'] == pytest.approx(p['flops'] / (0.4 * 989e12) / 3600 / 8, rel=1e-2), name
