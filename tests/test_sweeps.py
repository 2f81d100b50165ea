"""Sweeps that survive: batch sweep stopping at the first OOM, memory-estimate skips,
request timeouts, worker death by SIGKILL."""

from __future__ import annotations

import pytest

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark

from conftest import TINY, few_prompt_ids

PLUGIN = "plugins.sweep_models"


def _by_model(rows):
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r["model_id"], []).append(r)
    return out


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_batch_sweep_stops_at_first_oom_and_next_model_runs(tmp_path):
    config = RunConfig(models=["oom-at-4-tiny", TINY], plugins=[PLUGIN], batch_sizes=[1, 2, 4, 8],
                       max_new_tokens=2, repeats=1, warmup=0, prompts=few_prompt_ids(4), out=tmp_path,
                       progress=False)
    rows = _by_model(read_rows(run_benchmark(config).requests_csv))
    oom_model = rows["oom-at-4-tiny"]
    by_batch: dict[int, set] = {}
    for r in oom_model:
        by_batch.setdefault(r["batch_size"], set()).add(r["status"])
    assert by_batch == {1: {"ok"}, 2: {"ok"}, 4: {"oom"}}  # nothing for 8
    assert len([r for r in oom_model if r["batch_size"] == 4]) == 4
    assert all("out of memory" in r["error"] for r in oom_model if r["status"] == "oom")
    # batch rows: per-request timings plus the window's aggregate throughput
    b2 = [r for r in oom_model if r["batch_size"] == 2]
    assert {r["batch_index"] for r in b2} == {0, 1} and all(r["window_output_tps"] > 0 for r in b2)
    assert len({r["window_id"] for r in b2}) == 2
    # the next model runs every batch size
    assert {r["batch_size"] for r in rows[TINY]} == {1, 2, 4, 8}
    assert {r["status"] for r in rows[TINY]} == {"ok"}
    assert all(r["n_output_tokens"] == 2 for r in rows[TINY])


# Real-size catalog models, smallest first (their weights are never loaded by the test).
LADDER = ("llava-1.5-13b", "cogvlm-17b", "llava-1.6-34b", "mgm-8x7b")
MARGIN = 1.5  # the estimate must exceed what is available by this much: free memory moves


def too_big_for_this_host() -> tuple[str, int]:
    """(catalog id, batch size) that this host cannot hold, computed from the memory it has
    available now with the estimator the run itself uses: the smallest model of ``LADDER``
    whose batch-1 estimate exceeds it (a 13B model in fp32 on a 24 GiB machine, a larger one
    on a bigger host); on a host larger than all of them, the largest with a batch size
    doubled until it does not fit."""
    import torch

    from vlmbench.backends.hf.devices import resolve_dtype
    from vlmbench.catalog import get
    from vlmbench.catalog.memory import estimate
    from vlmbench.measure.device import device_ops

    free_mb = device_ops("cpu").free_memory_mb()
    dtype = str(resolve_dtype("auto", torch.device("cpu"))).removeprefix("torch.")

    def need(entry, batch):
        return estimate(entry, batch, 2, dtype, "cpu", params=entry.reference_params).total_mb

    for model_id in LADDER:
        if need(get(model_id), 1) > MARGIN * free_mb:
            return model_id, 1
    batch = 2
    while need(get(LADDER[-1]), batch) <= MARGIN * free_mb:
        batch *= 2
    return LADDER[-1], batch


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_what_cannot_fit_is_skipped_without_trying(tmp_path):
    model_id, batch = too_big_for_this_host()
    # the tiny model after it runs (at batch 1 only: a batch this host cannot hold for a real
    # model would take long for the tiny one on the CPU)
    models = [model_id, TINY] if batch == 1 else [model_id]
    config = RunConfig(models=models, max_new_tokens=2, repeats=1, warmup=0, batch_sizes=[batch],
                       prompts=few_prompt_ids(1), out=tmp_path, progress=False)
    result = run_benchmark(config)
    rows = _by_model(read_rows(result.requests_csv))
    big = rows[model_id]
    assert len(big) == batch and {r["status"] for r in big} == {"skipped"}
    assert "GiB" in big[0]["error"] and "free on cpu" in big[0]["error"]
    assert big[0]["model_load_ms"] is None  # never loaded
    if batch == 1:
        assert {r["status"] for r in rows[TINY]} == {"ok"}


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_request_timeout_and_sigkilled_worker_become_rows(tmp_path):
    config = RunConfig(models=["hang-tiny", "sigkill-tiny", TINY], plugins=[PLUGIN], max_new_tokens=2,
                       repeats=1, warmup=0, prompts=few_prompt_ids(2), out=tmp_path, progress=False,
                       request_timeout_s=10.0)
    rows = _by_model(read_rows(run_benchmark(config).requests_csv))
    hung = rows["hang-tiny"]
    assert len(hung) == 2 and {r["status"] for r in hung} == {"timeout"}
    assert all(r["error"] == "request timeout after 10 s" for r in hung)
    killed = rows["sigkill-tiny"]
    assert len(killed) == 2 and {r["status"] for r in killed} == {"error"}
    assert all("SIGKILL" in r["error"] for r in killed)
    assert {r["status"] for r in rows[TINY]} == {"ok"}
