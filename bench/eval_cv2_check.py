"""One-off check of glass's OpenCV emulation (`glass.data.cv2_resize_linear`, `nearest_index`) against OpenCV itself.

OpenCV is not a dependency of glass. Install it somewhere apart and point this script at it, e.g.
  pip install --no-deps --target /tmp/cv2pkg410 opencv-python-headless==4.10.0.84   # the released GLASS pin
  python bench/eval_cv2_check.py /tmp/cv2pkg410
It compares, on random 8-bit images of COCO-like and odd sizes: INTER_LINEAR resizes (3 channels, uint8),
INTER_NEAREST resizes of int32 label maps (3 channels, as the released loader stacks them), and the decoding
of JPEG/PNG files by Pillow (what glass uses) against cv2.imdecode + BGR->RGB (what the released loader uses).
Writes bench/results/eval_cv2_check_<opencv version>.json.
"""
import sys, io, json, platform
from pathlib import Path
import numpy as np, torch
from PIL import Image

SIZES = [((480, 640), 448), ((427, 640), 448), ((500, 375), 448), ((37, 53), 20), ((33, 50), 64), ((896, 1344), 448),
         ((448, 600), 448), ((300, 301), 448), ((1000, 700), 448), ((17, 13), 448), ((480, 640), 256), ((427, 640), 256),
         ((612, 612), 256), ((333, 500), 256), ((640, 480), 256)]

def main(path):
    sys.path.append(path)
    import cv2
    from glass.data import cv2_resize_linear, nearest_index, short_side_size
    rng, rows = np.random.default_rng(0), []
    for (H, W), S in SIZES:
        h, w = short_side_size(H, W, S)
        img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        ref = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        ours = cv2_resize_linear(torch.from_numpy(img).permute(2, 0, 1).contiguous(), (h, w)).permute(1, 2, 0).numpy()
        lab = rng.integers(0, 50, (H, W, 3)).astype(np.int32)
        refm = cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)
        oursm = lab[nearest_index(H, h, torch.arange(h)).numpy()[:, None], nearest_index(W, w, torch.arange(w)).numpy()]
        torchm = torch.nn.functional.interpolate(torch.from_numpy(lab).permute(2, 0, 1)[None].float(), size=(h, w), mode='nearest')[0].permute(1, 2, 0).long().numpy()
        rows.append(dict(src=[H, W], resized=[h, w], linear_pixels_differing=int((ref != ours).sum()), linear_max_diff=int(np.abs(ref.astype(int) - ours).max()),
                         nearest_equal=bool(np.array_equal(refm, oursm)), torch_nearest_equal=bool(np.array_equal(refm, torchm))))
    dec = []
    for fmt, kw in (('JPEG', dict(quality=90)), ('JPEG', dict(quality=75, subsampling=2)), ('PNG', {})):
        a = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
        a = np.asarray(Image.fromarray(a).resize((166, 122), Image.BILINEAR))  # some smooth content
        buf = io.BytesIO(); Image.fromarray(a).save(buf, fmt, **kw); data = buf.getvalue()
        pil = np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))
        cv = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        dec.append(dict(format=fmt, options=kw, pixels_differing=int((pil != cv).sum()), max_diff=int(np.abs(pil.astype(int) - cv).max())))
    res = dict(opencv=cv2.__version__, machine=platform.machine(), resize=rows, decode=dec,
               all_linear_equal=all(r['linear_pixels_differing'] == 0 for r in rows), all_nearest_equal=all(r['nearest_equal'] for r in rows))
    out = Path(__file__).parent / 'results' / f'eval_cv2_check_{cv2.__version__}.json'
    out.write_text(json.dumps(res, indent=1)); print(json.dumps({k: v for k, v in res.items() if k != 'resize'}, indent=1))

if __name__ == '__main__': main(sys.argv[1])
