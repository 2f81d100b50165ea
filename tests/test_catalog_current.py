"""Today's VLMs in the catalog (issue 24): published shapes, counts, token rules, tiny variants.

Real components only: counts from instantiating the real transformers classes on the meta device;
visual tokens from transformers' own image processors built offline; the tiny variants through the
real runner, the predictor's twin trace and the roofline's decode-traffic count. The figures below
are the current-models fact sheet's (computed with transformers' classes and processors), copied
here so the entries are checked against an independent record.
"""

from __future__ import annotations

import importlib

import pytest
import torch
from PIL import Image

from vlmbench.backends.hf.backend import format_prompt
from vlmbench.backends.hf.loader import load_random
from vlmbench.catalog import get
from vlmbench.catalog.materialise import count_parameters_meta
from vlmbench.catalog.memory import estimate
from vlmbench.catalog.registry import FAMILIES

# ------------------------------------------------------------------ the fact sheet's figures

# Computed totals (meta device, tied tensors once) of the fact sheet, per catalog id.
SHEET_PARAMS = {
    "qwen2.5-vl-3b": 3_754_622_976,
    "qwen2.5-vl-7b": 8_292_166_656,
    "qwen2.5-vl-32b": 33_448_292_352,
    "qwen2.5-vl-72b": 73_410_777_344,
    "qwen3-vl-2b": 2_127_532_032,
    "qwen3-vl-4b": 4_437_815_808,
    "qwen3-vl-8b": 8_767_123_696,
    "qwen3-vl-32b": 33_357_390_064,
    "qwen3-vl-30b-a3b": 31_070_754_032,
    "qwen3-vl-235b-a22b": 235_670_022_896,
    "gemma-3-4b": 4_300_079_472,
    "gemma-3-12b": 12_187_325_040,
    "gemma-3-27b": 27_432_406_640,
    "internvl3.5-1b": 1_060_897_792,
    "internvl3.5-2b": 2_348_347_392,
    "internvl3.5-4b": 4_732_489_216,
    "internvl3.5-8b": 8_528_318_464,
    "internvl3.5-14b": 15_119_523_840,
    "internvl3.5-38b": 38_390_405_504,
    "internvl3.5-30b-a3b": 30_848_730_112,
    "internvl3.5-241b-a28b": 240_699_370_368,
    "internvl3-8b": 7_944_373_760,
    "internvl3-14b": 15_117_256_704,
    "internvl3-38b": 38_388_164_992,
    "internvl3-78b": 78_408_318_336,
    "smolvlm2-256m": 256_484_928,
    "smolvlm2-500m": 507_482_304,
    "smolvlm2-2.2b": 2_246_784_880,
    "smolvlm-256m": 256_484_928,
    "smolvlm-500m": 507_482_304,
    "smolvlm-2.2b": 2_246_784_880,
    "llama-3.2-11b-vision": 10_670_220_835,
    "llama-3.2-90b-vision": 88_593_355_323,
    "llava-onevision-0.5b": 893_675_552,
    "llava-onevision-7b": 8_030_807_584,
    "llava-onevision-72b": 73_181_570_592,
    "mistral-small-3.1-24b": 24_011_361_280,
    "pixtral-12b": 12_682_739_712,  # published "12B + 0.4B vision" (names, not totals)
    "glm-4.1v-9b": 10_292_777_472,  # published "9B" (the name; LLM 9.40B + vision 0.89B)
}
# Active parameters per token of the mixtures of experts (the sheet's computed figures).
SHEET_ACTIVE = {"qwen3-vl-30b-a3b": 3_891_664_112, "qwen3-vl-235b-a22b": 22_767_151_856,
                "internvl3.5-30b-a3b": 3_669_640_192, "internvl3.5-241b-a28b": 27_796_499_328}
# Published totals with a stated precision (billions, as printed), where the authors give one; the
# model names ("3B", "7B") are not totals and are not checked.
PUBLISHED = {  # OpenGVLab/InternVL README model zoo; Llama 3.2 vision model card
    "llama-3.2-11b-vision": "10.6", "llama-3.2-90b-vision": "88.8",
    "internvl3.5-1b": "1.1", "internvl3.5-2b": "2.3", "internvl3.5-4b": "4.7", "internvl3.5-8b": "8.5",
    "internvl3.5-14b": "15.1", "internvl3.5-38b": "38.4", "internvl3.5-30b-a3b": "30.8",
    "internvl3.5-241b-a28b": "240.7",
}

