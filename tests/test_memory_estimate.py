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
