"""What the encoder stand-ins know: linear patch probes and objectness, before (masked patches) and after (self-distillation).

    python bench/standin_encoder_probe.py           # the shipped tinyworld:dinov2 and tinyworld:dinov2-parts
    python bench/standin_encoder_probe.py --quick   # 40 / 20 scenes, to check that the script works

For each encoder and each world (parts at 96 px, the 24 x 24 grid it is made for; shapes at 64 px, 16 x 16):

* `probe`: `glass.foundation.linear_probe` (500 train-split scenes, 200 test-split scenes): accuracy over all
  patches, over foreground patches and per class;
* `clusters`: `glass.foundation.feature_clusters`: k-means (K = 6) of each scene's normalised patch tokens,
  scored as object discovery (mBO^i, FG-ARI in percent);
* `same_object_auc`: over pairs of foreground patches of one test scene, the ROC AUC of their cosine
  similarity for telling "same object" from "different objects" (0.5: no idea; 1: every same-object pair is
  closer than every different-object pair);
* `foreground_auc`: the same for "both foreground" against "one foreground, one background" pairs.

Writes bench/results/standin_encoder_probe[_quick].json.
"""
import os
for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
import json, platform, time
from pathlib import Path
import torch, torch.nn.functional as F
from fastcore.script import call_parse, store_true
from glass.core import resolve_weights
from glass.foundation import linear_probe, feature_clusters, patch_features
from glass.tinyworld import split_seeds, cell_majority

def auc(pos:torch.Tensor, neg:torch.Tensor):
    "ROC AUC of scores `pos` (positives) against `neg` (Mann-Whitney U over ranks; ties broken by order)."
    x = torch.cat([pos, neg]).double(); r = torch.empty_like(x); r[x.argsort()] = torch.arange(1, len(x) + 1, dtype=x.dtype)
    return ((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))).item()

@torch.no_grad()
def affinity(dino, n:int, world:str, side:int):
    "`same_object_auc` and `foreground_auc` of the encoder's normalised patch tokens on `n` test scenes."
    x, _, inst = patch_features(dino, list(split_seeds('test', n)), world=world, side=side, instances=True)
    ids, x = cell_majority(inst, side // dino.config.patch_size), F.normalize(x, dim=-1)
    same, diff, fgfg, fgbg = [], [], [], []
    for f, i in zip(x, ids):
        fg, s = i > 0, f @ f.T
        off = ~torch.eye(len(s), dtype=torch.bool)
        both = fg[:, None] & fg[None] & off
        same.append(s[both & (i[:, None] == i[None])]); diff.append(s[both & (i[:, None] != i[None])])
        fgfg.append(s[both]); fgbg.append(s[fg[:, None] & ~fg[None]])
    return dict(same_object_auc=auc(torch.cat(same), torch.cat(diff)), foreground_auc=auc(torch.cat(fgfg), torch.cat(fgbg)))

def scores(dino, world:str, side:int, n_train:int, n_test:int):
    return dict(side=side, grid=side // dino.config.patch_size, probe=linear_probe(dino, n_train, n_test, world=world, side=side),
                clusters=feature_clusters(dino, n_test, world=world, side=side), **affinity(dino, n_test, world, side))

@call_parse
def main(before:str='tinyworld:dinov2', # the masked-patch encoder (shapes world)
         after:str='tinyworld:dinov2-parts', # the self-distilled encoder (parts world)
         quick:store_true=False, # 40 train / 20 test scenes
         threads:int=1,
         out:str=None): # results; default bench/results/standin_encoder_probe[_quick].json
    "Probe the encoder stand-ins on both worlds."
    from transformers import Dinov2Model
    torch.set_num_threads(threads)
    (n_train, n_test), t0 = (40, 20) if quick else (500, 200), time.time()
    res = {}
    for name, src in (('before', before), ('after', after)):
        m = Dinov2Model.from_pretrained(resolve_weights(src), dtype=torch.float32).eval()
        res[name] = dict(model=src, parts_world=scores(m, 'parts', 96, n_train, n_test), shapes_world=scores(m, 'shapes', 64, n_train, n_test))
    doc = dict(quick=quick, n_train=n_train, n_test=n_test, results=res, seconds=round(time.time() - t0, 1), threads=threads,
               processor=platform.processor() or platform.machine())
    out = Path(out or f"bench/results/standin_encoder_probe{'_quick' if quick else ''}.json"); out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + '\n')
    for name, r in res.items():
        for w in ('parts_world', 'shapes_world'):
            p = r[w]['probe']
            print(f"{name:6} {w:12} probe {100 * p['accuracy']:.1f} / foreground {100 * p['foreground_accuracy']:.1f}; "
                  f"clusters mBO^i {r[w]['clusters']['mbo_i']:.1f}; same-object AUC {r[w]['same_object_auc']:.3f}; foreground AUC {r[w]['foreground_auc']:.3f}")
    print(f'-> {out}')