# LLM-side image tokens per (width, height) with each family's processor defaults (the fact sheet's
# reference table; the last two columns are this file's clamp checks, computed from the sheet's formulas).
SIZES = ((448, 448), (640, 480), (1024, 768), (1280, 720), (1920, 1080), (336, 1008), (4032, 3024))
SHEET_TOKENS = {
    "Qwen2.5-VL": (256, 391, 999, 1196, 2691, 432, 15552),
    "Qwen3-VL": (196, 300, 768, 880, 2040, 320, 11844),
    "Qwen3-VL MoE": (196, 300, 768, 880, 2040, 320, 11844),
    "Gemma 3": (256,) * 7,
    "InternVL3.5": (256, 3328, 3328, 2304, 2304, 1024, 3328),
    "SmolVLM2": (1088, 832, 832, 832, 832, 576, 832),
    "SmolVLM": (1088, 832, 832, 832, 832, 576, 832),
    "Llama 3.2 Vision": (1,) * 7,  # one <|image|> token; the image is cross-attended
    "LLaVA-OneVision": (3699, 2929, 4725, 5967, 7269, 2997, 7309),
    "Mistral-Small-3.1": (256, 414, 1036, 1196, 1705, 432, 2310),  # [IMG] only; with breaks: see below
    "Pixtral": (784, 1200, 3072, 2304, 2304, 1323, 3072),  # [IMG] only; with breaks: see below
    "GLM-4.1V": (256, 391, 999, 1196, 2691, 432, 7500),
}
# Clamp limits: (width, height) -> tokens at the smallest and largest budgets.
CLAMPS = {
    "Qwen2.5-VL": {(20, 20): 4, (56, 56): 4, (8000, 8000): 16384, (4032, 3024): 15552},
    # the 64-token floor: 224 x 224 gives 64 through the HF processor (49 without the floor)
    "Qwen3-VL": {(224, 224): 64, (20, 20): 64, (8000, 8000): 16384},
    "Qwen3-VL MoE": {(224, 224): 64, (20, 20): 64, (8000, 8000): 16384},
    "Gemma 3": {(20, 20): 256, (8000, 8000): 256, (3000, 200): 256},
    # one tile for a tiny square; the 12-tile cap (+ thumbnail) for extreme aspect ratios
    "InternVL3.5": {(20, 20): 256, (5376, 448): 3328, (448, 5376): 3328, (4000, 300): 3328, (900, 448): 768},
    # small images are upscaled to the 2048 longest edge; a thin strip is one row of tiles
    "SmolVLM2": {(20, 20): 1088, (4000, 300): 320, (300, 4000): 320, (512, 512): 1088},
    "SmolVLM": {(20, 20): 1088, (4000, 300): 320, (300, 4000): 320, (512, 512): 1088},
    "Llama 3.2 Vision": {(20, 20): 1, (8000, 8000): 1},
    # 1 crop for a small square; the 6 x 6 grid shrunk to 9 crops' worth; a 1 x 6 strip
    "LLaVA-OneVision": {(20, 20): 1485, (384, 384): 1485, (2304, 2304): 7371, (2304, 384): 5130},
    # never scaled up (a 20 px image is one token); scaled down into the 1540 px square: 55 x 55
    "Mistral-Small-3.1": {(20, 20): 1, (8000, 8000): 3025, (1540, 1540): 3025, (3080, 100): 110},
    # 16 px tokens without merge: a 20 px image is 2 x 2; scaled down into the 1024 px square: 64 x 64
    "Pixtral": {(20, 20): 4, (8000, 8000): 4096, (1024, 1024): 4096, (4096, 100): 128},
    # the budget counts both frames: >= 12544 / 2 px (56 x 56 -> 84 x 84, 9 tokens), <= 11,760,000 / 2
    # (8000 x 8000 -> 86 x 86 tokens); a side under 28 px is first scaled up to 28 (20 x 600 -> 28 x 840)
    "GLM-4.1V": {(20, 20): 9, (56, 56): 9, (8000, 8000): 7396, (20, 600): 30, (600, 20): 30},
}
# Entries whose rule differs from their family's first entry: id -> the sheet's row.
OTHER_RULES = {
    "smolvlm2-2.2b": (1377, 1053, 1053, 1053, 1053, 729, 1053),
    "smolvlm2-500m": (1088, 832, 832, 832, 832, 576, 832),
    "smolvlm-2.2b": (1377, 1053, 1053, 1053, 1053, 729, 1053),
}

