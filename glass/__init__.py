"""GLASS (Guided Latent Slot Diffusion for object-centric learning), with a tiny world that runs on a CPU.

The names a user needs are here, each imported from its module on first use, so that `import glass` (and the
`glass` command's help) loads no torch:

* the model and its config: `GLASS`, `GlassConfig`, `tiny_config`; a trained one: `load_model(folder)`;
* segmenting images: `Segmenter(model)` (images -> slot masks), `segment_images(model, src, out_dir)` (files);
* the tiny world: `render_scene`, `split_seeds`, `TinyWorld` (a dataset), `export_coco`, `export_voc`;
* scoring: `evaluate_discovery` (`glass.harness.evaluate`: a model's masks on a dataset) with `get_protocol`,
  `DiscoveryMetrics`, and the metrics `ari`, `fg_ari`, `mbo`, `miou`;
* errors a user can fix: `InputError`, `MissingInputError`.

This file is written by hand (nbdev only keeps `__version__` in step); the modules are made from `nbs/`.
"""
__version__ = "0.0.1"

import os as _os
# OpenMP threads that wait for work sleep at once instead of spinning: on a busy machine spinning threads burn the CPU
# the others need (bench/demo_threads.py: at load 9, five training steps took 265 s and 49 CPU-s with libgomp's
# default policy, 39 s and 9.4 CPU-s with PASSIVE). Read when torch loads, so it applies when glass is imported before
# torch (the `glass` command always is); a policy the user set is kept.
_os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

_LAZY = {  # name -> the module that defines it ('module:attribute' where the name differs)
    **dict.fromkeys(('GLASS', 'GlassConfig', 'tiny_config'), 'glass.model'),
    **dict.fromkeys(('load_model', 'Segmenter', 'segment_images'), 'glass.tasks'),
    **dict.fromkeys(('render_scene', 'split_seeds', 'TinyWorld', 'export_coco', 'export_voc'), 'glass.tinyworld'),
    'evaluate_discovery': 'glass.harness:evaluate',  # not `evaluate`: that is the module `glass.evaluate`
    'get_protocol': 'glass.harness',
    **dict.fromkeys(('DiscoveryMetrics', 'ari', 'fg_ari', 'mbo', 'miou'), 'glass.metrics'),
    **dict.fromkeys(('InputError', 'MissingInputError'), 'glass.cli'),
}
__all__ = list(_LAZY)

def __getattr__(name):
    if name not in _LAZY: raise AttributeError(f"module 'glass' has no attribute {name!r}")
    import importlib
    mod, _, attr = _LAZY[name].partition(':')
    value = getattr(importlib.import_module(mod), attr or name)
    globals()[name] = value  # later lookups skip this function
    return value

def __dir__(): return sorted([*globals(), *_LAZY])
