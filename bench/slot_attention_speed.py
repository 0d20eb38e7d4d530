"""Slot-attention speed on this CPU: forward+backward at the paper's size, and parameter counts.

    python bench/slot_attention_speed.py            # full run: batch 32, 32x32 patches, width 768, 7 slots, 5 iterations
    python bench/slot_attention_speed.py --quick    # batch 2, one timed step: checks that the script works

Writes bench/results/slot_attention_speed.json (or --out). The paper's size is the default
`SlotAttention()` config (the official COCO config); the tiny size (`TINY`: an 8x8 grid of width 64,
4 slots) only gives a parameter count for comparison.
"""
import json, os, platform, time
from pathlib import Path
import torch
from fastcore.script import call_parse, store_true
from glass.slot_attention import SlotAttention

TINY = dict(num_slots=4, num_iterations=3, num_heads=1, slot_size=64, mlp_hidden_size=128, input_size=64,
            out_size=64, input_resolution=8)

def n_params(m): return sum(p.numel() for p in m.parameters())

def step(model, x, generator, backward=True):
    "Seconds for one forward (+ backward) pass on features `x`."
    model.zero_grad(set_to_none=True)
    t = time.perf_counter()
    with torch.set_grad_enabled(backward):
        out = model(x, generator=generator)
        if backward: (out.slots.square().mean() + out.masks.square().mean()).backward()
    return time.perf_counter() - t

def timings(model, x, repeats:int, backward=True):
    "Times (s) of `repeats` steps after one warm-up step."
    g = torch.Generator().manual_seed(0)
    step(model, x, g, backward)
    return [step(model, x, g, backward) for _ in range(repeats)]

def summary(ts): return dict(mean_s=round(sum(ts) / len(ts), 4), min_s=round(min(ts), 4), runs=[round(t, 4) for t in ts])

@call_parse
def main(quick:store_true=False, # batch 2 and one timed step, to check that the script works
         batch:int=32, # batch size of the full run
         repeats:int=3, # timed steps of the full run (after one warm-up)
         out:str='bench/results/slot_attention_speed.json'): # where to write the results
    "Time slot attention forward+backward at the paper's size; count parameters at tiny and paper size."
    b, repeats = (2, 1) if quick else (batch, repeats)
    torch.manual_seed(0)
    paper, tiny = SlotAttention(), SlotAttention(**TINY)
    c, r = paper.config.input_size, paper.config.input_resolution
    x = torch.randn(b, c, r, r)
    res = dict(quick=quick, batch=b, grid=f'{r}x{r}', width=c, num_slots=paper.config.num_slots,
               num_iterations=paper.config.num_iterations,
               params=dict(paper=n_params(paper), tiny=n_params(tiny)), tiny_config=TINY,
               forward_backward=summary(timings(paper, x, repeats)),
               forward_no_grad=summary(timings(paper, x, repeats, backward=False)),
               machine=dict(platform=platform.platform(), processor=platform.processor(), python=platform.python_version(),
                            torch=torch.__version__, torch_threads=torch.get_num_threads(), cpus=os.cpu_count(),
                            load_average=[round(v, 2) for v in os.getloadavg()]))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(res, indent=2) + '\n')
    print(f"params: paper {res['params']['paper']:,}  tiny {res['params']['tiny']:,}")
    print(f"batch {b}, {r}x{r}x{c}, {res['num_slots']} slots, {res['num_iterations']} iterations: "
          f"forward+backward {res['forward_backward']['mean_s']:.3f} s, forward (no grad) {res['forward_no_grad']['mean_s']:.3f} s")
    print(f'wrote {out}')
