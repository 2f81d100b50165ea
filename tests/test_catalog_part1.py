"""Catalog part 1: the seed systems transformers classes express, at their published sizes.

Real components only: parameter counts come from instantiating the real classes on the meta
device, visual tokens from the real processors on real images, and every tiny variant runs
through the real runner (spawned worker, real generate).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from transformers import CLIPVisionConfig, LlavaConfig, LlavaNextConfig, PaliGemmaConfig, SiglipVisionConfig

from vlmbench.backends.hf.backend import format_prompt
from vlmbench.catalog import all_entries, bunny, get, llava, llava_next, minigpt4, paligemma, tinyllava
from vlmbench.catalog.materialise import count_parameters_meta
from vlmbench.catalog.param_cache import ParameterCountCache
from vlmbench.catalog.tokenizer import build_tokenizer
from vlmbench.config import DEFAULT_MODELS
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import iter_rows

from conftest import run_cli

FAMILY_MODULES = (llava, llava_next, paligemma, tinyllava, bunny, minigpt4)
ENTRIES = [e for module in FAMILY_MODULES for e in module.ENTRIES]
REAL = [e for e in ENTRIES if not e.is_tiny]
TINY = [e for e in ENTRIES if e.is_tiny]
SYSTEMS = sorted({e.system for e in ENTRIES})
PARAM_COUNTS_JSON = Path(__file__).parent / "data" / "param-counts.json"  # copy of the fact sheet's file


# Catalog id -> key of the fact sheet's param-counts.json (entries of other families included).
FACT_SHEET_KEYS = {
    "llava-1.5-7b": "llava-1.5-7b-hf_total",
    "llava-1.5-13b": "llava-1.5-13b-hf_total",
    "llava-1.6-vicuna-7b": "llava-v1.6-vicuna-7b-hf_total",
    "llava-1.6-vicuna-13b": "llava-v1.6-vicuna-13b-hf_total",
    "llava-1.6-mistral-7b": "llava-v1.6-mistral-7b-hf_total",
    "llava-1.6-34b": "llava-v1.6-34b-hf_total",
    "paligemma-3b-224": "paligemma-3b-224_total",
    "paligemma-3b-448": "paligemma-3b-448_total",
    "paligemma-3b-896": "paligemma-3b-896_total",
    "tinyllava-1.4b": "tiny-llava-v1-hf_1.4B(tinyllama vocab32064 + clipL336)",
    "tinyllava-legacy-1.5b": "tinyllava_tinyllama_siglip_1.5B",
    "tinyllava-legacy-2.0b": "tinyllava_stablelm2_siglip_2.0B",
    "tinyllava-legacy-3.1b": "tinyllava_phi2_siglip_3.1B",
    "tinyllava-2.4b": "tinyllava_gemma2b_siglip_2.4B",
    "tinyllava-3.1b": "tinyllava_phi2_siglip_3.1B",
    "bunny-1.0-2b-zh": "bunny_v1_0-2B-zh(qwen1.5-1.8b)_siglip",
    "bunny-1.0-3b": "bunny_v1_0-3B(phi2,vocab50295)_siglip",
    "bunny-1.0-4b": "bunny_v1_0-4B(phi3,vocab 32064?)_siglip",
    "bunny-llama-3-8b-v": "bunny_Llama-3-8B-V(vocab128257)_siglip",
    "minigpt4-7b": "minigpt4_vicuna7b",
    "minigpt4-13b": "minigpt4_vicuna13b",
    "mgm-2b": "mgm_gemma2b_total",
    "mgm-7b": "mgm_vicuna7b_total",
    "mgm-7b-hd": "mgm_vicuna7b_total",
    "mgm-13b": "mgm_vicuna13b_total",
    "mgm-13b-hd": "mgm_vicuna13b_total",
    "mgm-8b": "mgm_llama3_8b_total",
    "mgm-8b-hd": "mgm_llama3_8b_total",
    "mgm-8x7b": "mgm_mixtral8x7b_total",
    "mgm-8x7b-hd": "mgm_mixtral8x7b_total",
    "mgm-34b": "mgm_yi34b_total",
    "mgm-34b-hd": "mgm_yi34b_total",
    "minigpt-v2": "minigptv2_llama2_7b_448",
    "minigpt-4-llama2-7b": "minigpt4_llama2_7b(no qformer, 4-merge)",
    "tinygpt-v": "tinygptv_224",
    "tinygpt-v-448": "tinygptv_448(stage4)",
    "bunny-1.1-4b": "bunny_v1_0-4B(phi3,vocab 32064?)_siglip_S2(mm_hidden 3456)",
    "bunny-1.1-llama-3-8b-v": "bunny_Llama-3-8B-V(vocab128257)_siglip_S2(mm_hidden 3456)",
    "cogvlm-17b": "cogvlm_490_total",
    "cogvlm-17b-224": "cogvlm_224_total",
    "cogagent-18b": "cogagent_total(224 lowres + 1120 cross)",
}

# What the real classes build, exactly: the fact sheet's total (param-counts.json) less what the
# builds leave out, derived by hand from the published shapes (not read back from the code):
# - SigLIP-so400m/14 has 27 encoder layers; the TinyLLaVA legacy checkpoints (and so the builds)
#   drop the last one: q, k, v, o (1152 -> 1152, biased), fc1 1152 -> 4304 and fc2 4304 -> 1152
#   (biased), two LayerNorms (weight + bias) = 15,239,504;
# - Phi-2's LM head has a bias over its 51,200 (padded) vocabulary; transformers' Phi-2 head here
#   is built without it.
SIGLIP_SO400M_LAYER = 4 * (1152 * 1152 + 1152) + (1152 * 4304 + 4304) + (4304 * 1152 + 1152) + 2 * (2 * 1152)
PHI2_HEAD_BIAS = 51_200
NOT_BUILT = {
    "tinyllava-legacy-1.5b": SIGLIP_SO400M_LAYER,
    "tinyllava-legacy-2.0b": SIGLIP_SO400M_LAYER,
    "tinyllava-legacy-3.1b": SIGLIP_SO400M_LAYER + PHI2_HEAD_BIAS,
    "tinyllava-3.1b": PHI2_HEAD_BIAS,
    "bunny-1.0-3b": PHI2_HEAD_BIAS,
}
_SHEET = json.loads(PARAM_COUNTS_JSON.read_text(encoding="utf-8"))
BUILT_PARAMS = {model_id: _SHEET[FACT_SHEET_KEYS[model_id]] - NOT_BUILT.get(model_id, 0) for model_id in (
    "llava-1.5-7b",
    "llava-1.5-13b",
    "llava-1.6-vicuna-7b",
    "llava-1.6-vicuna-13b",
    "llava-1.6-mistral-7b",
    "llava-1.6-34b",
    "paligemma-3b-224",
    "paligemma-3b-448",
    "paligemma-3b-896",
    "tinyllava-1.4b",
    "tinyllava-legacy-1.5b",
    "tinyllava-legacy-2.0b",
    "tinyllava-legacy-3.1b",
    "tinyllava-2.4b",
    "tinyllava-3.1b",
    "bunny-1.0-2b-zh",
    "bunny-1.0-3b",
    "bunny-1.0-4b",
    "bunny-llama-3-8b-v",
    "minigpt4-7b",
    "minigpt4-13b",
)}

# LLaVA-1.6 AnyRes: image (width, height) -> tokens the LLM receives (fact sheet examples).
ANYRES_TOKENS = {
    (672, 672): 2928, (1024, 768): 2340, (640, 480): 2340, (1280, 720): 1948,
    (1920, 1080): 1948, (336, 336): 1176, (336, 1008): 2376,
}
OTHER_SIZES = ((640, 480), (1500, 400))  # plus each entry's reference resolution
ANYRES_SIZES = ((672, 672), (640, 480), (336, 1008))  # every LLaVA-1.6 entry; all examples on one

# The SigLIP layer-selection subtleties: (layers built, feature layer, strategy, tokens).
SIGLIP_SELECTION = {
    "tinyllava-legacy-1.5b": (26, -1, "full", 729),
    "tinyllava-legacy-2.0b": (26, -1, "full", 729),
    "tinyllava-legacy-3.1b": (26, -1, "full", 729),
    "tinyllava-2.4b": (27, -2, "default", 728),
    "tinyllava-3.1b": (27, -2, "default", 728),
    "bunny-1.0-2b-zh": (27, -2, "full", 729),
    "bunny-1.0-3b": (27, -2, "full", 729),
    "bunny-1.0-4b": (27, -2, "full", 729),
    "bunny-llama-3-8b-v": (27, -2, "full", 729),
}


def ids(entries):
    return [e.id for e in entries]


def stand_in_processor(entry):
    """The processor ``load_random`` builds for this entry, and its image-token id."""
    spec = entry.processor
    tokenizer = build_tokenizer(spec.image_token, spec.extra_special_tokens, chat_template=spec.chat_template)
    processor = spec.build(tokenizer)
    image_token = spec.image_token or str(processor.image_token)
    return processor, processor.tokenizer.convert_tokens_to_ids(image_token)


def count_image_tokens(entry, processor, image_token_id, image) -> int:
    text = format_prompt(processor, "What is shown in this image?", entry.prompt_template)
    inputs = processor(images=[image], text=[text], return_tensors="pt")
    return int((inputs["input_ids"] == image_token_id).sum())


def expected_tokens(entry, size: tuple[int, int]) -> int:
    if isinstance(entry.build_config(), LlavaNextConfig):
        return ANYRES_TOKENS[size]
    return entry.visual_tokens


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize("entry", REAL, ids=ids(REAL))
def test_parameter_count_matches_fact_sheet(entry):
    built = count_parameters_meta(entry.model_class, entry.build_config())
    assert built == BUILT_PARAMS[entry.id]
    reference = entry.reference_params
    assert reference is not None
    assert abs(built + entry.reference_params_not_built - reference) / reference <= 0.005
    if built + entry.reference_params_not_built != reference:  # not exact: the entry must say why
        assert "bias" in entry.provenance.approximations


def test_reference_params_agree_with_param_counts_json():
    facts = json.loads(PARAM_COUNTS_JSON.read_text(encoding="utf-8"))
    assert set(FACT_SHEET_KEYS.values()) <= set(facts), "a mapped key is missing from param-counts.json"
    assert {e.id for e in REAL} <= set(FACT_SHEET_KEYS), "a part-1 entry has no fact-sheet figure mapped"
    checked = 0
    for entry in all_entries():
        key = FACT_SHEET_KEYS.get(entry.id)
        if entry.reference_params is None or key is None:
            continue
        assert entry.reference_params == facts[key], f"{entry.id}: reference_params != {key}"
        checked += 1
    assert checked >= len(REAL)


def test_parameter_count_cache_reads_through(tmp_path):
    entry = get("paligemma-3b-224")
    config = entry.build_config()
    calls = []

    def counting(model_class, cfg):
        calls.append(model_class)
        return count_parameters_meta(model_class, cfg)

    path = tmp_path / "counts.json"
    first = ParameterCountCache(path)
    assert first.count(entry.model_class, config, counting) == BUILT_PARAMS[entry.id]
    first.save()
    again = ParameterCountCache(path)
    assert again.count(entry.model_class, entry.build_config(), counting) == BUILT_PARAMS[entry.id]
    assert len(calls) == 1  # the second cache answered from the file
    other = get("paligemma-3b-448")
    assert again.count(other.model_class, other.build_config(), counting) == BUILT_PARAMS[other.id]
    assert len(calls) == 2  # a different config is a different key


# ---------------------------------------------------------------- structure and visual tokens


def assert_visual_tokens(entry, sizes):
    processor, image_token_id = stand_in_processor(entry)
    for size in sizes:
        image = Image.new("RGB", size, (120, 80, 40))
        assert count_image_tokens(entry, processor, image_token_id, image) == expected_tokens(entry, size), size


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_visual_tokens_through_the_real_processor(entry):
    if isinstance(entry.build_config(), LlavaNextConfig):
        assert_visual_tokens(entry, ANYRES_SIZES)
    else:
        assert_visual_tokens(entry, (entry.reference_resolution, *OTHER_SIZES))
    assert expected_tokens(entry, entry.reference_resolution) == entry.visual_tokens


def test_anyres_examples_of_the_fact_sheet():
    """All of the fact sheet's AnyRes examples (the LLaVA-1.6 entries share this image processor)."""
    assert_visual_tokens(get("llava-1.6-vicuna-7b"), ANYRES_TOKENS)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_config_agrees_with_visual_tokens(entry):
    """The per-image feature count the model produces, derived from its config alone."""
    config = entry.build_config()
    if isinstance(config, PaliGemmaConfig):
        assert config.text_config.num_image_tokens == entry.visual_tokens
    elif isinstance(config, LlavaNextConfig):
        assert config.image_grid_pinpoints == llava_next.GRID_PINPOINTS
        assert config.image_seq_length == 576  # base view; tiles add the AnyRes remainder
    elif isinstance(config, LlavaConfig):
        vision = config.vision_config
        patches = (vision.image_size // vision.patch_size) ** 2
        cls = 1 if isinstance(vision, CLIPVisionConfig) else 0
        drop = 1 if config.vision_feature_select_strategy == "default" else 0
        assert patches + cls - drop == entry.visual_tokens == config.image_seq_length
    else:  # Blip2: one LLM position per Q-Former query
        assert config.num_query_tokens == entry.visual_tokens == 32


@pytest.mark.parametrize("entry_id", sorted(SIGLIP_SELECTION))
def test_siglip_layer_selection(entry_id):
    layers, feature_layer, strategy, tokens = SIGLIP_SELECTION[entry_id]
    config = get(entry_id).build_config()
    assert isinstance(config.vision_config, SiglipVisionConfig)
    assert config.vision_config.num_hidden_layers == layers
    assert config.vision_config.vision_use_head is False
    assert config.vision_feature_layer == feature_layer
    assert config.vision_feature_select_strategy == strategy
    assert get(entry_id).visual_tokens == tokens


@pytest.mark.parametrize("tiny", TINY, ids=ids(TINY))
def test_tiny_keeps_the_structure_of_its_real_entry(tiny):
    real = get(tiny.tiny_of)
    tiny_config, real_config = tiny.build_config(), real.build_config()
    assert tiny.model_class is real.model_class
    assert type(tiny_config) is type(real_config)
    assert type(tiny_config.text_config) is type(real_config.text_config)
    assert type(tiny_config.vision_config) is type(real_config.vision_config)
    assert tiny.processor is real.processor
    assert tiny.prompt_template == real.prompt_template
    assert (tiny.visual_tokens, tiny.reference_resolution) == (real.visual_tokens, real.reference_resolution)
    assert tiny_config.vision_config.image_size == real_config.vision_config.image_size
    for attr in ("vision_feature_layer", "vision_feature_select_strategy", "image_grid_pinpoints", "num_query_tokens"):
        assert getattr(tiny_config, attr, None) == getattr(real_config, attr, None), attr
    assert count_parameters_meta(tiny.model_class, tiny_config) < 50_000_000


def test_every_system_has_a_tiny_in_the_default_run():
    for system in SYSTEMS:
        defaults = [m for m in DEFAULT_MODELS if m in {e.id for e in TINY if e.system == system}]
        assert len(defaults) == 1, system


# ---------------------------------------------------------------- the runner and the CLI

RUN_PROMPTS = ("chart-pie-672x672", "chart-bar-640x480")


@pytest.fixture(scope="module")
def tiny_rows(tmp_path_factory):
    """One real run of every tiny variant: 2 prompts x 1 repeat, 3 tokens."""
    from vlmbench.config import RunConfig
    from vlmbench.runner import run_benchmark

    config = RunConfig(models=ids(TINY), prompts=list(RUN_PROMPTS), repeats=1, warmup=0, max_new_tokens=3,
                       out=tmp_path_factory.mktemp("part1"), progress=False)
    result = run_benchmark(config)
    return list(iter_rows(result.run_dir))


@pytest.mark.parametrize("tiny", TINY, ids=ids(TINY))
def test_tiny_generates_exactly_n_tokens_through_the_runner(tiny, tiny_rows):
    rows = {r["prompt_id"]: r for r in tiny_rows if r["model_id"] == tiny.id}
    assert set(rows) == set(RUN_PROMPTS)
    items = {item.id: item for item in load_promptset().items if item.id in RUN_PROMPTS}
    processor, image_token_id = stand_in_processor(tiny)
    for prompt_id, row in rows.items():
        assert row["status"] == "ok", row.get("error")
        assert row["n_output_tokens"] == 3
        image = items[prompt_id].open_image()
        assert row["n_image_tokens"] == count_image_tokens(tiny, processor, image_token_id, image)
        assert row["n_image_tokens"] == expected_tokens(tiny, image.size)


MODELS_JSON_V1 = Path(__file__).parent / "data" / "models-json-v1.json"  # `vlmbench models --json`, captured


@pytest.fixture(scope="module")
def models_json(tmp_path_factory):
    """``vlmbench models --json`` in a fresh process with an empty cache: (HOME used, parsed output)."""
    home = tmp_path_factory.mktemp("home")
    result = run_cli("models", "--json", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    return home, json.loads(result.stdout)


def test_models_cli_lists_every_entry(models_json):
    """``vlmbench models --json`` in a fresh process (empty cache); the table from the same rows."""
    from vlmbench.catalog.describe import table

    tmp_path, listed = models_json
    rows = {r["id"]: r for r in listed}
    for entry in ENTRIES:
        row = rows[entry.id]
        assert row["system"] == entry.system
        assert row["visual_tokens"] == entry.visual_tokens
        # issue 20 item 9: every row checked: the fact sheet's count where there is one, else the
        # built model's own count (the listing went through a fresh process and its cache file)
        built = BUILT_PARAMS.get(entry.id) or count_parameters_meta(entry.model_class, entry.build_config())
        assert row["params"] == built, entry.id
        assert row["checkpoint"] == (entry.checkpoints[0] if entry.checkpoints else None)
        assert row["resolution"] == "{}x{}".format(*entry.reference_resolution)
    assert (tmp_path / ".cache" / "vlmbench" / "parameter-counts.json").exists()
    lines = table(list(rows.values())).splitlines()
    assert lines[0].split() == ["id", "system", "params", "vision", "encoder", "resolution", "visual", "tokens",
                                "language", "model", "construction", "weights"]
    for entry in ENTRIES:
        line = next(line for line in lines if line.split()[0] == entry.id)
        assert entry.system in line and entry.language_model in line and entry.vision_encoder in line
        assert ("random only" in line) == (not entry.checkpoints)


def test_models_json_is_unchanged_for_every_entry(models_json):
    """Every entry's ``vlmbench models --json`` record equals the one captured before the tiny
    variants were derived from their real entries (tests/data/models-json-v1.json): same ids in the
    same order, and every field of every entry the same (entries added since may be listed among them)."""
    _, listed = models_json
    captured = json.loads(MODELS_JSON_V1.read_text())
    captured_ids = {r["id"] for r in captured}
    listed = [r for r in listed if r["id"] in captured_ids]
    assert [r["id"] for r in listed] == [r["id"] for r in captured]
    for now, before in zip(listed, captured):
        changed = {k: (before.get(k), now.get(k)) for k in before.keys() | now.keys() if before.get(k) != now.get(k)}
        assert not changed, f"{now['id']}: {changed}"
