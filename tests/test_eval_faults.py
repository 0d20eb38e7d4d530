"""Bad inputs and faults of `glass eval`, `glass segment` and `glass compose` (issue 14): each case asserts the exit
status, a fragment of the one-line message, and that what was in the output folder before is still there, unchanged.

Most cases call `glass.cli.main` in this process (what the `glass` console script runs; fast); `test_subprocess`
runs a few through a real `glass` process to check the exit status and that no traceback reaches the user.
"""
import json, shutil, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from PIL import Image

from glass.cli import main

def one_error_line(err, cmd, fragment):
    "The message is the last line of stderr (after any progress lines), names the problem, and no traceback is shown."
    last = err.strip().splitlines()[-1]
    assert last.startswith(f'glass {cmd}: error:') and fragment in last and 'Traceback' not in err, err
    return True

def snapshot(d):
    "Every file under `d` with its bytes (None for a folder that does not exist)."
    d = Path(d)
    if not d.exists(): return None
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}

@pytest.fixture(scope='module')
def world(tmp_path_factory):
    "A tiny-world COCO and VOC export, a tiny GLASS checkpoint, a released-layout checkpoint, and an earlier good eval."
    from glass.tinyworld import export_coco, export_voc, split_seeds
    from glass.model import build_model, tiny_config
    from glass.slot_attention import SlotAttention, save_official_slot_attention
    root = tmp_path_factory.mktemp('faults')
    export_coco(root / 'coco', split_seeds('test', 3))
    export_voc(root / 'voc', split_seeds('test', 2), boundary=1)
    build_model(tiny_config()).save_pretrained(root / 'ckpt')
    save_official_slot_attention(SlotAttention(num_slots=7, num_iterations=2, slot_size=32, mlp_hidden_size=32, input_size=32, out_size=32,
                                               input_resolution=32), root / 'released')
    for k, name in enumerate(('a.png', 'a.jpg')):
        Image.fromarray(np.full((16, 16, 3), 40 * k, np.uint8)).save(root / name)
    assert main(['eval', '--data', str(root / 'coco'), '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', '--n_show', '1',
                 '--save_masks', 'True', '--out', str(root / 'good')]) == 0
    return root

def coco_copy(world, tmp_path, edit_json=None, edit_files=None):
    "A copy of the COCO export with its instances JSON and files changed."
    d = tmp_path / 'coco'
    shutil.copytree(world / 'coco', d)
    if edit_json:
        f = d / 'annotations' / 'instances.json'
        j = json.loads(f.read_text()); edit_json(j); f.write_text(json.dumps(j))
    if edit_files: edit_files(d)
    return d

def first_image(d): return sorted((d / 'images').iterdir())[0]

