"""A worker that dies or raises yields error rows; the other models still finish."""

from __future__ import annotations

import pytest

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark

from conftest import TINY, few_prompt_ids


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_crashing_and_raising_workers_become_error_rows(tmp_path):
    prompts = few_prompt_ids(2)
    config = RunConfig(models=["crash-segv-tiny", TINY, "raise-tiny"], plugins=["plugins.crashing_models"],
                       max_new_tokens=3, repeats=2, warmup=0, prompts=prompts, out=tmp_path, progress=False)
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    by_model: dict[str, list] = {}
    for r in rows:
        by_model.setdefault(r["model_id"], []).append(r)
    assert {m: len(v) for m, v in by_model.items()} == {"crash-segv-tiny": 4, TINY: 4, "raise-tiny": 4}

    crashed = by_model["crash-segv-tiny"]
    assert {r["status"] for r in crashed} == {"error"}
    assert all("SIGSEGV" in r["error"] for r in crashed)
    assert all(r["ttft_ms"] is None for r in crashed)  # no sentinel numbers

    assert {r["status"] for r in by_model[TINY]} == {"ok"}

    raised = by_model["raise-tiny"]
    assert {r["status"] for r in raised} == {"error"}
    assert all(r["error"] == "RuntimeError: injected model failure" for r in raised)
