"""The parts-world text-to-image stand-in: pseudo-mask quality on real scenes, mask coverage and samples of generated ones.

    python bench/standin_parts_masks.py                      # the shipped tinyworld:stable-diffusion-parts, 500 + 200
    python bench/standin_parts_masks.py --model DIR --quick  # 8 scenes, 4 generated images of 2 steps

(a) Real test scenes of the parts world: each is encoded by the pipeline's VAE, noised to t = 300 and denoised
one DDIM step under its caption with the attention capture installed (`glass.guidance.masks_from_images`); the
pseudo mask (recipe `glass.guidance.MASK_RECIPES['standin']`: noun-phrase columns, self-attention 16, tau 1,
max_area 0.5) is scored against the true class map: per-class IoU and mIoU with uncertain pixels (255) left
out, and counting them as background. A compound object's mask is right only if it covers all of its parts.
(b) Images generated from test captions (25 DDIM steps, CFG 4): the share of captioned classes and objects whose
class gets a non-empty mask. Figure: real scenes / pseudo masks / truth / generated / their masks.
Writes bench/results/standin_parts_masks[_quick].json and .png.
"""
import os
for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
import json, platform, time, textwrap
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse, store_true
from glass.tinyworld import render_scene, split_seeds, PARTS_CLASSES
from glass.metrics import confusion, semantic_iou, semantic_miou
from glass.guidance import make_vocab, load_pipeline, masks_from_images, generate_with_masks, find_class_words, mask_recipe
from glass.core import resolve_weights

PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
                    [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]], np.uint8)
UNCERTAIN = np.array([190, 190, 190], np.uint8)

def colour(lab):
    lut = np.zeros((256, 3), np.uint8); lut[:len(PALETTE)] = PALETTE; lut[255] = UNCERTAIN
    return lut[np.asarray(lab).astype(np.int64)]

def scores(conf):
    iou = semantic_iou(conf)
    return dict(miou=semantic_miou(conf), iou={c: (None if np.isnan(v) else round(float(v), 4)) for c, v in zip(PARTS_CLASSES, iou.tolist())},
                pixel_accuracy=float(conf.diag().sum() / conf.sum().clamp(min=1)))

def real_scenes(pipe, seeds, cfg, kw, vocab, batch, t, seed, n_fig):
    n = len(PARTS_CLASSES)
    excl, as_bg, unc_px, total, shown, t0 = torch.zeros(n, n, dtype=torch.long), torch.zeros(n, n, dtype=torch.long), 0, 0, [], time.perf_counter()
    for b in range(0, len(seeds), batch):
        sc = [render_scene(s, world='parts') for s in seeds[b:b + batch]]
        imgs = torch.from_numpy(np.stack([s.image for s in sc])).permute(0, 3, 1, 2).float() / 255
        sem = torch.from_numpy(np.stack([s.semantic for s in sc]))
        g = masks_from_images(pipe, imgs, [s.caption for s in sc], capture_cfg=cfg, t=t, vocab=vocab,
                              generator=[torch.Generator().manual_seed(seed + b + i) for i in range(len(sc))], **kw)
        unc = g.labels == 255
        excl += confusion(torch.where(unc, 0, g.labels), sem, n, ignore=unc); as_bg += confusion(torch.where(unc, 0, g.labels), sem, n)
        unc_px += int(unc.sum()); total += unc.numel()
        shown += [(s, l.numpy()) for s, l in zip(sc, g.labels)][:max(0, n_fig - len(shown))]
        print(f'  real {min(b + batch, len(seeds))}/{len(seeds)} {time.perf_counter() - t0:.0f}s', flush=True)
    return dict(n_scenes=len(seeds), seconds=round(time.perf_counter() - t0, 1), uncertain_fraction=unc_px / total,
                uncertain_excluded=scores(excl), uncertain_as_background=scores(as_bg)), shown

def generated(pipe, seeds, cfg, kw, vocab, batch, steps, scale, seed, n_fig):
    hit = n_cls = ohit = n_obj = 0; per = {c: [0, 0] for c in PARTS_CLASSES[1:]}; shown, t0 = [], time.perf_counter()
    for b in range(0, len(seeds), batch):
        caps = [render_scene(s, world='parts').caption for s in seeds[b:b + batch]]
        g = generate_with_masks(pipe, caps, capture_cfg=cfg, seeds=[seed + b + i for i in range(len(caps))], vocab=vocab,
                                num_inference_steps=steps, guidance_scale=scale, **kw)
        for cap, lab, r in zip(caps, g.labels, g.records):
            for c in r['classes']:
                ok = bool((lab == c).any()); hit += ok; n_cls += 1; per[PARTS_CLASSES[c]][0] += ok; per[PARTS_CLASSES[c]][1] += 1
            for _, c, _ in find_class_words(cap, vocab): ohit += bool((lab == c).any()); n_obj += 1
        shown += [(c, i, l.numpy()) for c, i, l in zip(caps, g.images, g.labels)][:max(0, n_fig - len(shown))]
        print(f'  generated {min(b + batch, len(seeds))}/{len(seeds)} {time.perf_counter() - t0:.0f}s', flush=True)
    return dict(n_images=len(seeds), seconds=round(time.perf_counter() - t0, 1), class_nonempty_fraction=hit / max(n_cls, 1),
                object_nonempty_fraction=ohit / max(n_obj, 1),
                per_class_nonempty_fraction={c: (h / m if m else None) for c, (h, m) in per.items()}), shown

