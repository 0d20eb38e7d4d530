"""What caps GLASS in the demo? Budget, encoder, guidance data and each loss term, measured on the parts world's VAL split.

    python bench/demo_diagnosis.py out/diag                        # every variant, in the order below
    python bench/demo_diagnosis.py out/diag --only glass_1280      # some of them
    python bench/demo_diagnosis.py out/diag --quick                # 8 guidance images, 2-4 steps: checks the script

Every model is the demo's (`glass.demo.demo_config`, `demo_run`: the shipped parts-world stand-ins, 6 slots, 96 px,
batch 32, peak learning rate 4e-4 with warmup and cosine decay) trained on the demo's 320 guidance samples (the same
generated images and pseudo masks, made once in `OUT/guidance`), seed 0 unless a variant says otherwise. Variants:

* budget: GLASS trained for 1,280 steps (8 x the demo's 160), every 160th step's checkpoint scored (a training
  curve under one schedule), and GLASS at 160, 320 and 640 steps each with its own schedule;
* loss terms at 640 steps (4 x): without the semantic loss, without the instance loss, without the diffusion loss
  (no decoder: DINOSAUR's feature loss plus semantic guidance), and the full loss;
* guidance data at 160 steps: the real TRAIN scenes with their TRUE semantic masks in place of generated images and
  pseudo masks (`gt_semantic`: what perfect pseudo masks would give), and with the true INSTANCE masks as if they were
  classes (`gt_instance`: guidance that separates instances of one class);
* the baselines at the longer budget: diffusion-only and DINOSAUR-style at 640 steps;
* the recipe at 160 steps: stage 1's peak learning rate 1e-3 and 2e-3 (the demo's: 4e-4).

Scores: the demo's protocol on the first `n_val` VAL scenes (never test), percent. Frame (same scenes): colour
k-means (K = 6), k-means of the encoder's own patch features (K = 6, cosine), the grid, the patch oracle.
Results go to bench/results/demo_diagnosis.json, variant by variant, so an interrupted run continues where it stopped
(a variant is trained again only if its settings changed; a finished run folder is scored without training).
"""
import os
for k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'): os.environ.setdefault(k, '1')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import json, sys, time
from dataclasses import asdict, replace
from pathlib import Path
import torch
from fastcore.script import call_parse, store_true
sys.path.insert(0, str(Path(__file__).parent))
from demo_val import cache_for, score_val
from glass import demo as D

KEYS = ('fg_ari', 'mbo_i', 'miou_i', 'mbo_c', 'miou_c')
NO_SEM, NO_INST = dict(lambda_sem=0.), dict(lambda_inst=0.)
NO_DIFF = dict(decoder=None, lambda_diff=0.)

VARIANTS = {  # name -> model, steps, GlassConfig overrides, data ('guidance' | 'gt_semantic' | 'gt_instance'), curve (score every k steps)
    'glass_160': dict(model='glass', steps=160),
    'gt_semantic_160': dict(model='glass', steps=160, data='gt_semantic'),
    'gt_instance_160': dict(model='glass', steps=160, data='gt_instance'),
    'no_sem_160': dict(model='glass', steps=160, config=NO_SEM),
    'no_inst_160': dict(model='glass', steps=160, config=NO_INST),
    'glass_1280': dict(model='glass', steps=1280, curve=160),
    'glass_640': dict(model='glass', steps=640),
    'no_sem_640': dict(model='glass', steps=640, config=NO_SEM),
    'no_inst_640': dict(model='glass', steps=640, config=NO_INST),
    'no_diff_640': dict(model='glass', steps=640, config=NO_DIFF),
    'dinosaur_640': dict(model='dinosaur', steps=640),
    'diffusion_640': dict(model='diffusion', steps=640),
    'glass_320': dict(model='glass', steps=320),
    # the recipe: stage 1's peak learning rate (the demo's 4e-4) at the demo's budget
    'glass_160_lr1e-3': dict(model='glass', steps=160, budget=dict(lr=1e-3)),
    'glass_160_lr2e-3': dict(model='glass', steps=160, budget=dict(lr=2e-3)),
    # encoder: a real DINOv2 ViT-S/14 (possibly fine-tuned; `bench/vits_onnx.py`) at 336 px, the same 24 x 24 grid
    'vits_glass_160': dict(model='glass', steps=160, encoder='vits', budget=dict(image_size=336)),
    'vits_dinosaur_160': dict(model='dinosaur', steps=160, encoder='vits', budget=dict(image_size=336)),
    'vits_glass_640': dict(model='glass', steps=640, encoder='vits', budget=dict(image_size=336)),
}

