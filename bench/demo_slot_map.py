"""Does stage 2 teach the demo's diffusion decoder to read its slots? The paper's decoder (slots through cross-attention
only) against the same decoder with the slot map (`glass.decoder.SlotMapAdapter`), measured on VAL scenes.

    glass demo out/demo                        # the demo's run (its stage-1 GLASS model and real TRAIN cache)
    python bench/demo_slot_map.py out/demo     # about 20 minutes on 2 cores; rerun to continue after a kill

For each stage-2 setting (slot map off / on, peak learning rate) GLASS's stage 2 is trained from the demo's stage-1
run on the demo's real TRAIN scenes with the demo's budget otherwise (`glass.demo.stage2_demo_run`), into
out/demo-slot-map/<setting>/ (beside the demo folder, which holds only its own files). Then, on 100 parts-world VAL scenes (never the test split: the demo's stage-2
settings are chosen here):
* pixel error of the reconstructions (mean absolute difference from the input, grey levels; same noise for all;
  the demo's sampler and steps, CFG 1 and 2), next to the pixel error between unrelated val scenes (no resemblance)
  and that of the VAE's own round trip (encode, decode: the best any decoder through the stand-in VAE can do);
* slot use: the decoder's denoising loss with another scene's slots (and masks) divided by the loss with the scene's own
  (same noise and timesteps, t uniform): 1.0 means the decoder ignores which scene its slots came from.
Writes bench/results/demo_slot_map.json.
"""
import json, time
from pathlib import Path
import torch
from fastcore.script import call_parse
from glass.demo import demo_budget, stage2_demo_run, CachedSamples, write_dir, DEMO_WORLD, test_images, model_inputs, pixel_error
from glass.tasks import load_model, reconstruct

SETTINGS = {'slot map, lr 2e-3': dict(slot_map=True, stage2_lr=2e-3), 'slot map, lr 1e-3, 160 steps': dict(slot_map=True, stage2_lr=1e-3, stage2_steps=160),
            'paper decoder, lr 2e-4': dict(slot_map=False, stage2_lr=2e-4), 'paper decoder, lr 1e-3': dict(slot_map=False, stage2_lr=1e-3),
            'slot map, lr 2e-4': dict(slot_map=True, stage2_lr=2e-4), 'slot map, lr 1e-3': dict(slot_map=True, stage2_lr=1e-3)}
CFGS = (1.0, 2.0) # CFG scales of the reconstructions

@torch.no_grad()
def slot_use(model, images, b, seed=0):
    "Denoising loss with another scene's slots over the loss with the scene's own (same noise and timesteps)."
    dec = model.decoder
    out = model.slots(model_inputs(images, b.image_size), generator=torch.Generator().manual_seed(seed))
    z = dec.encode_latents(images)
    g = torch.Generator().manual_seed(seed + 1)
    t = torch.randint(0, dec.scheduler.config.num_train_timesteps, (len(z),), generator=g); noise = torch.randn(z.shape, generator=g)
    x, tgt = dec.scheduler.add_noise(z, noise, t), dec.target(z, noise, t)
    loss = lambda s, m: float(((dec.predict(x, t, s, m) - tgt) ** 2).mean())
    own, other = loss(out.slots, out.masks), loss(out.slots.roll(1, 0), out.masks.roll(1, 0))
    return dict(own=round(own, 5), other=round(other, 5), ratio=round(other / own, 4))

@torch.no_grad()
def recon_error(model, images, b, seed=0):
    "Pixel error of the reconstructions at each CFG scale of `CFGS` (the same noise)."
    out = {}
    for cfg in CFGS:
        g = torch.Generator().manual_seed(seed)
        rec = torch.cat([reconstruct(model, xb, b.sample_steps, cfg, generator=g) for xb in model_inputs(images, b.image_size).split(b.eval_batch)])
        out[f'cfg {cfg:g}'] = round(pixel_error(rec, images), 2)
    return out

@call_parse
def main(demo_dir:str, # a finished `glass demo` folder
         n_val:int=100, # VAL scenes to measure on
         out:str='bench/results/demo_slot_map.json'):
    from glass.train import train
    from glass.tinyworld import export_coco, split_seeds
    src = Path(demo_dir); study = src.with_name(src.name + '-slot-map')
    settings = json.loads((src / 'demo.json').read_text())
    val = study / 'val-coco'
    if not val.is_dir(): write_dir(val, lambda tmp: export_coco(tmp, split_seeds('val', 2 * n_val), world=DEMO_WORLD))
    images, _ = test_images(val, n_val); other, _ = test_images(val, n_val, start=n_val)
    b0 = demo_budget(**settings['budget'])
    res = dict(n_val=n_val, budget={k: v for k, v in settings['budget'].items() if k.startswith('stage2') or k in ('n_real', 'batch_size', 'sample_steps', 'cfg_scale')},
               unrelated_pixel_error=round(pixel_error(other, images), 2), settings={})
    m1 = load_model(src / 'runs' / 'glass' / 'model')
    with torch.no_grad(): vae = m1.decoder.decode_latents(m1.decoder.encode_latents(images))
    res['vae_round_trip_pixel_error'] = round(pixel_error(vae, images), 2)  # the floor of any decoder through the stand-in VAE
    res['settings']['stage 1 (no stage 2)'] = dict(pixel_error=recon_error(m1, images, b0), slot_use=slot_use(m1, images, b0))
    for name, kw in SETTINGS.items():
        b = demo_budget(**{**settings['budget'], **kw})
        dst = study / name.replace(', ', '_').replace(' ', '-')
        t0, trained = time.time(), not (dst / 'model').is_dir()
        if trained:
            run = stage2_demo_run(src, 'glass', b)
            train(run, dst, dataset=CachedSamples(torch.load(src / 'cache' / 'real.pt', weights_only=True)))
        m = load_model(dst / 'model')  # train_seconds: None where an earlier invocation trained it
        res['settings'][name] = dict(**kw, train_seconds=round(time.time() - t0, 1) if trained else None, pixel_error=recon_error(m, images, b),
                                     slot_use=slot_use(m, images, b))
        print(name, res['settings'][name], flush=True)
        Path(out).write_text(json.dumps(res, indent=1))  # after each setting: a kill loses at most the one under way
    print(json.dumps(res, indent=1))