def figure(shown, gen_shown, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    cols = max(len(shown), len(gen_shown)); rows = 5 if gen_shown else 3
    fig, axs = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.75 * rows + 0.7), squeeze=False)
    for ax in axs.flat: ax.axis('off')
    for j, (s, lab) in enumerate(shown):
        axs[0, j].imshow(s.image, interpolation='nearest'); axs[0, j].set_title('\n'.join(textwrap.wrap(s.caption, 24)), fontsize=5)
        axs[1, j].imshow(colour(lab), interpolation='nearest'); axs[2, j].imshow(colour(s.semantic), interpolation='nearest')
    for j, (cap, img, lab) in enumerate(gen_shown):
        axs[3, j].imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation='nearest')
        axs[3, j].set_title('\n'.join(textwrap.wrap(cap, 24)), fontsize=5); axs[4, j].imshow(colour(lab), interpolation='nearest')
    for i, r in enumerate(['real scene', 'pseudo mask', 'truth', 'generated', 'its pseudo mask'][:rows]):
        axs[i, 0].text(-0.08, 0.5, r, transform=axs[i, 0].transAxes, rotation=90, va='center', ha='right', fontsize=7)
    fig.legend(handles=[Patch(color=PALETTE[k] / 255, label=c) for k, c in enumerate(PARTS_CLASSES)] + [Patch(color=UNCERTAIN / 255, label='uncertain')],
               loc='lower center', ncol=7, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0.02, 0.07, 1, 1)); fig.savefig(path, dpi=120); plt.close(fig)

@call_parse
def main(model:str='tinyworld:stable-diffusion-parts', # the parts-world text-to-image pipeline (folder or tinyworld:NAME)
         n:int=500, # real test scenes (a)
         n_gen:int=200, # generated images (b); 0 skips (b)
         t:int=300, # timestep the real scenes are noised to
         gen_steps:int=25, gen_guidance:float=4.0, # generation (b): DDIM steps, CFG scale
         tau:int=None, max_area:float=None, # overrides of the recipe's
         batch:int=16, seed:int=0, figure_n:int=8, threads:int=1,
         quick:store_true=False, # 8 scenes, 4 generated images of 2 steps
         out:str=None): # result JSON (figure: same name, .png); default bench/results/standin_parts_masks[_quick].json
    "Score the parts-world text-to-image stand-in's pseudo masks on real scenes and its generated images' masks."
    torch.set_num_threads(threads)
    if quick: n, n_gen, gen_steps, batch, figure_n = 8, 4, 2, 4, 4
    cfg, kw = mask_recipe('standin')
    kw.update({k: v for k, v in dict(tau=tau, max_area=max_area).items() if v is not None})
    vocab, pipe, t0 = make_vocab(PARTS_CLASSES), load_pipeline(str(resolve_weights(model)), 'cpu'), time.perf_counter()
    real, shown = real_scenes(pipe, list(split_seeds('test', n)), cfg, kw, vocab, batch, t, seed, figure_n)
    gen, gen_shown = generated(pipe, list(split_seeds('test', n_gen)), cfg, kw, vocab, batch, gen_steps, gen_guidance, seed, figure_n) if n_gen else (None, [])
    out = Path(out or f"bench/results/standin_parts_masks{'_quick' if quick else ''}.json"); out.parent.mkdir(parents=True, exist_ok=True)
    figure(shown, gen_shown, out.with_suffix('.png'))
    res = dict(model=model, quick=quick, recipe='standin', overrides=dict(tau=tau, max_area=max_area), t=t, gen_steps=gen_steps, gen_guidance=gen_guidance, real_scenes=real, generated=gen,
               seconds=round(time.perf_counter() - t0, 1), threads=threads, processor=platform.processor() or platform.machine())
    out.write_text(json.dumps(res, indent=1) + '\n')
    ex = real['uncertain_excluded']
    print(f"real ({n}): mIoU {ex['miou']:.3f} (uncertain excluded), {real['uncertain_as_background']['miou']:.3f} (as background); "
          + ', '.join(f'{c} {v:.2f}' for c, v in ex['iou'].items() if v is not None))
    if gen: print(f"generated ({n_gen}): {gen['class_nonempty_fraction']:.1%} of classes, {gen['object_nonempty_fraction']:.1%} of objects masked")
    print(f'-> {out}')