def gt_cache(out:Path, cfg, b, kind:str, n:int):
    "Encoder features and VAE latents of the first `n` real parts-world TRAIN scenes, with their true semantic (or instance) masks as the pseudo masks."
    from glass.model import build_model
    from glass.tinyworld import TinyWorld
    p = out / 'cache' / f'{kind}_{b.image_size}_{b.mask_size}_{n}.pt'
    if not p.is_file():
        class Relabel(torch.utils.data.Dataset):
            def __init__(self, ds): self.ds = ds
            def __len__(self): return len(self.ds)
            def __getitem__(self, i):
                s = self.ds[i]
                if kind == 'gt_instance': s['semantic'] = s['instance'].clamp(max=254).to(s['semantic'].dtype)
                return s
        ds = Relabel(TinyWorld('train', n=n, size=128, world=D.DEMO_WORLD, transform=D.cache_transform(cfg, b.mask_size)))
        D.save_cache(D.build_cache(ds, build_model(cfg), progress=False), p)
    return torch.load(p, weights_only=True)

def run_dir_scores(run:Path, b, n_val:int, curve:int, seed:int):
    "VAL scores of the run's final model and (with `curve`) of every checkpoint at a multiple of `curve` steps."
    from glass.tasks import load_model
    from glass.train import list_checkpoints
    final = score_val(load_model(run / 'model').eval(), b, n_val, seed)
    pts = {}
    if curve:
        from glass.train import load_trainable
        for ck in list_checkpoints(run):  # the demo trains without EMA: a checkpoint's trainable weights are the model's
            s = int(ck.name.split('-')[1])
            if s % curve: continue
            m = load_model(run / 'model'); load_trainable(m, torch.load(ck / 'trainable.pt', weights_only=True), str(ck))
            pts[s] = score_val(m.eval(), b, n_val, seed)
    return final, pts