# One real entry per family (its tiny variant is "<id>-tiny").
FAMILY_ENTRY = {
    "Qwen2.5-VL": "qwen2.5-vl-3b",
    "Qwen3-VL": "qwen3-vl-2b",
    "Qwen3-VL MoE": "qwen3-vl-30b-a3b",
    "Gemma 3": "gemma-3-4b",
    "InternVL3.5": "internvl3.5-1b",
    "SmolVLM2": "smolvlm2-256m",
    "SmolVLM": "smolvlm-256m",
    "Llama 3.2 Vision": "llama-3.2-11b-vision",
    "LLaVA-OneVision": "llava-onevision-0.5b",
    "Mistral-Small-3.1": "mistral-small-3.1-24b",
    "Pixtral": "pixtral-12b",
    "GLM-4.1V": "glm-4.1v-9b",
}
CURRENT_MODULES = ("vlmbench.catalog.qwen2_5_vl", "vlmbench.catalog.qwen3_vl", "vlmbench.catalog.gemma3",
                   "vlmbench.catalog.internvl", "vlmbench.catalog.smolvlm",
                   "vlmbench.catalog.llama_vision", "vlmbench.catalog.llava_onevision",
                   "vlmbench.catalog.mistral3", "vlmbench.catalog.pixtral", "vlmbench.catalog.glm4v")
ENTRIES = [e for m in CURRENT_MODULES for e in importlib.import_module(m).ENTRIES]
REAL = [e for e in ENTRIES if not e.is_tiny]
TINY = [e for e in ENTRIES if e.is_tiny]


def ids(entries):
    return [e.id for e in entries]


def processor_of(entry):
    """The processor ``load_random`` builds (offline tokenizer + real image processor) and the
    image token's id."""
    from vlmbench.catalog.tokenizer import build_tokenizer

    spec = entry.processor
    tokenizer = build_tokenizer(spec.image_token, spec.extra_special_tokens, chat_template=spec.chat_template)
    processor = spec.build(tokenizer)
    return processor, processor.tokenizer.convert_tokens_to_ids(spec.image_token)


def processor_tokens(entry, processor, image_token_id, size) -> int:
    text = format_prompt(processor, "What is shown in this image?", entry.prompt_template)
    inputs = processor(images=[Image.new("RGB", size, (90, 140, 200))], text=[text], return_tensors="pt")
    return int((inputs["input_ids"] == image_token_id).sum())


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("entry", REAL, ids=ids(REAL))
def test_parameter_count_on_the_meta_device(entry):
    built = count_parameters_meta(entry.model_class, entry.build_config())
    assert built == SHEET_PARAMS[entry.id] == entry.reference_params
    if entry.id in PUBLISHED:  # within 1 %, or within the rounding of the printed figure
        printed = PUBLISHED[entry.id]
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        allowed = max(0.01 * float(printed), 0.5 * 10 ** -decimals)
        assert abs(built / 1e9 - float(printed)) <= allowed, (built, printed)
    assert entry.checkpoints and entry.provenance.shapes and entry.provenance.published_total


def test_every_current_family_is_registered_and_listed():
    registered = {m for m, _ in FAMILIES}
    assert set(CURRENT_MODULES) <= registered
    assert set(FAMILY_ENTRY) == {e.system for e in TINY} == set(SHEET_TOKENS)
    assert {e.system for e in ENTRIES} - set(FAMILY_ENTRY) <= {"InternVL3"}  # InternVL3: InternVL3.5's code path
    assert {e.tiny_of for e in TINY} == set(FAMILY_ENTRY.values())


# ------------------------------------------------------------------ visual tokens


@pytest.mark.parametrize("system", sorted(SHEET_TOKENS))
def test_token_rule_matches_the_sheet_and_the_real_processor(system):
    entry = get(FAMILY_ENTRY[system])
    processor, image_token_id = processor_of(entry)
    for size, tokens in [*zip(SIZES, SHEET_TOKENS[system]), *CLAMPS[system].items()]:
        assert entry.image_tokens(*size) == tokens, (size, "rule")
        if max(size) <= 4032:  # the 8000 px clamp check is the rule's alone (64 MPixel image)
            assert processor_tokens(entry, processor, image_token_id, size) == tokens, (size, "processor")
    assert entry.visual_tokens == entry.image_tokens(*entry.reference_resolution)


