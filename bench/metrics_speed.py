"""Throughput of `glass.metrics` (every object-discovery metric at once) against a straightforward per-image
numpy / scipy / scikit-learn implementation, on synthetic 320x320 label maps; also the largest absolute
difference between the two, metric by metric, and against pycocotools' RLE IoU.

    python bench/metrics_speed.py            # 5,000 masks (the reference timed on a subset, extrapolated)
    python bench/metrics_speed.py --quick    # 200 masks, proves it runs
    python bench/metrics_speed.py --threads 1   # one torch thread (much faster when other jobs share the cores)

Writes bench/results/metrics_speed.json (or --out).
"""
import json, math, os, platform, time
from pathlib import Path
import numpy as np, torch
import torch.nn.functional as F
from fastcore.script import call_parse
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score
from pycocotools import mask as mask_utils
from glass.metrics import DiscoveryMetrics, contingency, iou_from_counts

def make_batch(g:torch.Generator, b:int, size:int, n_slots:int, max_objects:int, n_classes:int=10):
    "Synthetic (pred, instance, semantic, ignore): up to `max_objects` occluding boxes, smooth random slot regions."
    yy, xx = torch.arange(size).view(1, size, 1), torch.arange(size).view(1, 1, size)
    n_obj = torch.randint(0, max_objects + 1, (b,), generator=g)
    inst = torch.zeros(b, size, size, dtype=torch.long)
    for j in range(max_objects):
        y0, x0 = (torch.randint(0, size - 8, (2, b), generator=g)).view(2, b, 1, 1)
        h, w = torch.randint(8, size // 2, (2, b), generator=g).view(2, b, 1, 1)
        m = (yy >= y0) & (yy < y0 + h) & (xx >= x0) & (xx < x0 + w) & (j < n_obj).view(b, 1, 1)
        inst[m] = j + 1
    cls = torch.randint(1, n_classes + 1, (b, max_objects + 1), generator=g); cls[:, 0] = 0
    sem = cls.gather(1, inst.flatten(1)).view_as(inst)
    logits = torch.randn(b, n_slots, 6, 6, generator=g)
    pred = F.interpolate(logits, size=(size, size), mode='bilinear', align_corners=False).argmax(1)
    pred = torch.where(torch.rand(b, 1, 1, generator=g) < 0.5, pred, (inst + pred) % n_slots)   # half the images follow the objects
    ignore = F.interpolate((torch.rand(b, 1, 40, 40, generator=g) < 0.03).float(), size=(size, size)).bool()[:, 0]
    inst[0, :4] = 255; sem[0, :4] = 255                                    # VOC-style void rows in the first image
    return pred, inst, sem, ignore

# ---------------------------------------------------------------- the straightforward per-image reference
def _iou_matrix(t, p, ids, keep, n_slots):
    "IoU of each true id's mask with each slot's mask, by boolean masks."
    iou = np.zeros((len(ids), n_slots))
    for r, v in enumerate(ids):
        a = (t == v) & keep
        for k in range(n_slots):
            b = (p == k) & keep
            union = np.logical_or(a, b).sum()
            iou[r, k] = np.logical_and(a, b).sum() / union if union else 0.0
    return iou

def _box(m):
    ys, xs = np.nonzero(m)
    return xs.min(), ys.min(), xs.max(), ys.max()

def _box_iou(a, b):
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]) + 1, min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(iw, 0) * max(ih, 0)
    area = lambda x: (x[2] - x[0] + 1) * (x[3] - x[1] + 1)
    return inter / (area(a) + area(b) - inter)

def reference_image(p, t, s, ig, n_slots):
    "Every metric of one image the straightforward way (numpy masks, scikit-learn ARI, scipy matching)."
    keep = ~ig & (t != 255) & (s != 255)
    fg = keep & (t > 0)
    out = dict(fg_ari=adjusted_rand_score(t[fg], p[fg]) if fg.sum() >= 2 else math.nan,
               ari=adjusted_rand_score(t[keep], p[keep]) if keep.sum() >= 2 else math.nan)
    for name, lab in (('i', t), ('c', s)):
        ids = [v for v in np.unique(lab[keep]) if v != 0]
        if not ids: out[f'mbo_{name}'] = out[f'miou_{name}'] = math.nan; continue
        iou = _iou_matrix(lab, p, ids, keep, n_slots)
        r, c = linear_sum_assignment(-iou)
        matched = np.zeros(len(ids)); matched[r] = iou[r, c]
        out[f'mbo_{name}'], out[f'miou_{name}'] = iou.max(1).mean(), matched.mean()
    objs = [_box((t == v) & keep) for v in np.unique(t[keep]) if v != 0]
    slots = [_box((p == k) & keep) for k in np.unique(p[keep])]
    out['corloc'] = float(any(_box_iou(o, q) > 0.5 for o in objs for q in slots)) if objs else math.nan
    return out

