"""The package's module layout: names stay importable where they used to live, the `glass` commands resolve, every
module imports on its own, and no module imports one that imports it back.

`05_caption_masks` (one module, `glass.guidance`) became six pages and six modules; `glass.evaluate`'s harness moved
to `glass.harness` so that `glass.evaluate` (the `glass eval` command) can sit on top of `glass.tasks`. The lists
below are the modules' `__all__` before those moves, written out so that a later move cannot change them silently.
"""
import ast, importlib, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / 'glass'
MODULES = sorted(p.stem for p in LIB.glob('*.py') if not p.stem.startswith('_'))

OLD_ALL = {
    'glass.guidance': [
        'COCO_CLASSES', 'COCO_SYNONYMS', 'VOC_CLASSES', 'VOC_SYNONYMS', 'VOC_PROMPT_NAMES', 'IRREGULAR_PLURALS', 'TINY_CLASSES',
        'PHRASE_STOPS', 'NEGATIVE_PROMPT', 'MASK_RECIPES', 'SCHEDULERS', 'IMAGE_EXTS', 'plural', 'Vocab', 'make_vocab', 'tiny_classes',
        'coco_vocab', 'voc_vocab', 'tiny_vocab', 'get_vocab', 'find_class_words', 'token_positions', 'tiny_clip_tokenizer',
        'word_level_tokenizer', 'PromptPlan', 'phrase_span', 'plan_prompt', 'CaptureConfig', 'attention_layers', 'resolve_config',
        'select_layers', 'tiny_sd_pipeline', 'AttentionStore', 'head_mean_probs', 'StoringAttnProcessor', 'capture_attention', 'upsample',
        'group_maps', 'refine', 'minmax', 'label_map', 'soft_masks', 'pseudo_mask', 'Generation', 'column_groups', 'generate_with_masks',
        'masks_from_images', 'mask_recipe', 'recipe_dtype', 'write_jsonl', 'read_captions', 'parse_shard', 'shard_batches', 'sample_files',
        'guidance_settings', 'write_guidance', 'GuidanceDataset', 'check_model', 'load_pipeline', 'set_scheduler', 'launch_shard',
        'check_out_dir', 'check_flags', 'guidance_cmd', 'byte_level_standin', 'load_captioner', 'caption_images', 'list_images',
        'check_images', 'caption_parts', 'read_caption_parts', 'caption_settings', 'write_captions', 'caption_cmd'],
    'glass.evaluate': [
        'MASK_SOURCES', 'PRESETS', 'BASELINES', 'FORMATS', 'TASKS', 'VOCABS', 'Protocol', 'get_protocol', 'slot_ids', 'GridBaseline',
        'pixel_features', 'farthest_centres', 'sq_dists', 'lloyd_step', 'KMeansBaseline', 'colour_ids', 'show_masks', 'write_atomic',
        'evaluate', 'write_results', 'open_dataset', 'eval_cmd'],
    'glass.tasks': [
        'RELEASED_UNET', 'TINY_PROPERTIES', 'FID_WEIGHTS', 'MissingPart', 'checkpoint_layout', 'load_released', 'load_model',
        'save_released', 'Segmenter', 'slot_labels', 'class_map', 'caption_pseudo_masks', 'CaptionLabeller', 'evaluate_semseg',
        'match_objects', 'tinyworld_properties', 'category_property', 'slot_examples', 'make_probe', 'fit_probe', 'Standardise',
        'probe_property', 'property_task', 'tinyworld_property_task', 'reconstruct', 'frechet_distance', 'gaussian_stats',
        'encoder_features', 'encoder_frechet_distance', 'fid_status', 'inception_fid', 'generation_task', 'overlay_figure',
        'segment_images', 'segment_cmd'],
}
# private names that other modules, benchmarks or tests import from the old homes
OLD_PRIVATE = {'glass.guidance': ['_guidance_plan'],
               'glass.evaluate': ['_grid_shape', '_palette', '_loader', '_json_safe', '_describe']}

