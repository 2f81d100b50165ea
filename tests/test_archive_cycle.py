"""``vlmbench cycle``: a real measuring run -> publish -> gate -> site in one command, and the
cycle lock: a second cycle on the same archive waits up to --wait, then exits 75 with a clear
message, without measuring anything."""

from __future__ import annotations

import fcntl
import time

import pytest

from conftest import run_cli
from test_archive_support import RUN_ARGS, cycle_outcome

from vlmbench.archive.layout import CYCLE_LOCK_FILE
from vlmbench.archive.verify import verify_archive
from vlmbench.results import load
from vlmbench.results.archive_index import read_index


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_one_cycle_measures_publishes_gates_and_builds_the_site(tmp_path_factory):
    outcome = cycle_outcome(tmp_path_factory)
    proc = outcome["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cycle: measuring step exited 0; 1 new run folder(s)" in proc.stdout
    assert "run real-r3: archived at runs/" in proc.stdout
    assert "NEW: " in proc.stdout and "gate: PASS: run real-r3" in proc.stdout  # nothing to compare with yet
    [entry] = read_index(outcome["archive"])["runs"]
    assert entry["run_id"] == "real-r3" and entry["rows"] == len(load(outcome["run_dir"]))
    assert verify_archive(outcome["archive"]).ok
    site = outcome["site"]
    assert (site / "index.html").is_file() and (site / "data" / "index.csv").is_file()
    assert (site / entry["path"] / "requests.csv").read_bytes() == (outcome["run_dir"] / "requests.csv").read_bytes()


def test_an_overlapping_cycle_waits_then_gives_up_clearly(tmp_path):
    archive, results = tmp_path / "archive", tmp_path / "results"
    archive.mkdir()
    with open(archive / CYCLE_LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("4242\n")
        held.flush()
        start = time.monotonic()
        proc = run_cli("cycle", "--archive", str(archive), "--results", str(results), "--wait", "1", "--", *RUN_ARGS)
        waited = time.monotonic() - start
    assert proc.returncode == 75, proc.stdout + proc.stderr
    assert "another cycle is running on" in proc.stderr and "held by pid 4242" in proc.stderr
    assert "after waiting 1 s" in proc.stderr and waited >= 1.0
    assert not results.exists()  # nothing was measured
    assert not (archive / "index.json").exists()
