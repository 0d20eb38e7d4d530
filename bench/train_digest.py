"""Host memory and time of what a checkpoint costs beyond writing it, before and after issue 11's change: the digest of the
trainable weights (every process computes it, to check that the replicas agree) and the trainable-state dict handed to
`torch.save`. Measured on a mid-size model of Linear layers with random weights (the cost depends only on the number
and sizes of the tensors).

  python bench/train_digest.py            # 64 layers of 1024x1024: 67M parameters
  python bench/train_digest.py --quick    # 8 layers: proves the script runs

Each variant runs in a fresh process. The memory figure is the growth of the process's peak resident set
(`ru_maxrss`) during the call; the model's own weights are already counted before it. Writes
bench/results/train_digest.json (train_digest_quick.json with --quick).
"""
import json, os, platform, resource, subprocess, sys, time
from pathlib import Path
from types import SimpleNamespace
import torch
from fastcore.script import call_parse

def concat_digest(params): # the digest before the change: one float64 copy of all weights, an index vector, their product
    v = torch.cat([p.detach().double().flatten().cpu() for p in params])
    return [float(v.sum()), float((v * torch.arange(1, len(v) + 1, dtype=torch.float64)).sum())]

def clone_state(model): # the trainable state before the change: a host copy of every trainable weight
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}

def variant(name:str, model):
    "The call measured by variant `name`."
    from glass.train import Learner, trainable_state
    model.trainable_parameters = lambda: [p for p in model.parameters() if p.requires_grad]
    params = model.trainable_parameters()
    return dict(digest_concat=lambda: concat_digest(params), digest_per_tensor=lambda: Learner.digest(SimpleNamespace(params=params)),
                state_clone=lambda: clone_state(model), state_views=lambda: trainable_state(model))[name]

def peak_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

def measure(name:str, layers:int, width:int) -> dict:
    "Run variant `name` once in this process; return its peak-memory growth and time."
    torch.manual_seed(0); torch.set_num_threads(1)
    model = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(layers)])
    f = variant(name, model); before = peak_mb()
    t = time.perf_counter(); out = f(); sec = time.perf_counter() - t
    return dict(variant=name, peak_growth_mb=round(peak_mb() - before, 1), seconds=round(sec, 3),
                digest=out if isinstance(out, list) else None)

@call_parse
def main(quick:bool=False, # a small model: proves the script runs
         one:str=None, layers:int=64, width:int=1024): # (internal: measure one variant in this process)
    if one: print(json.dumps(measure(one, layers, width))); return
    layers = 8 if quick else layers
    n = layers * (width * width + width)
    rows = []
    for name in ('digest_concat', 'digest_per_tensor', 'state_clone', 'state_views'):
        r = subprocess.run([sys.executable, __file__, '--one', name, '--layers', str(layers), '--width', str(width)],
                           capture_output=True, text=True, check=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        rows.append(json.loads(r.stdout.strip().splitlines()[-1])); print(rows[-1])
    a, b = rows[0]['digest'], rows[1]['digest']
    res = dict(parameters=n, weights_mb=round(n * 4 / 2**20, 1), layers=layers, width=width, results=rows,
               digest_rel_diff=[abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)],
               machine=platform.platform(), torch=torch.__version__)
    out = Path(__file__).parent / 'results' / f"train_digest{'_quick' if quick else ''}.json"
    out.write_text(json.dumps(res, indent=1)); print(out)
