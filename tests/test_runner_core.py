"""The core runner end to end on a real tiny LLaVA: rows, timings, token counts, manifest."""

from __future__ import annotations

import json

import pytest

from vlmbench.results.reader import read_rows

from conftest import TINY, few_prompt_ids


@pytest.fixture(scope="module")
def rows(tiny_run):
    return read_rows(tiny_run.requests_csv)


def test_one_row_per_prompt_and_repeat(rows):
    keys = [(r["prompt_id"], r["repeat"]) for r in rows]
    assert sorted(keys) == sorted((p, k) for p in few_prompt_ids(3) for k in range(2))
    assert len({r["request_id"] for r in rows}) == len(rows)


def test_every_row_ok_with_exact_output_length(rows):
    assert {r["status"] for r in rows} == {"ok"}
    assert all(r["n_output_tokens"] == 4 and r["max_new_tokens"] == 4 for r in rows)
    assert all(r["length_enforced"] for r in rows)


def test_timings_are_ordered_and_consistent(rows):
    """Orderings only: the values themselves are held to a known schedule, not to the code's
    own sums, in test_trackers_known_time.py and test_trackers_user_time.py."""
    for r in rows:
        assert 0 < r["ttft_ms"] < r["e2e_ms"]
        assert r["preprocess_ms"] > 0 and r["ttft_user_ms"] > max(r["ttft_ms"], r["preprocess_ms"])
        assert r["vision_ms"] > 0 and r["prefill_ms"] > 0
        assert r["vision_ms"] + r["prefill_ms"] <= r["ttft_ms"] + 1e-3
        assert 0 < r["tpot_ms"] < r["e2e_ms"] and r["decode_tps"] > 0
        times = [float(t) for t in r["token_times_ms"].split()]
        assert len(times) == 4 and times == sorted(times)
        assert times[0] == pytest.approx(r["ttft_ms"], abs=2e-3) and times[-1] == pytest.approx(r["e2e_ms"], abs=2e-3)
        assert r["itl_p50_ms"] <= r["itl_p99_ms"]


def test_image_tokens_equal_the_real_processor_expansion(rows):
    from vlmbench.backends.hf.backend import format_prompt
    from vlmbench.catalog import get
    from vlmbench.catalog.tokenizer import build_tokenizer
    from vlmbench.promptset import load_promptset

    entry = get(TINY)
    tok = build_tokenizer(entry.processor.image_token, chat_template=entry.processor.chat_template)
    processor = entry.processor.build(tok)
    image_id = tok.convert_tokens_to_ids("<image>")
    ps = load_promptset()
    for r in rows:
        item = ps.get(r["prompt_id"])
        enc = processor(images=[item.open_image()], text=[format_prompt(processor, item.prompt, entry.prompt_template)],
                        return_tensors="pt")
        assert r["n_image_tokens"] == int((enc["input_ids"] == image_id).sum()) == 576
        assert r["n_prompt_tokens"] == enc["input_ids"].shape[1]
        assert r["n_text_tokens"] == int((enc["input_ids"] != image_id).sum())  # the processor's text tokens


def test_only_the_first_request_after_load_is_cold(rows, tiny_run):
    cold = [r for r in rows if r["cold"]]
    assert len(cold) == 1
    assert cold[0]["started_at"] == min(r["started_at"] for r in rows)


def test_rows_are_labelled(rows):
    for r in rows:
        assert r["weights"] == "random" and r["backend"] == "hf" and r["device"] == "cpu"
        assert r["promptset_version"] == "v1" and r["system"] == "LLaVA-1.5"
        assert r["processor_kind"] in ("fast", "pil") and r["dtype"] in ("bfloat16", "float32")
        assert r["assumed_shapes"] is False


def test_memory_columns_empty_without_gpu(rows):
    for r in rows:
        assert r["peak_rss_mb"] > 50
        assert r["peak_cuda_allocated_mb"] is None and r["peak_cuda_reserved_mb"] is None
        assert r["peak_nvml_mb"] is None


def test_manifest_records_config_software_hardware_and_times(tiny_run):
    m = json.loads((tiny_run.run_dir / "manifest.json").read_text())
    assert m["run_id"] == tiny_run.run_id and m["ended_at"] >= m["started_at"]
    assert m["config"]["max_new_tokens"] == 4 and m["promptset"]["version"] == "v1"
    sw = m["environment"]["software"]
    for key in ("python", "torch", "transformers", "vlmbench", "cuda", "driver"):
        assert key in sw
    env = m["environment"]
    assert env["cpu"]["model"] and env["ram_mb"] > 0 and "gpus" in env and "git_commit" in env
    assert m["rows_written"] == 6 and m["rows_by_status"] == {"ok": 6}
    info = m["models"][TINY]
    assert info["tokenizer"] == "stand-in BPE" and info["parameters"] > 0