@pytest.mark.parametrize('mod', sorted(OLD_ALL))
def test_old_names_still_import(mod):
    "`from MOD import X` works for every X that MOD exported before the split, and `from MOD import *` still gives them all."
    m = importlib.import_module(mod)
    missing = [n for n in OLD_ALL[mod] + OLD_PRIVATE.get(mod, []) if not hasattr(m, n)]
    assert not missing, f'{mod} no longer provides {missing}'
    assert not set(OLD_ALL[mod]) - set(m.__all__), f'{mod}.__all__ lost {sorted(set(OLD_ALL[mod]) - set(m.__all__))}'

def test_moved_names_are_the_same_objects():
    "A re-exported name is the object of its new home, not a copy."
    import glass.guidance as g, glass.evaluate as e, glass.vocab, glass.pseudo_masks, glass.captions, glass.harness
    assert g.get_vocab is glass.vocab.get_vocab and g.masks_from_images is glass.pseudo_masks.masks_from_images
    assert g.caption_cmd is glass.captions.caption_cmd and e.evaluate is glass.harness.evaluate

def test_commands_resolve():
    "Every `glass` subcommand's 'module:function' names a callable (`glass caption` and `glass guidance` through glass.guidance)."
    from glass.cli import COMMANDS
    for name, (target, _) in COMMANDS.items():
        mod, fn = target.split(':')
        assert callable(getattr(importlib.import_module(mod), fn)), f'glass {name}: {target} is not callable'
    assert COMMANDS['caption'][0] == 'glass.guidance:caption_cmd' and COMMANDS['eval'][0] == 'glass.evaluate:eval_cmd'

def imports_of(path:Path)->set:
    "The glass modules that `path` imports anywhere in it (module level or inside functions): `from .x`, `from glass.x`, `import glass.x`."
    out = set()
    for n in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: out.add(n.module.split('.')[0])
            elif n.level == 1: out.update(a.name for a in n.names)
            elif n.module and n.module.startswith('glass.'): out.add(n.module.split('.')[1])
            elif n.module == 'glass': out.update(a.name for a in n.names)
        elif isinstance(n, ast.Import):
            out.update(a.name.split('.')[1] for a in n.names if a.name.startswith('glass.'))
    return {m for m in out if m in MODULES and m != path.stem}

def find_cycles(graph:dict)->list:
    "The import cycles of `graph` (module -> modules it imports): each strongly connected component with more than one module."
    index, low, stack, on, comps, k = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = k[0]; k[0] += 1; stack.append(v); on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: comps.append(sorted(comp))
    for v in sorted(graph):
        if v not in index: visit(v)
    return comps

def test_find_cycles():
    "The cycle finder on known graphs: a two-module circle, a three-module one, and none."
    assert find_cycles({'a': {'b'}, 'b': {'a'}, 'c': {'a'}}) == [['a', 'b']]
    assert find_cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': set()}) == [['a', 'b', 'c']]
    assert find_cycles({'a': {'b'}, 'b': {'c'}, 'c': set()}) == []

def test_imports_of(tmp_path):
    "The scan sees function-level imports and every spelling of an import of a glass module."
    f = tmp_path / 'tasks.py'
    f.write_text('from .harness import x\nimport glass.core\ndef f():\n    from glass.guidance import y\n    from . import data\n')
    assert imports_of(f) == {'harness', 'core', 'guidance', 'data'}

def test_no_import_cycles():
    "No glass module imports (at module level or inside a function) a module that imports it back, directly or through others."
    graph = {m: imports_of(LIB / f'{m}.py') for m in MODULES}
    assert 'tasks' in graph['evaluate'] and 'evaluate' not in graph['tasks']   # the circle that was: now one way
    cycles = find_cycles(graph)
    assert not cycles, 'import cycles: ' + '; '.join(' <-> '.join(c) for c in cycles)

@pytest.mark.parametrize('mod', MODULES)
def test_module_imports_alone(mod):
    "Each module imports in a fresh interpreter, first of all the package's modules."
    r = subprocess.run([sys.executable, '-c', f'import glass.{mod}'], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f'import glass.{mod} failed:\n{r.stderr[-3000:]}'
