"""What would a world closer to real images do to the frame? Colour k-means, the stand-in encoder's feature k-means
and the patch oracle on parts-world VAL scenes re-rendered with shading and texture (no model is trained).

    python bench/world_texture.py                # 200 VAL scenes, every variant
    python bench/world_texture.py --n_val 16     # a quick check

Each variant changes only the pixels of the scenes (same objects, parts, masks and captions), with effects real
photographs have and the parts world lacks: `shading` (each object lit from one side: brightness falls linearly
from 1.15 to 0.55 across it, the light's direction drawn per scene), `texture` (per-pixel multiplicative grain of
+-18 % on objects and background), `lighting` (a brightness ramp of 0.7-1.2 across the whole image, the direction
drawn per scene), and `all` (the three). The effects are drawn from a generator seeded by the scene's seed, so a
variant is the same on every run. Scores as the demo's frame (`demo_diagnosis.frame`): percent, K = 6.
Writes bench/results/world_texture.json.
"""
import os
for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import json, sys
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse
sys.path.insert(0, str(Path(__file__).parent))
from glass import demo as D
from demo_diagnosis import feature_kmeans

KEYS = ('fg_ari', 'mbo_i', 'miou_i', 'mbo_c', 'miou_c')
EFFECTS = {'flat (the parts world)': (), 'shading': ('shading',), 'texture': ('texture',), 'lighting': ('lighting',),
           'all': ('shading', 'texture', 'lighting')}

def ramp(h:int, w:int, angle:float, lo:float, hi:float, mask=None):
    "A linear brightness ramp from `lo` to `hi` along direction `angle`, normalised over `mask` (default: the image)."
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.cos(angle) * xx + np.sin(angle) * yy
    sel = d[mask] if mask is not None and mask.any() else d
    t = (d - sel.min()) / max(float(sel.max() - sel.min()), 1e-6)
    return hi - (hi - lo) * t.clip(0, 1)

def restyle(image:torch.Tensor, instance:torch.Tensor, seed:int, effects:tuple): # (3, H, W) in [0, 1]; (H, W) ids; scene seed
    "The scene's image with `effects` applied (deterministic in `seed`)."
    if not effects: return image
    rng = np.random.default_rng(seed)
    x, ids = image.numpy().copy(), instance.numpy()
    h, w = ids.shape
    if 'shading' in effects:
        a = rng.uniform(0, 2 * np.pi)
        for i in np.unique(ids):
            if i == 0: continue
            m = ids == i
            x[:, m] *= ramp(h, w, a, 0.55, 1.15, m)[m]
    if 'texture' in effects: x *= 1 + rng.uniform(-0.18, 0.18, size=(1, h, w)).astype(np.float32)
    if 'lighting' in effects: x *= ramp(h, w, rng.uniform(0, 2 * np.pi), 0.7, 1.2)
    return torch.from_numpy(x.clip(0, 1))

class Restyled(torch.utils.data.Dataset):
    "A dataset whose images are restyled with `effects`."
    def __init__(self, ds, effects): self.ds, self.effects, self.classes = ds, effects, ds.classes
    def __len__(self): return len(self.ds)
    def __getitem__(self, i):
        s = dict(self.ds[i]); s['image'] = restyle(s['image'], s['instance'], int(s['image_id']), self.effects); return s

@call_parse
def main(n_val:int=200, # VAL scenes
         result:str='bench/results/world_texture.json'):
    "Score the frame on restyled VAL scenes."
    from glass.tinyworld import TinyWorld
    from glass.evaluate import evaluate, get_protocol, BASELINES
    b, sd = D.demo_budget(False), D.stand_ins_dir(None)
    base, res = TinyWorld('val', n=n_val, world=D.DEMO_WORLD), {}
    for name, eff in EFFECTS.items():
        ds, r = Restyled(base, eff), {}
        m = evaluate(BASELINES['kmeans'](b.num_slots), ds, get_protocol('tinyworld'), b.eval_batch, progress=False)
        r['colour k-means'] = {k: round(100 * m[k], 1) for k in KEYS}
        r['stand-in feature k-means'] = feature_kmeans(sd, len(ds), b, dataset=ds)
        res[name] = r
        print(name, {k: v['mbo_i'] for k, v in r.items()}, flush=True)
    m = D.oracle_metrics(base, b.image_size // 4, get_protocol('tinyworld'), b.eval_batch)  # masks only: the same for every variant
    out = dict(n_val=n_val, variants=res, oracle={k: round(100 * m[k], 1) for k in KEYS})
    Path(result).write_text(json.dumps(out, indent=1) + '\n')
    print('oracle', out['oracle']['mbo_i'])
