"""The openai backend against a real ``transformers serve`` process (127.0.0.1, CPU, offline)
serving a tiny Llava saved with its processor and chat template: exact output lengths where
enforced, TTFT < E2E, and usage prompt counts that include the 576 image tokens."""

from __future__ import annotations

import json

import pytest

from vlmbench.config import RunConfig
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark

from servers.transformers_serve import TransformersServe, save_tiny_llava

pytestmark = [pytest.mark.server, pytest.mark.slow]
PROMPTS = ["photo-cat-451x300", "diagram-shapes-336x336"]
N = 32  # ~13 ms a token here: long enough that content cannot all land in one network read

pytest.importorskip("fastapi", reason="transformers serve needs transformers[serving] (fastapi, uvicorn)")
pytest.importorskip("uvicorn", reason="transformers serve needs transformers[serving] (fastapi, uvicorn)")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def serve(model_dir, tmp_path_factory):
    server = TransformersServe(model_dir, tmp_path_factory.mktemp("serve-log") / "serve.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def expected_prompt_tokens(model_dir):
    """Prompt length per prompt id as the saved processor expands it (576 image tokens each)."""
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    image_id = processor.tokenizer.convert_tokens_to_ids(processor.image_token)
    lengths = {}
    for item in load_promptset(ids=PROMPTS):
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": item.prompt}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = processor(images=[item.open_image()], text=[text], return_tensors="pt")["input_ids"][0]
        assert int((ids == image_id).sum()) == 576
        lengths[item.id] = len(ids)
    return lengths


@pytest.fixture(scope="module")
def run(serve, model_dir, tmp_path_factory):
    # --no-cache-bust: the prompt token counts are compared with the processor's exactly
    config = RunConfig(backend="openai", endpoint=serve.url, models=[str(model_dir)], max_new_tokens=N, repeats=1,
                       warmup=1, prompts=PROMPTS, concurrency=[1, 2], out=tmp_path_factory.mktemp("results"),
                       progress=False, request_timeout_s=120.0, cache_bust=False, min_window_requests=0)
    result = run_benchmark(config)
    return result, read_rows(result.requests_csv)


def test_rows_are_ok_with_the_enforced_length(run):
    _, rows = run
    assert len(rows) == 4 and {r["scenario"] for r in rows} == {f"c1-n{N}", f"c2-n{N}"}
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert r["n_output_tokens"] == N and r["length_enforced"] is True and r["max_new_tokens"] == N
        assert r["n_output_tokens_client"] is not None and r["n_output_tokens_client"] >= 1


def test_timings_from_the_real_server(run):
    _, rows = run
    for r in rows:
        assert 0 < r["ttfb_ms"] <= r["ttft_ms"] < r["e2e_ms"]
        assert r["n_chunks"] >= 2 and r["tokens_per_chunk"] == pytest.approx(N / r["n_chunks"])
        assert r["tpot_ms"] == pytest.approx((r["e2e_ms"] - r["ttft_ms"]) / (N - 1), rel=1e-3)
        assert r["chunk_gap_p50_ms"] <= r["chunk_gap_p99_ms"]
        assert r["payload_bytes"] > 4 / 3 * 2000 and r["encode_ms"] > 0 and r["cache_bust"] is False
        # windows of one round (c1: the request after the cold one; c2: one burst of 2) have
        # no steady interval: no window throughput, the burst is the ramp
        assert r["window_output_tps"] is None and r["window_rps"] is None
        assert r["window_requests"] == (2 if r["scenario"] == f"c2-n{N}" else 1)
        assert r["window_edge"] == ("ramp" if r["scenario"] == f"c2-n{N}" else None)
        assert r["ttft_user_ms"] >= r["ttft_ms"] and r["ttft_missing_reason"] is None
    # keep-alive connections reused (the probe's, then one per lane, opened by the warmup burst
    # at the window's own concurrency): fewer set-ups than requests, usually none
    assert sum(r["connect_ms"] is not None for r in rows) < len(rows)


def test_usage_prompt_tokens_include_the_image_tokens(run, expected_prompt_tokens):
    _, rows = run
    for r in rows:
        assert r["n_prompt_tokens"] == expected_prompt_tokens[r["prompt_id"]]
        assert r["n_prompt_tokens"] > 576


def test_the_server_kind_was_detected_and_recorded(run, serve, model_dir):
    result, rows = run
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    info = manifest["models"][str(model_dir)]
    assert info["server_kind"] == "transformers" and info["served_models"] == [str(model_dir)]
    assert all(r["device"] == serve.url.split("//")[1] == r["hardware"] for r in rows)


def test_generic_kind_and_cache_bust_on_the_real_server(serve, model_dir, expected_prompt_tokens):
    """In-process backend: max_tokens only (length not enforced), unique requests."""
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.openai.backend import OpenAIBackend
    from vlmbench.runner.plan import plan

    config = RunConfig(backend="openai", endpoint=serve.url, models=[str(model_dir)], max_new_tokens=N, repeats=1,
                       warmup=0, prompts=PROMPTS, server_kind="generic", cache_bust=True, request_timeout_s=120.0)
    backend = OpenAIBackend(config, ModelSpec(str(model_dir), "random"))
    backend.load()
    rows = []
    backend.run_job("bust-run", plan(config, PROMPTS)[0].cells, load_promptset(ids=PROMPTS),
                    lambda cell, slot, columns: rows.append((cell.prompt_ids[0], columns)))
    assert len(rows) == 2
    for prompt_id, r in rows:
        assert r["status"] == "ok" and r["cache_bust"] is True and r["length_enforced"] is False
        assert 1 <= r["n_output_tokens"] <= N
        assert r["n_prompt_tokens"] > expected_prompt_tokens[prompt_id]  # the nonce adds text tokens
