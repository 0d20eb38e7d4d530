"""Issue 22 on the tiny world: the semantic loss (BCE with a BCE matching cost, the new default, against BCE + Dice with a
Dice cost, the old one) and stage 2 (slot attention fine-tuned jointly at a tenth of the rate, the new default, against
frozen, the old one), each scored on the tiny world's VAL split. Same seed, same data, same steps; only the change under
test differs. Writes bench/results/recipe_changes.json.

    OMP_NUM_THREADS=1 python bench/recipe_changes.py --steps 120 --stage2_steps 60 --n 500 [--seed 0] [--out /tmp/recipe]

(--stage2_steps 0: stage 1 only; a seed other than 0 writes recipe_changes_seedN.json)
"""
import argparse, json, time, tempfile
from dataclasses import replace
from pathlib import Path
import torch
from glass.train import RunConfig, DataConfig, TrainConfig, train, stage2_run, val_dataset
from glass.model import GlassConfig
from glass.data import collate

ROOT = Path(__file__).resolve().parents[1]
METRICS = ('fg_ari', 'mbo_i', 'miou_i', 'mbo_c', 'miou_c')

def model(**kw):
    "The stand-ins' GLASS at tiny-world size, with the run presets' training choices (posterior samples, BCE)."
    return GlassConfig(**{**dict(encoder='tinyworld:dinov2', decoder='tinyworld:stable-diffusion', image_size=64, decoder_resolution=32,
                                 num_slots=5, num_iterations=3, slot_size=64, mlp_hidden_size=128, feature_decoder_hidden=(128, 128),
                                 lambda_sem=0.7, lambda_inst=0.9, latent_sample='sample', slot_drop_prob=0.0, unconditional='empty_prompt', seed=0),
                          **kw}).to_dict()

def run(m, steps, n, cache, seed=0):
    return RunConfig(model=m, data=DataConfig(n=n, size=64, image_size=64, decoder_size=32, mask_size=32, val_n=64, flip=True, cache_dir=cache),
                     train=TrainConfig(steps=steps, batch_size=16, lr=4e-4, warmup_steps=0, cosine=False, ckpt_every=steps, val_every=steps,
                                       log_every=25, wandb='disabled', cpu=True, threads=1, seed=seed))

def val_metrics(out):
    row = [json.loads(r) for r in (Path(out) / 'log.jsonl').read_text().splitlines() if 'val/fg_ari' in r][-1]
    return {k: round(row[f'val/{k}'], 4) for k in METRICS}

@torch.no_grad()
def val_diffusion_loss(learner, draws=4):
    "The denoising loss of the trained model on the 64 VAL scenes, averaged over `draws` fixed noise draws (lower: the decoder fits)."
    m, ds = learner.model.eval(), val_dataset(learner.run.data)
    from glass.data import ResizeCrop
    tf = ResizeCrop(image_size=64, decoder_size=32)
    b = collate([tf(ds[i]) for i in range(len(ds))])
    out = []
    for s in range(draws):
        g = torch.Generator().manual_seed(1000 + s)
        slots = m.slots(b, generator=g).slots
        out.append(float(m.diffusion_loss(b, slots, generator=g)))
    return round(sum(out) / len(out), 5)

def main(steps=300, stage2_steps=150, n=1000, out=None, seed=0):
    out = Path(out or tempfile.mkdtemp()); cache = str(out / 'cache'); res = dict(budget={}, stage1={}, stage2={})
    t0 = time.time()
    for name, kw in [('bce (new default)', dict(sem_loss='bce', match_cost='bce')), ('bce_dice + dice cost (old default)', dict(sem_loss='bce_dice', match_cost='dice'))]:
        t = time.time(); d = out / f"{name.split()[0]}-seed{seed}"
        train(run(model(**kw, seed=seed), steps, n, cache, seed), d)
        res['stage1'][name] = dict(**val_metrics(d), seconds=round(time.time() - t))
        print(name, res['stage1'][name], flush=True)
    s1 = out / f'bce-seed{seed}'
    if not stage2_steps: res.pop('stage2')
    for name, kw in [] if not stage2_steps else [('joint, slot attention at 0.1 x lr (new default)', dict(train_slot_attention=True)), ('frozen slot attention (old default)', dict(train_slot_attention=False, slot_attention_lr_scale=1.0))]:
        t = time.time(); d = out / ('s2-' + name.split()[0].rstrip(','))
        r2 = replace(stage2_run(replace(RunConfig.load(s1 / 'run.json'), init_from=str(s1))))
        r2 = replace(r2, model={**r2.model, **kw}, train=replace(r2.train, steps=stage2_steps, ckpt_every=stage2_steps, val_every=stage2_steps))
        l = train(r2, d)
        res['stage2'][name] = dict(**val_metrics(d), val_diffusion_loss=val_diffusion_loss(l), seconds=round(time.time() - t))
        print(name, res['stage2'][name], flush=True)
    res['budget'] = dict(stage1_steps=steps, stage2_steps=stage2_steps, batch_size=16, train_scenes=n, val_scenes=64, lr=4e-4, seed=seed, threads=1,
                         flips=True, latents='posterior samples (cached moments)', total_seconds=round(time.time() - t0),
                         machine='2 shared CPU cores, 1 torch thread')
    (ROOT / 'bench' / 'results').mkdir(parents=True, exist_ok=True)
    (ROOT / 'bench' / 'results' / f"recipe_changes{'' if seed == 0 else f'_seed{seed}'}.json").write_text(json.dumps(res, indent=1))
    return res

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--steps', type=int, default=300); p.add_argument('--stage2_steps', type=int, default=150)
    p.add_argument('--n', type=int, default=1000); p.add_argument('--out', default=None); p.add_argument('--seed', type=int, default=0)
    a = p.parse_args(); main(a.steps, a.stage2_steps, a.n, a.out, a.seed)
