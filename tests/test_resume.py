"""A run killed with SIGKILL at any moment, then resumed, ends with every expected row exactly
once and no torn CSV lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from vlmbench.results.reader import read_rows

from conftest import ROOT, TINY, few_prompt_ids, run_cli

PROMPTS = few_prompt_ids(3)
REPEATS = 2


def _data_lines(path):
    if not path.exists():
        return 0
    return max(0, path.read_bytes().count(b"\n") - 1)


def _start(out):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.Popen(
        [sys.executable, "-m", "vlmbench", "run", "--model", TINY, "--prompts", ",".join(PROMPTS),
         "--repeats", str(REPEATS), "--max-new-tokens", "2", "--warmup", "0", "--out", str(out),
         "--run-id", "r", "--no-progress"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def _kill_after(proc, csv, rows_before_kill, deadline_s=240):
    end = time.monotonic() + deadline_s
    while _data_lines(csv) < rows_before_kill and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow  # end-to-end (issue 20 item 9)
@pytest.mark.parametrize("rows_before_kill, torn", [(0, False), (1, True), (4, False)])
def test_sigkill_then_resume_gives_every_row_once(tmp_path, rows_before_kill, torn):
    run_dir = tmp_path / "r"
    csv = run_dir / "requests.csv"
    proc = _start(tmp_path)
    if rows_before_kill == 0:
        end = time.monotonic() + 60
        while not (run_dir / "manifest.json").exists() and time.monotonic() < end:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # while the model loads
        proc.wait(timeout=30)
    else:
        _kill_after(proc, csv, rows_before_kill)
    written = _data_lines(csv)
    assert written < len(PROMPTS) * REPEATS, "the run finished before it could be killed"
    if torn:
        with open(csv, "a") as fh:
            fh.write("1,r,half-written-row")

    done = run_cli("run", "--resume", str(run_dir), "--no-progress")
    assert done.returncode == 0, done.stderr

    text = csv.read_text()
    assert text.endswith("\n")
    rows = read_rows(csv)
    ids = [r["request_id"] for r in rows]
    expected = {f"{TINY}|b1-n2|{p}|r{k}|s0" for p in PROMPTS for k in range(REPEATS)}
    assert sorted(ids) == sorted(expected)  # every expected row, exactly once
    assert {r["status"] for r in rows} == {"ok"}
    assert len(text.splitlines()) == len(expected) + 1  # header + rows, nothing torn left


def test_resume_of_a_complete_run_adds_nothing(tiny_run):
    before = tiny_run.requests_csv.read_bytes()
    done = run_cli("run", "--resume", str(tiny_run.run_dir), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert tiny_run.requests_csv.read_bytes() == before


def test_resume_of_a_folder_that_is_no_run_is_refused(tmp_path):
    done = run_cli("run", "--resume", str(tmp_path), "--no-progress")
    assert done.returncode == 2 and "not a vlmbench run folder" in done.stderr
