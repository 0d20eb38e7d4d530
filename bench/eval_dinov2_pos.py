"""DINOv2 ViT-B/14 patch tokens at 448 px: transformers' position-embedding resize against DINOv2's own (hub) rule.

Random weights (no download): the same ViT-B/14 run by `glass.encoder.DinoEncoder` with `pos_embed='transformers'`
(the behaviour before issue 15) and `pos_embed='hub'` (the hub code's rule, proven equal to a hub-layout ViT in
nbs/03_encoder.ipynb). For three kinds of position embeddings it records the max abs token difference, the minimum
cosine between corresponding tokens, and the share of patches whose argmax slot changes under a random COCO-size
slot attention (7 slots, 5 iterations, 1 head, 768 -> 1024, the same initial slots for both).
Run: OMP_NUM_THREADS=1 python bench/eval_dinov2_pos.py   (about 2 minutes on one CPU thread)
"""
import json, time, platform
from pathlib import Path
import torch, torch.nn.functional as F
from transformers import Dinov2Config
from glass.encoder import DinoEncoder
from glass.slot_attention import SlotAttention
from glass.tinyworld import render_scene
from glass.core import to_tensor

def images(n=4, size=448):
    "Half tiny-world scenes rendered at `size`, half uniform noise."
    scenes = [to_tensor(render_scene(s, size).image) for s in range(n // 2)]
    noise = [torch.rand(3, size, size, generator=torch.Generator().manual_seed(s)) for s in range(n - n // 2)]
    return torch.stack(scenes + noise)

def pos_variants(M=37, D=768, seed=0):
    g = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.randn(1, D, 6, 6, generator=g), size=(M, M), mode='bicubic', align_corners=True)
    return {'iid_normal (worst case)': torch.randn(1, M * M, D, generator=g),
            'smooth (6x6 normal field, bicubic to 37x37)': smooth.flatten(2).transpose(1, 2),
            'transformers init (trunc normal, std 0.02)': None}

def main(out='bench/results/eval_dinov2_pos.json', n=4):
    torch.manual_seed(0)
    enc = DinoEncoder.from_config(Dinov2Config(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, patch_size=14, image_size=518))
    before = DinoEncoder(enc.model, pos_embed='transformers')
    sa = SlotAttention().eval()  # the released COCO config
    x, res = images(n), {}
    init_pos = enc.model.embeddings.position_embeddings.data[:, 1:].clone()
    for name, pos in pos_variants().items():
        enc.model.embeddings.position_embeddings.data[:, 1:] = init_pos if pos is None else pos
        t0 = time.time()
        a, b = before(x), enc(x)  # (n, 768, 32, 32)
        init = sa.init_slots(n, generator=torch.Generator().manual_seed(1))
        with torch.no_grad(): ma, mb = sa(a, slots_init=init).masks, sa(b, slots_init=init).masks
        cos = F.cosine_similarity(a, b, dim=1)
        res[name] = dict(max_abs_diff=(a - b).abs().max().item(), mean_abs_diff=(a - b).abs().mean().item(),
                         min_cosine=cos.min().item(), mean_cosine=cos.mean().item(),
                         argmax_changed_pct=100 * (ma.argmax(1) != mb.argmax(1)).double().mean().item(),
                         argmax_changed_pct_at_256=100 * (F.interpolate(ma, size=256, mode='bilinear').argmax(1) != F.interpolate(mb, size=256, mode='bilinear').argmax(1)).double().mean().item(),
                         seconds=round(time.time() - t0, 1))
        print(name, res[name], flush=True)
    rec = dict(what=__doc__.splitlines()[0], images=f'{n // 2} tiny-world scenes rendered at 448 + {n - n // 2} uniform-noise images, 448x448',
               model='DINOv2 ViT-B/14 architecture, random weights', results=res, torch=torch.__version__, machine=platform.machine(),
               after='pos_embed="hub": equal to the hub-layout ViT bit for bit at 448 and 518 (nbs/03_encoder.ipynb, slow cell at full size)')
    Path(out).write_text(json.dumps(rec, indent=1))

if __name__ == '__main__': main()
