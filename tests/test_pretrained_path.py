"""The pretrained path: save a tiny model with processor and chat template, load it back
through the same code a hub checkpoint uses (AutoProcessor / AutoModelForImageTextToText)."""

from __future__ import annotations

import pytest
import torch

from vlmbench.results.reader import read_rows

from conftest import TINY, few_prompt_ids, run_cli


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_saved_tiny_model_runs_through_pretrained_path(tmp_path):
    from vlmbench.backends.hf.loader import load_random
    from vlmbench.catalog import get

    loaded = load_random(get(TINY), torch.device("cpu"), torch.float32, seed=0, attn=None)
    folder = tmp_path / "tiny-llava"
    loaded.model.save_pretrained(folder)
    loaded.processor.save_pretrained(folder)
    assert loaded.processor.chat_template  # the template travels with the processor

    prompt = few_prompt_ids(1)[0]
    proc = run_cli("run", "--model", str(folder), "--weights", "pretrained", "--max-new-tokens", "3",
                   "--repeats", "2", "--warmup", "0", "--prompts", prompt, "--dtype", "float32",
                   "--out", str(tmp_path / "out"), "--run-id", "pre", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(tmp_path / "out" / "pre")
    assert len(rows) == 2
    for r in rows:
        assert r["status"] == "ok" and r["weights"] == "pretrained"
        assert r["n_output_tokens"] == 3 and r["n_image_tokens"] == 576
        assert r["ttft_ms"] < r["e2e_ms"] and r["dtype"] == "float32"
    assert [r["cold"] for r in rows] == [True, False]
    assert "results:" in proc.stdout and "TTFT" in proc.stdout
