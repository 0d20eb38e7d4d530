"""The shipped architectures through the encoder and decoder loaders: `random:dinov2-*` in `DinoEncoder.from_pretrained`,
`random:sd21` in `SlotDiffusionDecoder.from_pretrained` (full size only with GLASS_SLOW=1), and the SD 2.1 tokenizer files
against open_clip's own tokenizer where open_clip is installed (it is not a dependency)."""
import os, gzip, json
import pytest, torch
from glass.core import part_source, architectures_dir, clip_vocab
from glass.encoder import DinoEncoder

def test_dinov2_mini_and_base():
    mini = DinoEncoder.from_pretrained('random:dinov2-mini')
    x = torch.rand(1, 3, 448, 448, generator=torch.Generator().manual_seed(0))
    f = mini(x)
    assert f.shape == (1, 48, 32, 32) and torch.equal(f, DinoEncoder.from_pretrained('random:dinov2-mini')(x))  # seeded
    assert not torch.equal(f, DinoEncoder.from_pretrained('random:dinov2-mini@1')(x))
    assert DinoEncoder.from_pretrained('random:dinov2-mini', dtype=torch.bfloat16).model.dtype == torch.bfloat16
    base = DinoEncoder.from_pretrained('random:dinov2-base')
    assert sum(p.numel() for p in base.parameters()) == 86_580_480  # DINOv2 ViT-B/14: 86.6 M
    assert base(x).shape == (1, 768, 32, 32)  # the paper's 448-px input: a 32x32 grid of width 768
    assert not any(p.requires_grad for p in base.parameters())

@pytest.mark.skipif(os.environ.get('GLASS_SLOW') != '1', reason='full-size SD 2.1 decoder (random weights, ~6 GB): set GLASS_SLOW=1')
def test_sd21_decoder_full_size():
    from glass.decoder import SlotDiffusionDecoder
    dec = SlotDiffusionDecoder.from_pretrained('random:sd21', resolution=256, unconditional='empty_prompt')
    assert sum(p.numel() for p in dec.unet.parameters()) == 865_910_724 and sum(p.numel() for p in dec.vae.parameters()) == 83_653_863
    assert dec.empty_prompt.shape == (77, 1024) and dec.latent_size == 32 and dec.scheduler.config.prediction_type == 'v_prediction'
    slots = torch.randn(1, 7, 1024)
    assert dec.null_context(1, 7).shape == (1, 7, 1024)
    assert torch.isfinite(dec.loss(torch.rand(1, 3, 256, 256), slots)).all()

def test_sd21_tokenizer_matches_open_clip():
    "The shipped vocab.json is open_clip's vocabulary (ids of every token), and both tokenizers encode alike."
    tk = pytest.importorskip('open_clip.tokenizer')
    from transformers import CLIPTokenizer
    st = tk.SimpleTokenizer()
    d = part_source('random:sd21', 'tokenizer')[0]
    ours = json.loads(open(f'{d}/vocab.json').read())
    theirs = {k.replace('<start_of_text>', '<|startoftext|>').replace('<end_of_text>', '<|endoftext|>'): v for k, v in st.encoder.items()}
    assert ours == theirs
    tok = CLIPTokenizer.from_pretrained(d, pad_token='<|endoftext|>')  # '!' as pad would be kept whole in text
    for s in ['a photo of a cat', 'An aeroplane, fire hydrant & surfboards!', 'two people riding motorbikes; person motorbike']:
        assert tok(s, add_special_tokens=False).input_ids == st.encode(s), s
