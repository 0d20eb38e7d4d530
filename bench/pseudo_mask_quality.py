"""Pseudo-mask quality of a text-to-image pipeline on the tiny world (CPU).

(a) Real test scenes: each image is encoded with the pipeline's VAE, noised to timestep `t`, denoised for
`steps` DDIM steps under its true caption with the attention capture installed
(`glass.guidance.masks_from_images`), and the pseudo mask is scored against the true semantic map with a
confusion matrix (`glass.metrics`): per-class IoU and mIoU with uncertain pixels (255) excluded, and with
uncertain counted as background. Figure: scenes / pseudo masks / truth.
(b) Generated images prompted with tiny-world test captions (`generate_with_masks`): the fraction of
captioned classes (and of captioned objects) whose class receives a non-empty mask.
"""
import json, platform, time, textwrap
from dataclasses import asdict
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse, store_true
from glass.tinyworld import render_scene, split_seeds, CLASSES
from glass.metrics import confusion, semantic_iou, semantic_miou
from glass.guidance import (CaptureConfig, tiny_vocab, load_pipeline, masks_from_images, generate_with_masks,
                            find_class_words)

QUICK = dict(n=8, n_gen=4, batch=4, gen_steps=2, figure=4)
PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48]], np.uint8)  # background + 4 shapes
UNCERTAIN = np.array([190, 190, 190], np.uint8)

def colour(lab:np.ndarray)->np.ndarray:
    "RGB image of a label map (0 black, k palette colour, 255 grey)."
    lut = np.zeros((256, 3), np.uint8); lut[:len(PALETTE)] = PALETTE; lut[255] = UNCERTAIN
    return lut[lab.astype(np.int64)]

def scenes_batch(seeds):
    sc = [render_scene(s) for s in seeds]
    imgs = torch.from_numpy(np.stack([s.image for s in sc])).permute(0, 3, 1, 2).float() / 255
    return sc, imgs, torch.from_numpy(np.stack([s.semantic for s in sc])).long()

def scores(conf):
    iou = semantic_iou(conf)
    fg = semantic_iou(torch.stack([torch.stack([conf[0, 0], conf[0, 1:].sum()]), torch.stack([conf[1:, 0].sum(), conf[1:, 1:].sum()])]))
    return dict(miou=semantic_miou(conf), miou_foreground_classes=float(np.nanmean(iou[1:].numpy())),
                iou={c: (None if np.isnan(v) else float(v)) for c, v in zip(CLASSES, iou.tolist())},
                pixel_accuracy=float(conf.diag().sum() / conf.sum().clamp(min=1)), foreground_iou=float(fg[1]),
                pixels=int(conf.sum()), confusion=conf.tolist())

def real_scenes(pipe, seeds, cfg, a):
    "Pseudo masks of real test scenes, scored; returns the result dict and the first masks for the figure."
    n = len(CLASSES)
    conf_excl, conf_bg = torch.zeros(n, n, dtype=torch.long), torch.zeros(n, n, dtype=torch.long)
    unc_pixels = unc_true_fg = total = 0
    shown, recs, t0 = [], None, time.perf_counter()
    for b in range(0, len(seeds), a['batch']):
        sc, imgs, sem = scenes_batch(seeds[b:b + a['batch']])
        g = masks_from_images(pipe, imgs, [s.caption for s in sc], capture_cfg=cfg, t=a['t'], steps=a['steps'], stride=a['stride'],
                              generator=[torch.Generator().manual_seed(a['seed'] + b + i) for i in range(len(sc))], vocab=tiny_vocab(), append=a['append'], phrase=a['phrase'], max_area=a['max_area'],
                              guidance_scale=a['guidance_scale'], tau=a['tau'], fg=a['fg'], uncertain=a['uncertain'])
        lab, unc = g.labels, g.labels == 255
        pred = torch.where(unc, 0, lab)
        conf_excl += confusion(pred, sem, n, ignore=unc)
        conf_bg += confusion(pred, sem, n)
        unc_pixels += int(unc.sum()); unc_true_fg += int((unc & (sem > 0)).sum()); total += lab.numel()
        recs = recs or g.records[0]
        if len(shown) < a['figure']: shown += [(s, l.numpy()) for s, l in zip(sc, lab)][:a['figure'] - len(shown)]
        print(f"  real scenes {min(b + a['batch'], len(seeds))}/{len(seeds)}  {time.perf_counter() - t0:.0f}s", flush=True)
    secs = time.perf_counter() - t0
    res = dict(n_scenes=len(seeds), seeds=[seeds[0], seeds[-1]], seconds=secs, scenes_per_s=len(seeds) / secs,
               uncertain_fraction=unc_pixels / total, uncertain_on_true_foreground=unc_true_fg / max(unc_pixels, 1),
               uncertain_excluded=scores(conf_excl), uncertain_as_background=scores(conf_bg),
               true_foreground_fraction=float(conf_bg[1:].sum() / conf_bg.sum()),
               example_record={k: recs[k] for k in ('prompt', 'class_prompt', 'classes', 'tokens', 'class_tokens', 't', 'timesteps',
                                                    'capture', 'mask', 'model')})
    return res, shown