def fast_per_image(m:DiscoveryMetrics):
    "Per-image values of an accumulator (object metrics: mean over the image's objects)."
    out = {k: torch.cat(v).tolist() for k, v in m.per_image.items()}
    out.update({k: [o.mean().item() if len(o) else math.nan for o in v] for k, v in m.per_object.items()})
    return out

def max_diff(a, b):
    "Largest |a - b| over entries where both are numbers; inf if they disagree on which are NaN."
    a, b = np.asarray(a, float), np.asarray(b, float)
    if (np.isnan(a) != np.isnan(b)).any(): return math.inf
    return float(np.nanmax(np.abs(a - b))) if (~np.isnan(a)).any() else 0.0

def coco_iou_diff(p, t, ig, n_slots):
    "Largest |our IoU - pycocotools' RLE IoU| over every (object, slot) pair of one image."
    keep = ~ig & (t != 255)
    ours = iou_from_counts(contingency(torch.from_numpy(p)[None], torch.from_numpy(t)[None], torch.from_numpy(~keep)[None], n_pred=n_slots))[0].numpy()
    ids = range(ours.shape[0])
    enc = lambda ms: mask_utils.encode(np.asfortranarray(np.stack(ms, -1).astype(np.uint8)))
    ref = mask_utils.iou(enc([(p == k) & keep for k in range(n_slots)]), enc([(t == v) & keep for v in ids]), [0] * len(ids))
    return float(np.abs(ours - np.asarray(ref).T).max())

# ---------------------------------------------------------------- the run
@call_parse
def main(n:int=5000, # masks to score with glass.metrics
         size:int=320, # mask side
         slots:int=7, # predicted slots
         max_objects:int=20, # objects per image: uniform in 0..max_objects
         batch:int=50, # images per metrics update
         ref_n:int=100, # images scored by the reference (its time is extrapolated to n)
         seed:int=0, # generator seed of the synthetic masks
         quick:bool=False, # 200 masks, reference on 20: proves the script runs
         threads:int=None, # torch intra-op threads (None: torch's default); 1 is faster on a loaded machine
         out:str='bench/results/metrics_speed.json'): # result file
    "Time glass.metrics against the per-image reference; write the JSON."
    if quick: n, ref_n = 200, 20
    if threads: torch.set_num_threads(threads)
    g, m_fast, fast_s, gen_s = torch.Generator().manual_seed(seed), DiscoveryMetrics(), 0.0, 0.0
    ref_data = []
    for start in range(0, n, batch):
        t0 = time.perf_counter(); p, t, s, ig = make_batch(g, min(batch, n - start), size, slots, max_objects); gen_s += time.perf_counter() - t0
        t0 = time.perf_counter(); m_fast.update(p, t, s, ig); fast_s += time.perf_counter() - t0
        if len(ref_data) < ref_n: ref_data += list(zip(p.numpy(), t.numpy(), s.numpy(), ig.numpy()))[:ref_n - len(ref_data)]
    result = m_fast.compute()
    t0 = time.perf_counter()
    refs = [reference_image(p, t, s, ig, slots) for p, t, s, ig in ref_data]
    ref_s = time.perf_counter() - t0
    fast = fast_per_image(m_fast)
    diffs = {k: max_diff([f for f in fast[k][:ref_n]], [r[k] for r in refs]) for k in refs[0]}
    diffs['iou_vs_pycocotools'] = max(coco_iou_diff(p, t, ig, slots) for p, t, s, ig in ref_data[:min(ref_n, 20)])
    ref_total = ref_s / len(refs) * n
    res = dict(
        quick=quick, n_masks=n, size=size, slots=slots, max_objects=max_objects, batch=batch,
        metrics_timed='fg_ari, ari, mbo_i, mbo_c, miou_i (Hungarian), miou_c, corloc (box), in one DiscoveryMetrics.update per batch',
        glass_seconds=round(fast_s, 3), glass_masks_per_second=round(n / fast_s, 1),
        reference='per image: numpy boolean masks, sklearn adjusted_rand_score, scipy linear_sum_assignment, numpy boxes',
        reference_masks_timed=len(refs), reference_seconds_timed=round(ref_s, 3),
        reference_seconds_extrapolated=round(ref_total, 2), extrapolated=len(refs) < n,
        speedup=round(ref_total / fast_s, 1), goal_under_30s=fast_s < 30, goal_5x=ref_total / fast_s >= 5,
        max_abs_diff=diffs, diff_masks=len(refs), synthetic_generation_seconds=round(gen_s, 2),
        scores={k: result[k] for k in ('fg_ari', 'ari', 'mbo_i', 'mbo_c', 'miou_i', 'miou_c', 'corloc')},
        torch_threads=torch.get_num_threads(), cpus=os.cpu_count(), torch=torch.__version__, python=platform.python_version())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