def truncate(d): f = first_image(d); b = f.read_bytes(); f.write_bytes(b[:len(b) // 2])
def empty(d): first_image(d).write_bytes(b'')
def wrong_size(j): j['images'][0]['height'] += 3
def rle_wrong_size(j):
    a = next(a for a in j['annotations'] if a['image_id'] == j['images'][0]['id'])
    a['segmentation'] = {'size': [4, 4], 'counts': [16]}
def rle_garbage(j):
    im = j['images'][0]
    a = next(a for a in j['annotations'] if a['image_id'] == im['id'])
    a['segmentation'] = {'size': [im['height'], im['width']], 'counts': '~~~~zz'}
def rle_truncated(j):
    im = j['images'][0]
    a = next(a for a in j['annotations'] if a['image_id'] == im['id'])
    a['segmentation'] = {'size': [im['height'], im['width']], 'counts': [5, 10]}
def no_annotations(j): j['annotations'] = []

# name, how to break the COCO copy (json edit, file edit), extra flags, exit status, message fragment
COCO_CASES = [
    ('truncated image', None, truncate, [], 2, 'truncated'),
    ('zero-byte image', None, empty, [], 2, 'empty, corrupt, truncated or not an image'),
    ('JSON size differs from the image', wrong_size, None, [], 2, 'image is 64x64 but'),
    ('RLE of the wrong size', rle_wrong_size, None, [], 2, 'is 4x4 but its image is 64x64'),
    ('garbage RLE', rle_garbage, None, [], 2, 'malformed RLE counts'),
    ('truncated RLE', rle_truncated, None, [], 2, 'the RLE counts cover 15 pixels'),
    ('empty annotation list', no_annotations, None, [], 2, 'the annotation list is empty'),
    ('malformed JSON', None, lambda d: (d / 'annotations' / 'instances.json').write_text('{"images": ['), [], 2, 'malformed JSON in'),
    ('annotation of a missing image', lambda j: j['annotations'][0].update(image_id=999), None, [], 2, 'points at missing image id 999'),
    ('unknown category', lambda j: j['annotations'][0].update(category_id=999), None, [], 2, 'unknown category_id 999'),
    ('no images folder', None, lambda d: shutil.rmtree(d / 'images'), [], 2, 'image folder not found'),
    ('--n_slots 0', None, None, ['--n_slots', '0'], 2, '--n_slots 0: must be at least 1'),
    ('--batch_size 0', None, None, ['--batch_size', '0'], 2, '--batch_size 0: must be at least 1'),
    ('--resolution 0', None, None, ['--resolution', '0'], 2, '--resolution 0'),
    ('unknown preset', None, None, ['--preset', 'spot'], 2, "unknown preset 'spot'"),
    ('unknown overlap rule', None, None, ['--overlap', 'max'], 2, 'Protocol.overlap must be one of ignore, last, first'),
    ('unknown crowd rule', None, None, ['--crowd', 'drop'], 2, 'Protocol.crowd must be one of'),
    ('unknown format', None, None, ['--format', 'ade'], 2, "unknown --format 'ade'"),
    ('missing checkpoint', None, None, ['NOCKPT'], 2, 'checkpoint folder not found'),
    ('mlp masks of a released checkpoint', None, None, ['RELEASED', '--mask_source', 'mlp_decoder'], 2, 'no MLP decoder'),
    ('no check, truncated image', None, truncate, ['--check_data', 'False'], 2, 'cannot read image'),
]

@pytest.mark.parametrize('name,edit_json,edit_files,flags,status,fragment', COCO_CASES, ids=[c[0] for c in COCO_CASES])
def test_eval_coco(world, tmp_path, capsys, name, edit_json, edit_files, flags, status, fragment):
    data = coco_copy(world, tmp_path, edit_json, edit_files)
    out = tmp_path / 'out'; shutil.copytree(world / 'good', out)   # an earlier good run in the same folder
    before = snapshot(out)
    pos, rest = [], list(flags)
    if rest and rest[0] in ('NOCKPT', 'RELEASED'):
        pos = [str(tmp_path / 'nockpt')] if rest.pop(0) == 'NOCKPT' else [str(world / 'released'), '--encoder', str(world / 'ckpt' / 'encoder')]
    code = main(['eval', *pos, '--data', str(data), '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', *rest, '--out', str(out)])
    err = capsys.readouterr().err
    assert code == status, (code, err)
    assert one_error_line(err, 'eval', fragment)
    assert snapshot(out) == before                                           # metrics.json, masks/ and the figure untouched

def test_eval_out_is_a_file(world, tmp_path, capsys):
    f = tmp_path / 'metrics'; f.write_text('my notes')
    assert main(['eval', '--data', str(world / 'coco'), '--preset', 'tinyworld', '--out', str(f)]) == 2
    assert one_error_line(capsys.readouterr().err, 'eval', 'is a file; give a folder')
    assert f.read_text() == 'my notes'
    assert main(['eval', '--data', str(world / 'coco'), '--preset', 'tinyworld', '--out', str(f / 'sub')]) == 2
    assert one_error_line(capsys.readouterr().err, 'eval', 'is a file, not a folder')

def voc_copy(world, tmp_path, edit):
    d = tmp_path / 'voc'; shutil.copytree(world / 'voc', d); edit(d); return d

def first_id(d): return (d / 'ImageSets' / 'Segmentation' / 'val.txt').read_text().split()[0]
def png(a, path): im = Image.fromarray(a.astype(np.uint8), 'P'); im.putpalette([0, 0, 0] * 256); im.save(path)

VOC_CASES = [
    ('missing label PNG', lambda d: (d / 'SegmentationObject' / f'{first_id(d)}.png').unlink(), 'mask file not found'),
    ('wrong-size label PNG', lambda d: png(np.zeros((5, 5)), d / 'SegmentationClass' / f'{first_id(d)}.png'), 'is 5x5 but'),
    ('class ids outside the list', lambda d: png(np.full((64, 64), 40), d / 'SegmentationClass' / f'{first_id(d)}.png'), 'class ids [40] are outside the 21 classes'),
    ('missing image', lambda d: (d / 'JPEGImages' / f'{first_id(d)}.jpg').unlink(), 'image file not found'),
    ('unknown void rule', lambda d: None, 'Protocol.void must be one of'),
]

@pytest.mark.parametrize('name,edit,fragment', VOC_CASES, ids=[c[0] for c in VOC_CASES])
def test_eval_voc(world, tmp_path, capsys, name, edit, fragment):
    data = voc_copy(world, tmp_path, edit)
    out = tmp_path / 'out'; shutil.copytree(world / 'good', out); before = snapshot(out)
    extra = ['--void', 'keep'] if 'void' in name else []
    code = main(['eval', '--data', str(data), '--format', 'voc', '--preset', 'tinyworld', '--baseline', 'grid', '--n_slots', '4', *extra, '--out', str(out)])
    assert code == 2 and one_error_line(capsys.readouterr().err, 'eval', fragment)
    assert snapshot(out) == before

def test_eval_rules_recorded(world, tmp_path, capsys):
    "The rule flags reach metrics.json."
    out = tmp_path / 'out'
    assert main(['eval', '--data', str(world / 'coco'), '--preset', 'glass-coco', '--image_size', '64', '--resolution', '64', '--baseline', 'grid',
                 '--crowd', 'ignore', '--overlap', 'ignore', '--duplicates', 'drop', '--empty_ari', 'skip', '--out', str(out)]) == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['dataset_rules'] == dict(crowd='ignore', overlap='ignore', class_overlap='same', duplicates='drop')
    assert (m['protocol']['empty_ari'], m['protocol']['num_slots'], m['dataset_check']['images']) == ('skip', 7, 3)

def test_segment_names_never_collide(world, tmp_path, capsys):
    src = tmp_path / 'imgs'; (src / 'x').mkdir(parents=True)
    for name in ('a.png', 'a.jpg', 'x/y.png', 'x__y.png'): shutil.copy(world / 'a.png', src / name)
    assert main(['segment', str(world / 'ckpt'), str(src), '--out', str(tmp_path / 'out')]) == 0
    masks = sorted(p.relative_to(tmp_path / 'out').as_posix() for p in (tmp_path / 'out').rglob('*_masks.png'))
    assert masks == ['a.jpg_masks.png', 'a.png_masks.png', 'x/y_masks.png', 'x__y_masks.png']
    assert 'of 4 image(s)' in capsys.readouterr().out

SEGMENT_CASES = [
    ('--num_slots 0', ['--num_slots', '0'], 'num_slots=0: at least one slot'),
    ('--size 0', ['--size', '0'], 'size=0'),
    ('unknown mask source', ['--mask_source', 'unet'], "mask_source='unet'"),
]

@pytest.mark.parametrize('name,flags,fragment', SEGMENT_CASES, ids=[c[0] for c in SEGMENT_CASES])
def test_segment_faults(world, tmp_path, capsys, name, flags, fragment):
    out = tmp_path / 'out'; out.mkdir(); (out / 'keep.txt').write_text('mine'); before = snapshot(out)
    assert main(['segment', str(world / 'ckpt'), str(world / 'a.png'), *flags, '--out', str(out)]) == 2
    assert one_error_line(capsys.readouterr().err, 'segment', fragment)
    assert snapshot(out) == before

def test_segment_missing_inputs(world, tmp_path, capsys):
    assert main(['segment', str(world / 'ckpt'), str(tmp_path / 'nope.png'), '--out', str(tmp_path / 'o')]) == 2
    assert 'image not found' in capsys.readouterr().err
    assert main(['segment', str(tmp_path / 'nockpt'), str(world / 'a.png'), '--out', str(tmp_path / 'o')]) == 2
    assert 'checkpoint folder not found' in capsys.readouterr().err
    assert not (tmp_path / 'o').exists()

COMPOSE_CASES = [
    ('--steps 0', ['CKPT', 'A', '--steps', '0'], '--steps 0: at least 1 sampler step'),
    ('unknown op', ['CKPT', 'A', '--op', 'blend'], "--op 'blend'"),
    ('slot out of range', ['CKPT', 'A', '--i', '9', '--steps', '1'], 'slot i=9 out of range'),
    ('add without a second image', ['CKPT', 'A', '--op', 'add', '--steps', '1'], 'needs a second image'),
    ('missing image', ['CKPT', 'NOPE'], 'image file not found'),
    ('released checkpoint without --sd', ['RELEASED', 'A'], 'holds no Stable Diffusion: pass --sd'),
    ('--resolution 30', ['RELEASED', 'A', '--resolution', '30'], '--resolution 30'),
]

@pytest.mark.parametrize('name,args,fragment', COMPOSE_CASES, ids=[c[0] for c in COMPOSE_CASES])
def test_compose_faults(world, tmp_path, capsys, name, args, fragment):
    sub = {'CKPT': str(world / 'ckpt'), 'RELEASED': str(world / 'released'), 'A': str(world / 'a.png'), 'NOPE': str(tmp_path / 'nope.png')}
    out = tmp_path / 'out'; out.mkdir(); (out / 'edited_a.png').write_bytes(b'an earlier result'); before = snapshot(out)
    assert main(['compose', *[sub.get(a, a) for a in args], '--out', str(out)]) == 2
    assert one_error_line(capsys.readouterr().err, 'compose', fragment)
    assert snapshot(out) == before

def glass(*args):
    "Run `glass` in a fresh process (as a user would)."
    return subprocess.run([sys.executable, '-c', 'import sys; from glass.cli import main; sys.exit(main(sys.argv[1:]))', *args],
                          capture_output=True, text=True, timeout=600)

def test_subprocess(world, tmp_path):
    "A real process: exit status 2, one line on stderr, no traceback; --debug shows it."
    data = coco_copy(world, tmp_path, edit_files=empty)
    r = glass('eval', '--data', str(data), '--preset', 'tinyworld', '--out', str(tmp_path / 'out'))
    assert r.returncode == 2, r.stderr
    assert one_error_line(r.stderr, 'eval', 'empty, corrupt')
    assert not (tmp_path / 'out').exists()
    r = glass('eval', '--data', str(data), '--preset', 'tinyworld', '--out', str(tmp_path / 'out'), '--debug')
    assert r.returncode != 0 and 'Traceback' in r.stderr