def train_variant(out:Path, name:str, v:dict, sd:Path, n_val:int, quick:bool, vits:Path):
    "Train (unless finished) and score one variant."
    from glass.model import build_model
    from glass.train import train
    seed = v.get('seed', 0)
    steps = v['steps'] if not quick else max(2, v['steps'] // 320)
    b = D.demo_budget(quick, steps=steps, **v.get('budget', {}))
    cfg = replace(D.demo_config(sd, v['model'], seed, b), **v.get('config', {}))
    if v.get('encoder') == 'vits':
        if not vits.is_dir(): raise SystemExit(f'{vits} is missing: python bench/vits_onnx.py {vits}')
        cfg = replace(cfg, encoder=str(vits.resolve()))
    data = v.get('data', 'guidance')
    cache = cache_for(out, cfg.encoder, b, sd, b.n_guidance) if data == 'guidance' else gt_cache(out, cfg, b, data, b.n_guidance)
    if cfg.decoder is None: cache = {k: x for k, x in cache.items() if k != 'latents'}
    if cfg.lambda_sem == 0: cache = {k: x for k, x in cache.items() if k not in ('semantic', 'ignore')}
    run, curve = out / 'runs' / name, (v.get('curve') if not quick else 1)
    rc = D.demo_run(cfg, out / 'guidance', b, seed)
    if curve: rc = replace(rc, train=replace(rc.train, ckpt_every=curve, keep_last=10_000))
    t, cpu = time.time(), time.process_time()
    if not D.trained(run, b.steps): train(rc, run, model=build_model(cfg), dataset=D.CachedSamples(cache))
    secs, cpus = time.time() - t, time.process_time() - cpu
    final, pts = run_dir_scores(run, b, n_val, curve, seed)
    fk = feature_kmeans(sd, n_val, b, cfg.encoder) if 'encoder' in v else None
    return dict(settings=v, steps=b.steps, val=final, feature_kmeans=fk, curve={str(k): s for k, s in sorted(pts.items())},
                train_seconds=round(secs, 1), train_cpu_seconds=round(cpus, 1), threads=torch.get_num_threads(),
                load=round(os.getloadavg()[0], 2))

def frame(sd:Path, n_val:int):
    "The no-learning baselines and the patch oracle on the same VAL scenes."
    from glass.tinyworld import TinyWorld
    from glass.evaluate import evaluate, get_protocol, BASELINES
    b = D.demo_budget(False)
    ds = TinyWorld('val', n=n_val, world=D.DEMO_WORLD)
    r = {}
    for k in ('kmeans', 'grid'):
        m = evaluate(BASELINES[k](b.num_slots), ds, get_protocol('tinyworld'), b.eval_batch, progress=False)
        r[k] = {x: round(100 * m[x], 1) for x in KEYS}
    m = D.oracle_metrics(ds, b.image_size // 4, get_protocol('tinyworld'), b.eval_batch)
    r['oracle'] = {x: round(100 * m[x], 1) for x in KEYS}
    r['feature_kmeans'] = feature_kmeans(sd, n_val, b)
    return r

@torch.no_grad()
def feature_kmeans(sd:Path, n_val:int, b, encoder:str=None, split:str='val', dataset=None):
    "k-means (K = `num_slots`, cosine) of each scene's patch features (the first `n_val` of `split`, or `dataset`) from the demo's frozen encoder, scored as the demo scores a model."
    from glass.model import build_model
    from glass.tinyworld import TinyWorld
    from glass.evaluate import evaluate, get_protocol, farthest_centres, lloyd_step, sq_dists
    import torch.nn.functional as F
    cfg = D.demo_config(sd, 'dinosaur', 0, b)
    enc = build_model(replace(cfg, encoder=encoder or cfg.encoder)).encoder.eval()
    def seg(x):
        f = enc(x).float()                                   # (n, c, h, w)
        f = F.normalize(f.flatten(2).transpose(1, 2), dim=-1)  # (n, h*w, c)
        c = farthest_centres(f, b.num_slots)
        for _ in range(10): c = lloyd_step(f, c)
        ids = sq_dists(f, c).argmin(-1).view(len(f), *enc(x[:1]).shape[-2:])
        return F.one_hot(ids, b.num_slots).permute(0, 3, 1, 2).float()  # (n, K, h, w): scored as a model's masks
    ds = dataset if dataset is not None else TinyWorld(split, n=n_val, world=D.DEMO_WORLD)
    m = evaluate(seg, ds, D.model_protocol(b), b.eval_batch, progress=False)
    return {x: round(100 * m[x], 1) for x in KEYS}

@call_parse
def main(out:str, # a working folder (guidance, caches, runs)
         only:str=None, # comma-separated variant names (default: all, in order)
         n_val:int=200, # VAL scenes scored
         threads:int=1, # torch CPU threads
         vits:str='out/vits-s14', # the converted ViT-S/14 folder (`bench/vits_onnx.py`) of the `vits_*` variants
         quick:store_true=False, # 8 guidance images, a few steps, 8 VAL scenes (checks that the script works)
         result:str='bench/results/demo_diagnosis.json'): # results file (updated variant by variant)
    "Train and score the diagnosis variants of the demo on the parts world's VAL split."
    torch.set_num_threads(threads)
    out, res_path = Path(out), Path(result if not quick else result.replace('.json', '_quick.json'))
    names = only.split(',') if only else list(VARIANTS)
    if bad := [n for n in names if n not in VARIANTS and n != 'frame']: raise SystemExit(f'unknown variants {bad}; known: {list(VARIANTS)}')
    n_val, sd = 8 if quick else n_val, D.stand_ins_dir(None)
    D.make_guidance(out / 'guidance', sd, D.demo_budget(quick), 0)
    read = lambda: json.loads(res_path.read_text()) if res_path.is_file() else {}
    def put(k, v):
        res = {**read(), k: v}  # another process may have added variants
        res_path.parent.mkdir(parents=True, exist_ok=True); res_path.write_text(json.dumps(res, indent=1) + '\n')
    if 'frame' not in read() or (only and 'frame' in names):
        put('frame', dict(n_val=n_val, **frame(sd, n_val))); print('frame', read()['frame'], flush=True)
    for n in names:
        if n == 'frame': continue
        v = VARIANTS[n]
        if n in read() and read()[n]['settings'] == v: continue
        r = train_variant(out, n, v, sd, n_val, quick, Path(vits)); put(n, r)
        print(n, r['val'], r['curve'] or '', r['train_seconds'], 's', flush=True)