def generated(pipe, seeds, cfg, a):
    "Masks of images generated from test captions: fraction of captioned classes / objects with a non-empty mask."
    v, hits, n_cls, obj_hits, n_obj, areas, shown, t0 = tiny_vocab(), 0, 0, 0, 0, {c: [] for c in CLASSES[1:]}, [], time.perf_counter()
    per_class = {c: [0, 0] for c in CLASSES[1:]}
    for b in range(0, len(seeds), a['batch']):
        caps = [render_scene(s).caption for s in seeds[b:b + a['batch']]]
        g = generate_with_masks(pipe, caps, capture_cfg=cfg, seeds=[a['seed'] + b + i for i in range(len(caps))], vocab=v,
                                append=a['append'], phrase=a['phrase'], max_area=a['max_area'], num_inference_steps=a['gen_steps'], guidance_scale=a['gen_guidance'],
                                tau=a['tau'], fg=a['fg'], uncertain=a['uncertain'])
        for cap, lab, r in zip(caps, g.labels, g.records):
            for c in r['classes']:
                area = float((lab == c).float().mean()); ok = area > 0
                hits += ok; n_cls += 1; areas[CLASSES[c]].append(area); per_class[CLASSES[c]][0] += ok; per_class[CLASSES[c]][1] += 1
            for _, c, _ in find_class_words(cap, v):
                obj_hits += bool((lab == c).any()); n_obj += 1
        if len(shown) < a['figure']: shown += [(c, i, l.numpy()) for c, i, l in zip(caps, g.images, g.labels)][:a['figure'] - len(shown)]
        print(f"  generated {min(b + a['batch'], len(seeds))}/{len(seeds)}  {time.perf_counter() - t0:.0f}s", flush=True)
    secs = time.perf_counter() - t0
    return dict(n_images=len(seeds), seconds=secs, images_per_s=len(seeds) / secs,
                class_nonempty_fraction=hits / max(n_cls, 1), n_captioned_classes=n_cls,
                object_nonempty_fraction=obj_hits / max(n_obj, 1), n_captioned_objects=n_obj,
                per_class_nonempty_fraction={c: (h / m if m else None) for c, (h, m) in per_class.items()},
                mean_mask_area={c: (float(np.mean(x)) if x else None) for c, x in areas.items()}), shown

def figure(shown, gen_shown, path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    # sized to be read where it is shown (the docs' column, about 700-830 px): 6 columns of 1.25 in at 100 dpi,
    # no text below 7 pt; generated images use the captions of the real scenes above them (the same seeds)
    shown, gen_shown = shown[:6], gen_shown[:6]
    cols, nrows = max(len(shown), len(gen_shown)), 5 if gen_shown else 3
    fig, axs = plt.subplots(nrows, cols, figsize=(1.25 * cols, 1.3 * nrows + 1.0), squeeze=False)
    for ax in axs.flat: ax.axis('off')
    for j, (s, lab) in enumerate(shown):
        axs[0, j].imshow(s.image, interpolation='nearest'); axs[0, j].set_title('\n'.join(textwrap.wrap(s.caption, 22)), fontsize=7)
        axs[1, j].imshow(colour(lab), interpolation='nearest'); axs[2, j].imshow(colour(s.semantic), interpolation='nearest')
    for j, (cap, img, lab) in enumerate(gen_shown):
        axs[3, j].imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation='nearest')
        axs[4, j].imshow(colour(lab), interpolation='nearest')
    rows = ['real scene', 'pseudo\nmask', 'truth', 'generated from\nthe caption', 'its pseudo\nmask'][:axs.shape[0]]
    for i, r in enumerate(rows): axs[i, 0].text(-0.08, 0.5, r, transform=axs[i, 0].transAxes, rotation=90, va='center', ha='right', ma='center', fontsize=8)
    fig.legend(handles=[Patch(color=PALETTE[k] / 255, label=c) for k, c in enumerate(CLASSES)] + [Patch(color=UNCERTAIN / 255, label='uncertain (255)')],
               loc='lower center', ncol=len(CLASSES) + 1, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0.03, 0.04, 1, 1)); fig.savefig(path, dpi=100); plt.close(fig)

def _ints(s): return None if s in (None, '') else tuple(int(x) for x in str(s).split(','))

