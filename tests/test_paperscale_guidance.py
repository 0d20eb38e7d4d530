"""`glass guidance` and `glass caption` at scale: input errors (one line, exit 2, outputs untouched), one process per
device under a launcher (2 CPU processes write the single-process dataset), and the full-size SD 2.1 generation.

The full-size test (`random:sd21`, 512 px, the `sd` recipe's capture, 2 steps) runs only with GLASS_SLOW=1; CI runs the
same command with `random:sd21-mini` (same classes and structure, reduced width)."""
import os, sys, json, time, socket, shutil, subprocess, resource
from pathlib import Path
import pytest, torch
from glass.cli import main
from glass.guidance import write_jsonl, sample_files

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'disabled', 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}
GLASS = shutil.which('glass') or str(Path(sys.executable).parent / 'glass')
CAPS = ['a circle and a square', 'a red triangle', 'two diamonds', 'a blue square', 'a circle', 'a triangle and a diamond', 'a square', 'a diamond']
STANDIN = ['--model', 'tinyworld:stable-diffusion', '--vocab', 'tinyworld', '--recipe', 'standin', '--steps', '2', '--batch_size', '2']

def tree(d): return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob('*')) if p.is_file()}

def run_main(args, capsys):
    "Run `glass ARGS` in this process; return (exit status, stderr)."
    rc = main(args)
    return rc, capsys.readouterr().err

@pytest.fixture
def caps(tmp_path):
    p = tmp_path / 'caps.jsonl'; write_jsonl(p, [dict(caption=c) for c in CAPS]); return p

def test_guidance_input_errors(tmp_path, caps, capsys):
    out = tmp_path / 'out'
    rc, err = run_main(['guidance', str(caps), str(out), *STANDIN, '--limit', '2'], capsys)
    assert rc == 0 and len(list(out.glob('records/*.json'))) == 2
    before = tree(out)
    bad = tmp_path / 'bad.jsonl'; bad.write_text('{"caption": "a circle"}\n\n{"caption": "a square"\n')
    cases = [(['guidance', str(tmp_path / 'none.jsonl'), str(out), *STANDIN], 'none.jsonl not found'),
             (['guidance', str(bad), str(out), *STANDIN], 'bad.jsonl:3: not a JSON line'),
             (['guidance', str(caps), str(out), *STANDIN, '--shard', '2/2'], "'i/n'"),
             (['guidance', str(caps), str(out), *STANDIN, '--model', str(tmp_path / 'no-model')], 'no such folder'),
             (['guidance', str(caps), str(out), *STANDIN, '--model', 'random:sd9'], 'no such architecture'),
             (['guidance', str(caps), str(out), *STANDIN, '--limit', '2', '--seed', '3'], 'other settings (seed)'),
             (['guidance', str(caps), str(out), *STANDIN, '--limit', '2', '--steps', '3'], 'other settings (num_inference_steps)'),
             (['guidance', str(caps), str(out), *STANDIN, '--recipe', 'dalle'], 'unknown mask recipe'),
             (['guidance', str(caps), str(out), *STANDIN, '--vocab', 'shapes'], 'unknown vocabulary')]
    for args, msg in cases:
        rc, err = run_main(args, capsys)
        lines = [l for l in err.splitlines() if l.strip()]
        assert rc == 2 and len(lines) == 1 and msg in lines[0] and lines[0].startswith('glass guidance: error:'), (args, err)
        assert tree(out) == before, args  # nothing written, nothing removed
    assert not (tmp_path / 'none').exists()