@pytest.mark.parametrize("model_id", sorted(OTHER_RULES))
def test_token_rule_of_other_sizes_matches_the_sheet_and_the_real_processor(model_id):
    entry = get(model_id)
    processor, image_token_id = processor_of(entry)
    for size, tokens in zip(SIZES, OTHER_RULES[model_id]):
        assert entry.image_tokens(*size) == tokens == processor_tokens(entry, processor, image_token_id, size), size


@pytest.mark.parametrize("tiny", TINY, ids=ids(TINY))
def test_tiny_keeps_the_structure_of_its_real_entry(tiny):
    real = get(tiny.tiny_of)
    tiny_config, real_config = tiny.build_config(), real.build_config()
    assert tiny.model_class is real.model_class and type(tiny_config) is type(real_config)
    assert type(tiny_config.text_config) is type(real_config.text_config)
    assert type(tiny_config.vision_config) is type(real_config.vision_config)
    assert tiny.processor is real.processor and tiny.image_token_rule is real.image_token_rule
    for attr in ("patch_size", "spatial_merge_size", "temporal_patch_size", "window_size", "image_size",
                 "num_position_embeddings"):
        assert getattr(tiny_config.vision_config, attr, None) == getattr(real_config.vision_config, attr, None), attr
    assert count_parameters_meta(tiny.model_class, tiny_config) < 50_000_000


def test_qwen2_5_vl_tiny_runs_windowed_and_full_attention_blocks():
    real, tiny = get("qwen2.5-vl-3b").build_config().vision_config, get("qwen2.5-vl-3b-tiny").build_config().vision_config
    assert real.fullatt_block_indexes == [7, 15, 23, 31] and len(real.fullatt_block_indexes) < real.depth
    assert 0 < len(tiny.fullatt_block_indexes) < tiny.depth  # both kinds of block


# ------------------------------------------------------------------ memory and roofline


@pytest.mark.parametrize("entry", REAL, ids=ids(REAL))
def test_memory_estimate_weights_are_the_exact_count(entry):
    est = estimate(entry, 1, 32, "bfloat16", "cuda")
    assert est.weights_mb * 1024 * 1024 == SHEET_PARAMS[entry.id] * 2
    assert est.kv_cache_mb > 0 and est.activations_mb > 0


@pytest.mark.parametrize("tiny", TINY, ids=ids(TINY))
def test_roofline_decode_traffic_is_the_language_model_and_head(tiny):
    from vlmbench.backends.hf.loader import vision_stage_modules
    from vlmbench.metrics.roofline import decode_traffic

    loaded = load_random(tiny, torch.device("cpu"), torch.float32, 0, None)
    model = loaded.model
    traffic, status = decode_traffic(model, vision_stage_modules(model, tiny))
    assert status == "ok"
    vision = sum(p.numel() for m in vision_stage_modules(model, tiny) for p in m.parameters())
    unread = getattr(model, "decode_unread_modules", lambda: [])()
    unread_params = sum(p.numel() for m in unread for p in m.parameters())
    table = model.get_input_embeddings().weight.numel()
    head = model.get_output_embeddings().weight
    total = sum(p.numel() for p in model.parameters())
    tied = head is model.get_input_embeddings().weight
    prefill_only = sum(p.numel() for p in model.model.parameters(recurse=False))  # LLaVA-OV's image_newline
    expected = (total - vision - unread_params - prefill_only - table + (table if tied else 0)) * 4
    moe = traffic.moe_active_fraction
    if moe is None:
        assert traffic.weight_bytes == expected
    else:  # only the routed experts' share of the expert weights
        experts = sum(p.numel() * 4 for n, p in model.named_parameters() if ".experts." in n)
        assert traffic.weight_bytes == pytest.approx(expected - experts * (1 - moe))
    text = model.config.get_text_config()
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    cross = len(getattr(text, "cross_attention_layers", None) or [])
    self_layers = text.num_hidden_layers - cross
    assert traffic.kv_bytes_per_position == 2 * self_layers * text.num_key_value_heads * head_dim * 4
    if cross:  # Llama 3.2 Vision: every step reads the image's cached K/V, 4 tiles x 1601 rows
        assert unread_params == cross * 2 * text.hidden_size * text.num_key_value_heads * head_dim
        assert traffic.cross_kv_bytes == cross * 2 * 4 * 1601 * text.num_key_value_heads * head_dim * 4
    else:
        assert traffic.cross_kv_bytes == 0


# Llama 3.2 Vision: tiles of 560 an image really uses (the sheet's row), and where the canvas choice turns.
MLLAMA_TILES = {**dict(zip(SIZES, (1, 2, 4, 4, 4, 2, 4))), (20, 20): 1, (560, 560): 1, (561, 560): 2,
                (2240, 300): 4, (300, 1700): 4, (300, 1600): 3}


