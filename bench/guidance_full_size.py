"""Full-size guidance on this CPU, with random weights: parameters of every shipped architecture against the known figures,
time and peak memory of building `random:sd21`, and of one `glass guidance` generation at 512 px with the `sd` recipe's
attention capture (2 denoising steps, i.e. 3 UNet calls under PNDM) for `random:sd21` and `random:sd21-mini`.
Each measurement runs in its own process (peak RSS = that process's ru_maxrss).

    python bench/guidance_full_size.py --threads 2      # writes bench/results/guidance_full_size.json
"""
import json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path
from fastcore.script import call_parse

KNOWN = {  # published sizes (paper-scale.md; model cards)
    ('sd21', 'unet'): 865_910_724, ('sd21', 'vae'): 83_653_863, ('sd21', 'text_encoder'): 'about 340 M',
    ('dinov2-base', ''): '86.6 M', ('blip2-opt-2.7b', ''): 'about 3.8 B (3.74 B on its model card)'}

def count_all():
    "Parameters of each part of each architecture, built on the meta device."
    import torch
    from diffusers import UNet2DConditionModel, AutoencoderKL
    from transformers import CLIPTextModel, AutoModel, Blip2ForConditionalGeneration
    from glass.core import build_random, architecture_names, RandomWeights
    n = lambda m: sum(p.numel() for p in m.parameters())
    out = {}
    for name in architecture_names():
        kind = RandomWeights(name).info['kind']
        parts = ({'unet': UNet2DConditionModel, 'vae': AutoencoderKL, 'text_encoder': CLIPTextModel} if kind == 'stable-diffusion'
                 else {'': AutoModel} if kind == 'dinov2' else {'': Blip2ForConditionalGeneration})
        out[name] = {p or 'model': dict(parameters=n(build_random(c, f'random:{name}', p or None, device='meta')),
                                        known=KNOWN.get((name, p)), shipped=RandomWeights(name).info['parameters'][p])
                     for p, c in parts.items()}
    return out

BUILD = '''
import time, resource, json
t = time.time()
from glass.guidance import load_pipeline
p = load_pipeline("random:sd21", "cpu")
n = sum(x.numel() for m in (p.unet, p.vae, p.text_encoder) for x in m.parameters())
print(json.dumps(dict(seconds=round(time.time() - t, 1), peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      parameters=n)))
'''

GEN = '''
import sys, time, resource, json
from glass.cli import main
t = time.time(); rc = main(sys.argv[1:])
print(json.dumps(dict(rc=rc, seconds=round(time.time() - t, 1), peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))))
'''

def _run(code, args=(), threads=1):
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'HF_HUB_OFFLINE': '1', 'GLASS_PROGRESS': '0'}
    r = subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True, env=env)
    if r.returncode: raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])

@call_parse
def main(threads:int=1, # torch threads of each measured process
         out:str='bench/results/guidance_full_size.json'):
    "Measure and write the figures."
    res = dict(machine=platform.processor() or platform.machine(), cpus=os.cpu_count(), threads=threads, parameters=count_all())
    res['build_random_sd21'] = _run(BUILD, threads=threads)
    with tempfile.TemporaryDirectory() as d:
        caps = Path(d) / 'caps.jsonl'; caps.write_text(json.dumps(dict(caption='a dog chasing a ball on the grass')) + '\n')
        for model in ('random:sd21-mini', 'random:sd21'):
            args = ['guidance', str(caps), f'{d}/{model[7:]}', '--model', model, '--recipe', 'sd', '--steps', '2', '--size', '512',
                    '--batch_size', '1', '--device', 'cpu']
            r = _run(GEN, args, threads)
            rec = json.loads((Path(d) / model[7:] / 'records' / '0000000.json').read_text())
            r.update(unet_calls=rec['unet_calls'], scheduler=rec['scheduler'], cross_res=rec['mask']['cross_res'], self_res=rec['mask']['self_res'],
                     command='glass ' + ' '.join(a if a != str(caps) else 'CAPTIONS' for a in args).replace(d + '/', ''))
            res[f'guidance_512_2steps_{model[7:]}'] = r
            print(model, r, flush=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=1) + '\n')
    print(json.dumps(res, indent=1))
