"""Choices of the demo, made on the parts world's VAL split at the demo's budget (never on test).

    python bench/demo_val.py bench/demo_val_variants.json out/demo-val      # every variant of the file
    python bench/demo_val.py bench/demo_val_variants.json out/demo-val --only enc_distill,enc_mim
    python bench/demo_val.py bench/demo_val_variants.json out/demo-val --quick   # 8 guidance images, 2 steps

Each variant names an encoder (a stand-in folder or `tinyworld:NAME`), the models to train (keys of
`glass.demo.MODELS`), `DemoBudget` overrides (`steps`, `lr`, `num_slots`, `n_guidance`, `mask_size`, ...), GLASS's
loss weights (`weights`) and other `GlassConfig` fields (`config`). The stages are the demo's own
(`make_guidance`, `build_cache`, `demo_config`, `demo_run`, `glass.train.train`); the guidance data are generated
once for the largest `n_guidance` of the file (a variant with fewer uses the first ones), and every trained model
is scored on the first `n_val` VAL scenes with the demo's protocol. Results are appended to
bench/results/demo/val.json (per variant: the settings, the scores in percent, the training seconds), so an
interrupted run continues.
"""
import json, os, time
from dataclasses import asdict, replace
from pathlib import Path
import torch
from fastcore.script import call_parse, store_true
from glass import demo as D

def cache_for(out:Path, encoder:str, b, sd:Path, rows:int):
    "The guidance cache of `encoder` (computed once per encoder and mask size)."
    from glass.model import build_model
    from glass.guidance import GuidanceDataset
    p = out / 'cache' / f"{encoder.replace('/', '_').replace(':', '_')}_{b.image_size}_{b.mask_size}.pt"
    if not p.is_file():
        cfg = replace(D.demo_config(sd, 'glass', 0, b), encoder=encoder)
        D.save_cache(D.build_cache(GuidanceDataset(out / 'guidance', transform=D.cache_transform(cfg, b.mask_size)), build_model(cfg)), p)
    return {k: v[:rows] for k, v in torch.load(p, weights_only=True).items()}

def score_val(model, b, n:int, seed:int=0):
    "Percent scores of `model` on the first `n` VAL scenes (the demo's protocol)."
    from glass.tinyworld import TinyWorld
    from glass.evaluate import evaluate
    seg = lambda x: model.segment(x, generator=torch.Generator().manual_seed(seed))
    r = evaluate(seg, TinyWorld('val', n=n, world=D.DEMO_WORLD), D.model_protocol(b), b.eval_batch, progress=False)
    return {k: round(100 * r[k], 1) for k in ('fg_ari', 'mbo_i', 'miou_i', 'mbo_c', 'miou_c')}

def score_kmeans(b, n:int):
    "Percent scores of colour k-means (K = `num_slots`) on the first `n` VAL scenes (the demo's baseline protocol)."
    from glass.tinyworld import TinyWorld
    from glass.evaluate import evaluate, get_protocol, BASELINES
    r = evaluate(BASELINES['kmeans'](b.num_slots), TinyWorld('val', n=n, world=D.DEMO_WORLD), get_protocol('tinyworld'), b.eval_batch, progress=False)
    return {k: round(100 * r[k], 1) for k in ('fg_ari', 'mbo_i', 'miou_i', 'mbo_c', 'miou_c')}

def run_variant(out:Path, name:str, v:dict, sd:Path, n_val:int, seed:int, quick:bool):
    "Train and score the models of one variant (and k-means with its number of slots)."
    from glass.model import build_model
    from glass.train import train
    b = D.demo_budget(quick, **v.get('budget', {}))
    res = {}
    for p in v.get('models', ['glass']):
        weights = v.get('weights', {}) if p == 'glass' else {}
        cfg = replace(D.demo_config(sd, p, seed, b), **({'encoder': v['encoder']} if 'encoder' in v else {}), **weights, **v.get('config', {}))
        cache = cache_for(out, cfg.encoder, b, sd, b.n_guidance)
        if cfg.decoder is None: cache = {k: x for k, x in cache.items() if k != 'latents'}
        t = time.time()
        m = train(D.demo_run(cfg, out / 'guidance', b, seed), out / 'runs' / f'{name}_{p}', model=build_model(cfg), dataset=D.CachedSamples(cache)).model
        res[p] = dict(val=score_val(m.eval(), b, n_val, seed), train_seconds=round(time.time() - t, 1))
        print(name, p, res[p], flush=True)
    res['kmeans'] = dict(val=score_kmeans(b, n_val))
    return dict(settings=v, budget=asdict(b), models=res, threads=torch.get_num_threads(), load=round(os.getloadavg()[0], 2))

@call_parse
def main(variants:str, # a JSON file: {name: {encoder, models, budget, weights, config}}
         out:str, # a working folder (guidance, caches, runs)
         only:str=None, # comma-separated variant names (default: all)
         n_val:int=200, # VAL scenes scored
         seed:int=0, threads:int=1,
         quick:store_true=False, # 8 guidance images, 2 steps (checks that the script works)
         result:str='bench/results/demo/val.json'): # results file (appended)
    "Train and score demo variants on the parts world's VAL split."
    torch.set_num_threads(threads)
    vs, out, res_path = json.loads(Path(variants).read_text()), Path(out), Path(result if not quick else result.replace('.json', '_quick.json'))
    if only: vs = {k: vs[k] for k in only.split(',')}
    n_val = 8 if quick else n_val
    sd = D.stand_ins_dir(None)
    gb = D.demo_budget(quick, n_guidance=max(v.get('budget', {}).get('n_guidance', D.DemoBudget.n_guidance) for v in vs.values()) if not quick else None)
    D.make_guidance(out / 'guidance', sd, gb, seed)
    done = json.loads(res_path.read_text()) if res_path.is_file() else {}
    for name, v in vs.items():
        if name in done and done[name]['settings'] == v: continue
        r = run_variant(out, name, v, sd, n_val, seed, quick)
        done = {**(json.loads(res_path.read_text()) if res_path.is_file() else {}), name: r}  # another process may have added variants
        res_path.parent.mkdir(parents=True, exist_ok=True); res_path.write_text(json.dumps(done, indent=1) + '\n')
    for name, r in done.items(): print(name, {p: m['val']['mbo_i'] for p, m in r['models'].items()})
