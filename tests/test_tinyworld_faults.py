"""`glass tinyworld` and `glass pretrain-tinyworld` as a user runs them: exit codes, one-line errors, nothing of theirs lost.

Each case runs the real command in a subprocess and checks the exit status, a fragment of the message, and
that files already there are unchanged (bytes and modification times).
"""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest

GLASS = [sys.executable, '-c', 'import sys; from glass.cli import main; sys.exit(main(sys.argv[1:]))']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'GLASS_PROGRESS': '1'}

def glass(*args, umask=None, timeout=300):
    "Run `glass ARGS`; return the CompletedProcess (text output)."
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([*GLASS, *map(str, args)], env=ENV, capture_output=True, text=True, timeout=timeout, preexec_fn=pre)

def snapshot(d:Path):
    "Every file under `d` with its bytes and modification time."
    return {str(p.relative_to(d)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(Path(d).rglob('*')) if p.is_file()}

def refused(r, fragment):
    "Assert a one-line input error (exit 2, no traceback) that contains `fragment`."
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert fragment in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr

@pytest.mark.parametrize('args,fragment', [
    (('--size', 7), 'between 16 and 1024'), (('--size', 0), 'between 16 and 1024'), (('--size', 100000), 'between 16 and 1024'),
    (('--n', 0), 'at least one scene'), (('--n', -3), 'at least one scene'), (('--format', 'yolo'), '--format'),
    (('--world', 'blocks'), '--world'), (('--split', 'dev'), 'unknown split'), (('--split', 'val', '--seed', 0), 'leave the val range'),
])
def test_bad_arguments(tmp_path, args, fragment):
    refused(glass('tinyworld', tmp_path / 'out', '--n', 3, *args), fragment)
    assert not (tmp_path / 'out').exists() and os.listdir(tmp_path) == []

def test_output_is_a_file(tmp_path):
    f = tmp_path / 'a.txt'; f.write_text('mine')
    refused(glass('tinyworld', f, '--n', 2), 'is a file')
    refused(glass('tinyworld', f / 'sub', '--n', 2), 'is a file')
    assert f.read_text() == 'mine' and os.listdir(tmp_path) == ['a.txt']

def test_refuses_a_folder_of_the_users_files(tmp_path):
    d = tmp_path / 'mine'; (d / 'annotations').mkdir(parents=True)
    (d / 'annotations/instances.json').write_text('{"my": "own"}'); (d / 'preview.png').write_bytes(b'my picture')
    before = snapshot(d)
    refused(glass('tinyworld', d, '--n', 2), 'files of your own')
    assert snapshot(d) == before

def test_export_success_progress_umask_and_idempotence(tmp_path):
    d = tmp_path / 'coco'
    r = glass('tinyworld', d, '--n', 4, '--world', 'parts', '--split', 'val', umask=0o022)
    assert r.returncode == 0, r.stderr
    assert 'export coco' in r.stderr and '4/4' in r.stderr  # the progress line (plain lines off a terminal)
    assert 'wrote 4 val scenes of the parts world' in r.stdout
    m = json.loads((d / 'tinyworld.json').read_text())
    assert (m['world'], m['format'], m['size'], m['sets']) == ('parts', 'coco', 64, {'images': [[1_000_000, 1_000_004]]})
    for p in d.rglob('*'): assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p
    before = snapshot(d)
    assert glass('tinyworld', d, '--n', 4, '--world', 'parts', '--split', 'val').returncode == 0
    assert snapshot(d) == before  # the same export again changes nothing
    refused(glass('tinyworld', d, '--n', 4, '--world', 'parts', '--split', 'val', '--size', 32), 'other settings: size 64')
    refused(glass('tinyworld', d, '--n', 4, '--split', 'val'), "world 'parts'")
    refused(glass('tinyworld', d, '--n', 5, '--world', 'parts', '--split', 'val'), 'seeds')
    assert snapshot(d) == before
    e = tmp_path / 'private'
    assert glass('tinyworld', e, '--n', 2, '--preview', 'False', umask=0o077).returncode == 0
    for p in e.rglob('*'): assert p.stat().st_mode & 0o777 == (0o700 if p.is_dir() else 0o600), p

def _consistent(d:Path):
    "The COCO export in `d` agrees with itself: every listed image exists with the listed size, nothing else."
    from PIL import Image
    inst = json.loads((d / 'annotations/instances.json').read_text())
    names = sorted(p.name for p in (d / 'images').iterdir())
    assert names == sorted(im['file_name'] for im in inst['images'])
    for im in inst['images']:
        with Image.open(d / 'images' / im['file_name']) as f: assert f.size == (im['width'], im['height'])
    return inst['images'][0]['width']

def test_overwrite_and_killed_reexport(tmp_path):
    d = tmp_path / 'coco'
    assert glass('tinyworld', d, '--n', 3, '--size', 48).returncode == 0
    assert _consistent(d) == 48
    # a long re-export at another size, killed half-way: the old export stays whole
    p = subprocess.Popen([*GLASS, 'tinyworld', str(d), '--n', '3000', '--size', '64', '--overwrite', 'True'], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work, t0 = tmp_path / f'.coco.{p.pid}.glass-tmp' / 'images', time.time()  # temporary names carry the process id
    try:
        while not (work.is_dir() and len(os.listdir(work)) > 50):
            assert p.poll() is None, 'the export ended before it was killed'
            assert time.time() - t0 < 120; time.sleep(0.02)
        os.kill(p.pid, signal.SIGKILL)
    finally: p.wait()
    assert _consistent(d) == 48 and len(os.listdir(d / 'images')) == 3
    # run again (smaller, to keep the test short): replaced whole, the stale work folder removed
    r = glass('tinyworld', d, '--n', 5, '--size', 32, '--overwrite', 'True')
    assert r.returncode == 0, r.stderr
    assert _consistent(d) == 32 and len(os.listdir(d / 'images')) == 5
    assert sorted(os.listdir(tmp_path)) == ['coco']

def test_voc_folder_takes_another_image_set(tmp_path):
    d = tmp_path / 'voc'
    assert glass('tinyworld', d, '--n', 2, '--format', 'voc', '--split', 'val', '--world', 'parts').returncode == 0
    assert glass('tinyworld', d, '--n', 2, '--format', 'voc', '--split', 'test', '--world', 'parts').returncode == 0
    assert sorted(os.listdir(d / 'ImageSets/Segmentation')) == ['test.txt', 'val.txt']
    assert sorted(json.loads((d / 'tinyworld.json').read_text())['sets']) == ['test', 'val']
    assert len(os.listdir(d / 'SegmentationPart')) == 4

@pytest.mark.parametrize('args,fragment', [
    (('--world', 'blocks'), '--world'), (('--t2i_steps', 0), '--t2i_steps'), (('--batch_size', 0), '--batch_size'),
    (('--dino_steps', -1), '--dino_steps'),
])
def test_pretrain_bad_arguments(tmp_path, args, fragment):
    refused(glass('pretrain-tinyworld', tmp_path / 'out', '--quick', *args), fragment)
    assert not (tmp_path / 'out').exists()

def test_pretrain_output_is_a_file(tmp_path):
    f = tmp_path / 'x'; f.write_text('mine')
    refused(glass('pretrain-tinyworld', f, '--quick'), 'is a file')
    assert f.read_text() == 'mine'

def test_pretrain_quick_succeeds_with_progress(tmp_path):
    r = glass('pretrain-tinyworld', tmp_path / 'out', '--quick', '--world', 'parts', timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for stage in ('vae', 'text-to-image', 'dinov2'): assert f'{stage}: 100%' in r.stderr or f'{stage}:' in r.stderr, r.stderr
    rep = json.loads((tmp_path / 'out/pretrain_report.json').read_text())
    assert rep['world'] == 'parts' and rep['objective'] == 'distill'
    assert sorted(os.listdir(tmp_path / 'out')) == ['checkpoints', 'dinov2', 'pretrain_report.json', 'stable-diffusion']