@call_parse
def main(model:str, # a diffusers StableDiffusionPipeline folder (the tiny-world stand-in)
         n:int=500, # real test scenes scored (a)
         n_gen:int=200, # generated images (b); 0 skips (b)
         quick:store_true=False, # 8 scenes, 4 generated images of 2 steps: proves the script works
         t:int=500, # timestep the real images are noised to
         steps:int=1, # denoising steps from t on real images (maps averaged over them)
         stride:int=20, # timesteps between those steps
         guidance_scale:float=1.0, # CFG on real images (1: conditional branch only)
         gen_steps:int=25, # denoising steps of generation (b)
         gen_guidance:float=4.0, # CFG scale of generation (b)
         cross_res:str=None, # cross-attention sides, e.g. '8' or '8,16'; default the library's (largest <= latent/4)
         self_res:int=None, # self-attention side; default the library's (largest <= latent/2); 0: no refinement
         step_window:str='0,1', # fractions [start, end) of the steps averaged
         no_class_prompt:store_true=False, # masks from the prompt's tokens, not the class prompt
         no_append:store_true=False, # do not append the class names to the prompt
         phrase:store_true=False, # with --no_class_prompt: columns of each object's noun phrase ('small cyan triangle')
         tau:int=4, fg:float=0.6, uncertain:float=0.5, # pseudo-mask parameters
         max_area:float=1.0, # a class labelling more than this fraction of an image becomes uncertain (255)
         batch:int=16, # images per pipeline call
         seed:int=0, # scene / generated image i uses seed + i
         figure_n:int=8, # scenes in the figure
         threads:int=1, # torch CPU threads
         out:str=None, # result JSON; default bench/results/pseudo_mask_quality[_quick].json (figure: same name, .png)
         figure_only:store_true=False): # redraw the figure alone (the first `figure_n` scenes and generated images; no JSON)
    "Measure pseudo-mask mIoU on real tiny-world test scenes and mask coverage on generated images."
    torch.set_num_threads(threads)
    a = dict(n=n, n_gen=n_gen, batch=batch, gen_steps=gen_steps, figure=figure_n)
    if quick: a.update(QUICK)
    if figure_only: a.update(n=a['figure'], n_gen=min(a['n_gen'], a['figure']))  # scene / image i draws with seed + i: the same pictures
    a.update(t=t, steps=steps, stride=stride, guidance_scale=guidance_scale, gen_guidance=gen_guidance, tau=tau, fg=fg,
             uncertain=uncertain, append=not no_append, phrase=phrase, max_area=max_area, seed=seed)
    out = Path(out or f"bench/results/pseudo_mask_quality{'_quick' if quick else ''}.json")
    cfg = CaptureConfig(cross_res=_ints(cross_res), self_res=self_res, class_prompt=not no_class_prompt,
                        step_window=tuple(float(x) for x in step_window.split(',')))
    pipe = load_pipeline(model, 'cpu')
    t0 = time.perf_counter()
    real, shown = real_scenes(pipe, list(split_seeds('test', a['n'])), cfg, a)
    gen, gen_shown = generated(pipe, list(split_seeds('test', a['n_gen'])), cfg, a) if a['n_gen'] else (None, [])
    res = dict(quick=quick, model=str(model), device='cpu', processor=platform.processor() or platform.machine(),
               torch_threads=torch.get_num_threads(), parameters=dict(a, cross_res=cross_res, self_res=self_res, step_window=step_window,
               class_prompt=not no_class_prompt, capture_resolved=real['example_record']['capture'], vocab='tinyworld', split='test',
               noise='VAE posterior mean * scaling_factor, noised to t; scene i (0-based) draws its noise with seed + i; DDIM steps t, t-stride, ...'),
               scoring=dict(uncertain_excluded='pixels labelled 255 left out of the confusion matrix',
                            uncertain_as_background='pixels labelled 255 counted as background (0)',
                            miou='mean IoU over classes present in truth or prediction, background included'),
               real_scenes=real, generated=gen, seconds_total=time.perf_counter() - t0,
               figure=str(out.with_suffix('.png')))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure(shown, gen_shown, out.with_suffix('.png'))
    if figure_only: print(f"-> {out.with_suffix('.png')}"); return
    out.write_text(json.dumps(res, indent=1))
    ex, bg = real['uncertain_excluded'], real['uncertain_as_background']
    print(f"real scenes ({real['n_scenes']}): mIoU {ex['miou']:.3f} (uncertain excluded), {bg['miou']:.3f} (uncertain as background); "
          f"uncertain pixels {real['uncertain_fraction']:.1%}; IoU " + ', '.join(f"{c} {v:.2f}" for c, v in ex['iou'].items() if v is not None))
    if gen: print(f"generated ({gen['n_images']}): {gen['class_nonempty_fraction']:.1%} of captioned classes, "
                  f"{gen['object_nonempty_fraction']:.1%} of captioned objects have a non-empty mask")
    print(f"-> {out} and {out.with_suffix('.png')}")
