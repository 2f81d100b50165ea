"""torchvision ("fast") processors where installed, PIL where not; rows say which."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vlmbench.results.reader import read_rows

from conftest import few_prompt_ids, run_cli

HIDE_TORCHVISION = Path(__file__).parent / "no_torchvision"


def test_fast_processors_are_used_when_torchvision_is_installed(tiny_run):
    pytest.importorskip("torchvision")
    assert {r["processor_kind"] for r in read_rows(tiny_run.requests_csv)} == {"fast"}


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_runs_without_torchvision_using_pil_processors(tmp_path):
    path = os.pathsep.join([str(HIDE_TORCHVISION), os.environ.get("PYTHONPATH", "")])
    proc = run_cli("run", "--model", "llava-1.5-7b-tiny", "--max-new-tokens", "2", "--repeats", "1", "--warmup", "0",
                   "--prompts", few_prompt_ids(1)[0], "--out", str(tmp_path), "--run-id", "pil",
                   "--no-progress", env={"PYTHONPATH": path})
    assert proc.returncode == 0, proc.stderr
    rows = read_rows(tmp_path / "pil")
    assert rows and {r["processor_kind"] for r in rows} == {"pil"}
    assert {r["status"] for r in rows} == {"ok"} and rows[0]["n_image_tokens"] == 576
