"""The memory estimate: weights from the exact parameter count, KV cache from the shapes."""

from __future__ import annotations

import json

from vlmbench.catalog import get
from vlmbench.catalog.memory import MIB, estimate
from vlmbench.cli import main


def test_estimate_components_follow_the_shapes():
    entry = get("llava-1.5-7b")
    one = estimate(entry, 1, 32, "bfloat16", "cuda")
    assert one.weights_mb * MIB == 7_063_427_072 * 2
    # Vicuna-7B: 32 layers x 32 KV heads x 128 x (576 + 64 + 32) tokens x K and V x 2 bytes
    assert one.kv_cache_mb * MIB == 2 * 32 * 32 * 128 * (576 + 64 + 32) * 2
    eight = estimate(entry, 8, 32, "bfloat16", "cuda")
    assert eight.kv_cache_mb == 8 * one.kv_cache_mb and eight.weights_mb == one.weights_mb
    assert estimate(entry, 1, 32, "float32", "cuda").weights_mb == 2 * one.weights_mb


def test_models_memory_command_marks_what_does_not_fit(capsys):
    assert main(["models", "--memory", "24", "--batch-sizes", "1,4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_key = {(r["id"], r["batch_size"]): r for r in rows}
    assert by_key[("llava-1.5-7b", 1)]["fits"] is True
    assert by_key[("llava-1.6-34b", 1)]["fits"] is False
    assert by_key[("llava-1.5-7b", 4)]["total_gib"] > by_key[("llava-1.5-7b", 1)]["total_gib"]


def test_llama_vision_kv_estimate_holds_the_image_kv_the_real_cache_holds():
    """Llama 3.2 Vision: the cross-attention layers cache the image's K/V (4 tiles x 1601 rows per image)
    instead of growing with the text. The estimate's KV term against the cache of the real transformers
    model (the tiny variant, same code path and tile geometry): self-attention layers per position, plus
    the image rows, exactly."""
    import torch
    from PIL import Image

    from vlmbench.backends.hf.loader import load_random
    from vlmbench.catalog.memory import TEXT_TOKENS
    from vlmbench.promptset.render import format_prompt

    entry = get("llama-3.2-11b-vision-tiny")
    loaded = load_random(entry, torch.device("cpu"), torch.float32, 0, None)
    text = format_prompt(loaded.processor, "What is shown?", loaded.prompt_template)
    inputs = loaded.processor(images=[Image.new("RGB", (640, 480), (90, 140, 200))], text=[text], return_tensors="pt")
    with torch.inference_mode():
        cache = loaded.model(**inputs, use_cache=True).past_key_values
    cross = set(loaded.model.config.text_config.cross_attention_layers)
    nbytes = [sum(t.numel() * t.element_size() for t in (layer.keys, layer.values)) for layer in cache.layers]
    assert cross and all(nbytes)
    self_per_position = sum(b for i, b in enumerate(nbytes) if i not in cross) / inputs["input_ids"].shape[1]
    image_kv = sum(b for i, b in enumerate(nbytes) if i in cross)
    assert image_kv == len(cross) * 2 * 4 * 1601 * cache.layers[min(cross)].keys.shape[1] * \
        cache.layers[min(cross)].keys.shape[-1] * 4  # K and V, 4 tiles x (40 x 40 + CLS) rows, fp32
    for max_new in (8, 32):
        est = estimate(entry, 1, max_new, "float32", "cpu")
        assert est.kv_cache_mb * MIB == self_per_position * (entry.visual_tokens + TEXT_TOKENS + max_new) + image_kv


def test_llama_vision_11b_estimate_counts_the_image_kv_of_its_cross_attention_layers():
    """At 11B bf16 one image's cached K/V is 8 layers x 2 x 8 KV heads x 128 x 6404 rows x 2 bytes (0.20 GiB),
    and only the 32 self-attention layers grow with the sequence."""
    entry = get("llama-3.2-11b-vision")
    short, long = estimate(entry, 1, 32, "bfloat16", "cuda"), estimate(entry, 1, 1032, "bfloat16", "cuda")
    assert (long.kv_cache_mb - short.kv_cache_mb) * MIB == 32 * 2 * 8 * 128 * 1000 * 2
    image_kv = 8 * 2 * 8 * 128 * 4 * 1601 * 2
    assert short.kv_cache_mb * MIB == 32 * 2 * 8 * 128 * (1 + 64 + 32) * 2 + image_kv
    assert 0.19 < image_kv / 2**30 < 0.2
