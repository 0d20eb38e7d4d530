"""One training step of the slot-conditioned diffusion decoder, on this machine's CPU.

  python bench/decoder_speed.py            # tiny decoder at 64 px (16x16 latents), batch 32
  python bench/decoder_speed.py --quick    # 32 px, batch 4: proves the script runs

Times forward+backward+AdamW step of `SlotDiffusionDecoder.loss` for each `train_unet` mode
('frozen', 'cross_attn', 'full'), from images (VAE encoding inside the step) and from cached latents
(`encode_latents` once, outside the step). The slots are a trainable tensor standing in for slot
attention, so even a frozen UNet is back-propagated through, as in GLASS stage 1.
Also counts parameters at the tiny size and at Stable Diffusion 2.1 size (built on the meta device:
no weights allocated).
Writes bench/results/decoder_speed.json (bench/results/decoder_speed_quick.json with --quick).
Weights are random (random-init configs of the real classes): timings do not depend on them.
"""
import json, platform
from pathlib import Path
import torch
from fastcore.script import call_parse
from common import timeit
from diffusers import AutoencoderKL, UNet2DConditionModel
from glass.decoder import SlotDiffusionDecoder

SD21_UNET = dict(sample_size=96, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
                 down_block_types=('CrossAttnDownBlock2D',)*3 + ('DownBlock2D',), up_block_types=('UpBlock2D',) + ('CrossAttnUpBlock2D',)*3,
                 attention_head_dim=(5, 10, 20, 20), cross_attention_dim=1024, use_linear_projection=True, upcast_attention=True,
                 norm_num_groups=32, flip_sin_to_cos=True, freq_shift=0, act_fn='silu')
SD21_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
                down_block_types=('DownEncoderBlock2D',)*4, up_block_types=('UpDecoderBlock2D',)*4, norm_num_groups=32,
                sample_size=768, act_fn='silu')

def count(m, pred=lambda n: True): return sum(p.numel() for n, p in m.named_parameters() if pred(n))

def param_counts(vae, unet, null_slots=None):
    "Parameter counts of the parts and of what each `train_unet` mode trains."
    res = dict(vae=count(vae), unet=count(unet), unet_cross_attn=count(unet, lambda n: '.attn2.' in n))
    if null_slots is not None: res['null_slots'] = null_slots.numel()
    return res

def sd21_counts():
    "Parameter counts at Stable Diffusion 2.1 size, built on the meta device."
    with torch.device('meta'): vae, unet = AutoencoderKL(**SD21_VAE), UNet2DConditionModel(**SD21_UNET)
    return dict(param_counts(vae, unet), null_slots_per_token=SD21_UNET['cross_attention_dim'], built_on='meta')

def step_fn(dec, x, slots, seed=0):
    "One optimiser step of the decoder loss (slots stand in for slot attention's trainable output)."
    params = [p for p in dec.parameters() if p.requires_grad] + [slots]
    opt, g = torch.optim.AdamW(params, lr=1e-4), torch.Generator().manual_seed(seed)
    def step():
        opt.zero_grad(set_to_none=True)
        dec.loss(x, slots, g).backward()
        opt.step()
    return step

def tiny_bench(quick:bool):
    "Time decoder training steps at a tiny size, per train_unet mode, with and without cached latents."
    size, bs, K, D, reps = (32, 4, 7, 32, 2) if quick else (64, 32, 7, 64, 5)
    cfg = dict(cross_attention_dim=D, unet_channels=(32, 64), vae_channels=(8, 16, 16), resolution=size)
    imgs = torch.rand(bs, 3, size, size, generator=torch.Generator().manual_seed(0))
    slots = torch.nn.Parameter(torch.randn(bs, K, D, generator=torch.Generator().manual_seed(1)))
    res = dict(config=dict(cfg, batch=bs, num_slots=K, latent_size=size // 4), steps={})
    for mode in ('frozen', 'cross_attn', 'full'):
        torch.manual_seed(0)
        dec = SlotDiffusionDecoder.tiny(train_unet=mode, **cfg).train()
        lat = dec.encode_latents(imgs)
        t_img, t_lat = timeit(step_fn(dec, imgs, slots), reps), timeit(step_fn(dec, lat, slots), reps)
        res['steps'][mode] = dict(trainable_params=sum(p.numel() for p in dec.parameters() if p.requires_grad),
                                  step_s_from_images=t_img, step_s_from_cached_latents=t_lat, speedup=t_img / t_lat)
    res['encode_latents_s_per_batch'] = timeit(lambda: dec.encode_latents(imgs), reps)
    res['params'] = param_counts(dec.vae, dec.unet, dec.null_slots)
    dec.eval()
    res['sample_s_per_batch'] = {f'dpm_{n}steps_cfg{s:g}': timeit(lambda: dec.sample(slots.detach(), n, s, generator=torch.Generator().manual_seed(0)), 1, 0)
                                 for n, s in ((5 if quick else 25, 1.), (5 if quick else 25, 2.))}
    return res

@call_parse
def main(quick:bool=False, # small sizes: proves the script runs
         out:str=None, # result file (default bench/results/decoder_speed[_quick].json)
        ):
    "Benchmark the diffusion decoder's training step and count its parameters."
    res = dict(machine=dict(platform=platform.platform(), cpus=torch.get_num_threads(), torch=torch.__version__),
               quick=quick, tiny=tiny_bench(quick), sd21=sd21_counts())
    path = Path(out or Path(__file__).parent/'results'/f"decoder_speed{'_quick' if quick else ''}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1)); print(f'wrote {path}')