def test_caption_input_errors(tmp_path, capsys):
    from PIL import Image
    (tmp_path / 'imgs').mkdir(); Image.new('RGB', (40, 30), (200, 10, 10)).save(tmp_path / 'imgs' / 'a.png')
    out = tmp_path / 'caps.jsonl'; out.write_text('{"image": "old.png", "caption": "kept"}\n')
    for args, msg in [(['caption', str(tmp_path / 'nope'), '--out', str(out)], 'does not exist'),
                      (['caption', str(tmp_path / 'imgs'), '--out', str(out), '--model', str(tmp_path / 'no-blip')], 'no such folder'),
                      (['caption', str(tmp_path / 'imgs'), '--out', str(out), '--model', 'random:blip9'], 'no such architecture'),
                      (['caption', str(tmp_path), '--out', str(tmp_path / 'imgs'), '--model', 'random:blip2-mini'], 'is a folder')]:
        rc, err = run_main(args, capsys)
        lines = [l for l in err.splitlines() if l.strip()]
        assert rc == 2 and len(lines) == 1 and msg in lines[0] and lines[0].startswith('glass caption: error:'), (args, err)
        assert out.read_text() == '{"image": "old.png", "caption": "kept"}\n'
    rc, _ = run_main(['caption', str(tmp_path / 'imgs'), '--out', str(out), '--model', 'random:blip2-mini', '--max_new_tokens', '3'], capsys)
    assert rc == 0 and [json.loads(l)['image'] for l in out.read_text().splitlines()] == ['a.png']

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_two_processes_write_the_single_process_dataset(tmp_path, caps):
    "`accelerate launch` with 2 CPU processes (gloo backend, no GPU): each takes its shard from its rank."
    one = subprocess.run([GLASS, 'guidance', str(caps), str(tmp_path / 'one'), *STANDIN], env=ENV, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    launch = lambda: ['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                      '--dynamo_backend', 'no', '--main_process_port', str(_free_port()), GLASS, 'guidance', str(caps), str(tmp_path / 'two'), *STANDIN]
    t0 = time.time()
    r = subprocess.run(launch(), env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    print(f'2-process guidance (accelerate launch, 2 CPU processes, {len(CAPS)} samples): {time.time() - t0:.1f} s')
    assert 'shard 0/2' in r.stdout and 'shard 1/2' in r.stdout, r.stdout  # both processes wrote their half
    a, b = tree(tmp_path / 'one'), tree(tmp_path / 'two')
    assert len(a) == 1 + 3 * len(CAPS) and a == b
    # resumable as before: a lost record makes the same launch write its batch again, byte for byte
    (tmp_path / 'two' / sample_files(5)['record']).unlink()
    r = subprocess.run(launch(), env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    assert tree(tmp_path / 'two') == a and 'wrote 2 samples' in r.stdout and 'wrote 0 samples' in r.stdout

def _guidance_at(tmp_path, model, size=512):
    "One `glass guidance` generation with the `sd` recipe's capture, 2 denoising steps; return (seconds, peak RSS MiB, record)."
    caps = tmp_path / 'one.jsonl'; write_jsonl(caps, [dict(caption='a dog chasing a ball on the grass')])
    code = ('import sys, resource, time; from glass.cli import main; t = time.time(); rc = main(sys.argv[1:]); '
            'print("TIME", time.time() - t, "PEAK_MIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(rc)')
    r = subprocess.run([sys.executable, '-c', code, 'guidance', str(caps), str(tmp_path / 'out'), '--model', model, '--recipe', 'sd',
                        '--steps', '2', '--size', str(size), '--batch_size', '1', '--device', 'cpu'],
                       env={**ENV, 'OMP_NUM_THREADS': os.environ.get('GLASS_THREADS', '1')}, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-4000:]
    t, peak = [float(x) for x in r.stdout.split('TIME')[1].split('PEAK_MIB')]
    rec = json.loads((tmp_path / 'out' / sample_files(0)['record']).read_text())
    return t, peak, rec

def _check_sd_record(rec, size):
    assert (rec['height'], rec['width'], rec['scheduler'], rec['unet_calls']) == (size, size, 'PNDMScheduler', 3)
    assert rec['mask']['cross_res'] == [[size // 32] * 2] and rec['mask']['self_res'] == [size // 16] * 2  # 16 and 32 at 512 px
    assert rec['classes'] == [17, 33] and rec['mask']['tau'] == 4 and rec['negative_prompt']

def test_sd_recipe_generation_mini(tmp_path):
    "CI's variant of the full-size test: the same command and capture with random:sd21-mini at 512 px."
    t, peak, rec = _guidance_at(tmp_path, 'random:sd21-mini')
    print(f'random:sd21-mini, 512 px, 2 steps: {t:.1f} s, peak RSS {peak:.0f} MiB')
    _check_sd_record(rec, 512)

@pytest.mark.skipif(os.environ.get('GLASS_SLOW') != '1', reason='full-size SD 2.1 (random weights): set GLASS_SLOW=1 (minutes, ~8 GB)')
def test_sd_recipe_generation_full_size(tmp_path):
    "SD 2.1's architecture (random weights, 1.29 B parameters) generates one 512-px image with the sd recipe's capture."
    t, peak, rec = _guidance_at(tmp_path, 'random:sd21')
    print(f'random:sd21, 512 px, 2 steps: {t:.1f} s, peak RSS {peak:.0f} MiB')
    _check_sd_record(rec, 512)