def test_llama_vision_tile_rule_matches_the_sheet_and_the_processor():
    from vlmbench.catalog.token_rules import mllama_tiles

    entry = get("llama-3.2-11b-vision")
    processor, _ = processor_of(entry)
    text = format_prompt(processor, "What is shown?", entry.prompt_template)
    for size, tiles in MLLAMA_TILES.items():
        assert mllama_tiles(*size) == tiles, size
        inputs = processor(images=[Image.new("RGB", size)], text=[text], return_tensors="pt")
        assert int(inputs["aspect_ratio_mask"].sum()) == tiles, size
        assert inputs["pixel_values"].shape[2] == 4  # the ViT always runs 4 tiles


# ------------------------------------------------------------------ the runner and the predictor


@pytest.mark.slow
@pytest.mark.parametrize("tiny", TINY, ids=ids(TINY))
def test_tiny_runs_through_the_real_runner(tiny, tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.promptset import load_promptset
    from vlmbench.results.reader import iter_rows
    from vlmbench.runner import run_benchmark

    prompts = ("chart-bar-640x480", "document-receipt-400x1344")
    result = run_benchmark(RunConfig(models=[tiny.id], prompts=list(prompts), repeats=1, warmup=0,
                                     max_new_tokens=3, out=tmp_path, progress=False))
    rows = {r["prompt_id"]: r for r in iter_rows(result.run_dir)}
    assert set(rows) == set(prompts)
    items = {item.id: item for item in load_promptset().items if item.id in prompts}
    for prompt_id, row in rows.items():
        assert row["status"] == "ok", row.get("error")
        assert row["n_output_tokens"] == 3
        assert row["n_image_tokens"] == tiny.image_tokens(*items[prompt_id].open_image().size)


@pytest.mark.slow
@pytest.mark.parametrize("system", sorted(FAMILY_ENTRY))
def test_predictor_twin_trace_counts_the_real_image_tokens(system):
    from vlmbench.predict.predictor import CountCache

    entry = get(FAMILY_ENTRY[system])
    case = CountCache().case(entry.id, "chart-bar-640x480", 1)
    assert case.counts.n_image_tokens == entry.image_tokens(640, 480)
    assert case.counts.stages["decode"].total("nbytes", "gemm") > 0


@pytest.mark.parametrize("model_id", sorted(SHEET_ACTIVE))
def test_moe_active_parameters_and_decode_bytes_count_only_the_routed_experts(model_id):
    """The sheet's active count = total - (1 - k/E) x expert weights; the roofline reads the same share."""
    from vlmbench.metrics.roofline import _moe_fraction

    entry = get(model_id)
    config = entry.build_config()
    text = config.text_config
    k, experts = text.num_experts_per_tok, text.num_experts
    assert (k, experts) == (8, 128)
    with torch.device("meta"):
        model = entry.model_class._from_config(config)
    expert = sum(p.numel() for n, p in model.named_parameters() if ".experts." in n)
    total = sum(p.numel() for p in model.parameters())
    assert total - expert + expert * k // experts == SHEET_ACTIVE[model_id]
    assert _moe_fraction(text) == k / experts


def test_qwen3_vl_tiny_runs_deepstack_mergers_and_moe_routing():
    dense = get("qwen3-vl-2b-tiny").build_config()
    assert len(dense.vision_config.deepstack_visual_indexes) >= 2
    assert all(i < dense.vision_config.depth for i in dense.vision_config.deepstack_visual_indexes)
    moe = get("qwen3-vl-30b-a3b-tiny").build_config().text_config
    real = get("qwen3-vl-30b-a3b").build_config().text_config
    assert (moe.num_experts, moe.num_experts_per_tok) == (real.num_experts, real.num_experts_per_tok)


@pytest.mark.parametrize("model_id", [*sorted(SHEET_ACTIVE), "qwen3-vl-30b-a3b-tiny"])
def test_moe_memory_estimate_holds_every_expert_but_works_on_the_routed_ones(model_id):
    """(The real sizes' dense-equivalent FFN equals k x expert width; the tiny's does not.)"""
    from vlmbench.catalog.memory import MIB, TEXT_TOKENS

    entry = get(model_id)
    text = entry.build_config().text_config
    est = estimate(entry, 1, 32, "bfloat16", "cuda")
    params = SHEET_PARAMS.get(model_id) or count_parameters_meta(entry.model_class, entry.build_config())
    assert est.weights_mb * MIB == params * 2  # all experts are resident
    prompt = entry.visual_tokens + TEXT_TOKENS
    routed_ffn = text.num_experts_per_tok * text.moe_intermediate_size
    assert est.activations_mb * MIB == prompt * (6 * text.hidden_size + 2 * routed_ffn) * 2 + text.vocab_size * 8


# Gemma 3 with pan-and-scan on (the sheet's row), plus where it stays off: ratio < 1.2, or crops < 256 px.
GEMMA3_PAN_AND_SCAN = {**dict(zip(SIZES, (256, 768, 768, 768, 768, 1024, 768))), (500, 450): 256, (600, 300): 768,
                       (700, 250): 256}


def test_gemma3_pan_and_scan_rule_matches_the_sheet_and_the_processor():
    from vlmbench.catalog.token_rules import gemma3_tokens

    entry = get("gemma-3-4b")
    processor, image_token_id = processor_of(entry)
    text = format_prompt(processor, "What is shown?", entry.prompt_template)
    for size, tokens in GEMMA3_PAN_AND_SCAN.items():
        assert gemma3_tokens(*size, pan_and_scan=True) == tokens, size
        inputs = processor(images=[Image.new("RGB", size)], text=[text], return_tensors="pt", do_pan_and_scan=True)
        assert int((inputs["input_ids"] == image_token_id).sum()) == tokens, size


def test_current_suite_lists_every_real_entry_at_size_on_a_gpu():
    from vlmbench.runner.suite import load_suite, resolve_suite

    suite = load_suite(resolve_suite("current"))
    assert suite.models == [e.id for e in REAL]
    assert suite.device == "cuda" and suite.weights == "random" and suite.dtype == "bfloat16"
    seed = load_suite(resolve_suite("seed"))
    assert not set(seed.models) & {e.id for e in ENTRIES}  # the seed suite stays the seed systems


# The sheet's Mistral-Small-3.1 / Pixtral-12B rows count [IMG_BREAK] / [IMG_END] too: rows x (columns + 1).
PIXTRAL_WITH_BREAKS = {"mistral-small-3.1-24b": (272, 432, 1064, 1222, 1736, 468, 2352),
                       "pixtral-12b": (812, 1230, 3120, 2340, 2340, 1386, 3120)}


@pytest.mark.parametrize("model_id", sorted(PIXTRAL_WITH_BREAKS))
def test_pixtral_tokens_with_row_breaks_are_the_sheets(model_id):
    entry = get(model_id)
    processor, _ = processor_of(entry)
    tok = processor.tokenizer
    markers = {tok.convert_tokens_to_ids(t) for t in (entry.processor.image_token, "[IMG_BREAK]", "[IMG_END]")}
    for size, tokens in zip(SIZES, PIXTRAL_WITH_BREAKS[model_id]):
        text = format_prompt(processor, "What is shown?", entry.prompt_template)
        ids = processor(images=[Image.new("RGB", size)], text=[text], return_tensors="pt")["input_ids"][0]
        assert sum(int(i) in markers for i in ids) == tokens, size


def test_pixtral_12b_is_llava_over_a_pixtral_tower_without_merge():
    """The HF port: LLaVA's projector straight on 16 px patches (Mistral-Small-3.1 merges 2 x 2 of 14 px)."""
    config = get("pixtral-12b").build_config()
    assert config.model_type == "llava" and config.vision_config.model_type == "pixtral"
    assert config.vision_config.patch_size == 16 and not hasattr(config, "spatial_merge_size")
    assert config.vision_feature_select_strategy == "full" and config.tie_word_embeddings is False


def test_glm4v_tiny_runs_the_real_rope_and_vision_code_path():
    """Partial rotary (half of each head) split into 3 mRoPE sections; the 24 x 24 position table kept."""
    real, tiny = get("glm-4.1v-9b").build_config(), get("glm-4.1v-9b-tiny").build_config()
    for config in (real, tiny):
        text = config.text_config
        rope = text.rope_parameters
        head_dim = text.hidden_size // text.num_attention_heads
        assert rope["partial_rotary_factor"] == 0.5 and sum(rope["mrope_section"]) == head_dim * 0.5 / 2
        assert (config.vision_config.image_size, config.vision_config.patch_size) == (336, 14)
    assert real.text_config.num_attention_heads // real.text_config.num_key_value_heads == 16
