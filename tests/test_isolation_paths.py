"""Worker isolation, the paths test_worker_isolation.py and test_sweeps.py leave out: the
``--model-timeout`` flag, a crash after rows were sent, a failed model load, a fresh worker
serving after a request timeout, and no worker left behind when only the parent is killed.
Real workers (the orchestrator's own process start method), real tiny models that fail at a
known point (tests/plugins/isolation_models.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark
from vlmbench.results.manifest import read_manifest

from conftest import ROOT, few_prompt_ids, run_cli

PLUGIN = "plugins.isolation_models"
TESTS = Path(__file__).resolve().parent
PLUGIN_PATH = {"PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)}


def _by_model(rows):
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(r["model_id"], []).append(r)
    return out


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_model_timeout_flag_ends_a_model_that_never_finishes_loading(tmp_path):
    prompts = few_prompt_ids(2)
    t0 = time.monotonic()
    proc = run_cli("run", "--plugin", PLUGIN, "--model", "slow-load-tiny", "--model-timeout", "4",
                   "--prompts", ",".join(prompts), "--repeats", "2", "--warmup", "0", "--max-new-tokens", "2",
                   "--out", str(tmp_path), "--run-id", "t", "--no-progress", env=PLUGIN_PATH, timeout=300)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr[-2000:]  # every row failed: run exits 1 (cli/run.py)
    # the model sleeps 600 s in its constructor; the run ends at the model's deadline instead
    assert elapsed < 200
    rows = read_rows(tmp_path / "t" / "requests.csv")
    assert len(rows) == 4  # every expected row is there, none measured
    assert {r["status"] for r in rows} == {"timeout"}
    assert {r["error"] for r in rows} == {"model timeout after 4 s"}
    assert all(r["ttft_ms"] is None and r["model_load_ms"] is None for r in rows)
    assert read_manifest(tmp_path / "t")["models"]["slow-load-tiny"]["error"] == "model timeout after 4 s"


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_failed_loads_and_a_crash_after_two_rows(tmp_path):
    prompts = few_prompt_ids(2)
    config = RunConfig(models=["load-fail-tiny", "load-oom-tiny", "crash-third-tiny"], plugins=[PLUGIN],
                       max_new_tokens=2, repeats=2, warmup=0, prompts=prompts, out=tmp_path, progress=False)
    result = run_benchmark(config)
    rows = _by_model(read_rows(result.requests_csv))
    models = read_manifest(result.run_dir)["models"]

    failed = rows["load-fail-tiny"]
    assert len(failed) == 4 and {r["status"] for r in failed} == {"error"}
    assert {r["error"] for r in failed} == {"model load failed: RuntimeError: injected load failure"}
    assert models["load-fail-tiny"]["error"] == "model load failed: RuntimeError: injected load failure"
    oom = rows["load-oom-tiny"]
    assert len(oom) == 4 and {r["status"] for r in oom} == {"oom"}
    assert all(r["error"].startswith("model load failed: out of memory") for r in oom)

    # requests 1 and 2 were measured before the worker died at the start of request 3: their
    # rows stay as measured; the two it never finished are error rows naming the signal
    crashed = rows["crash-third-tiny"]
    assert len(crashed) == 4 and len({r["request_id"] for r in crashed}) == 4
    ok = [r for r in crashed if r["status"] == "ok"]
    lost = [r for r in crashed if r["status"] != "ok"]
    assert len(ok) == 2 and all(r["n_output_tokens"] == 2 and r["ttft_ms"] > 0 for r in ok)
    assert len(lost) == 2 and {r["status"] for r in lost} == {"error"}
    assert all("SIGSEGV" in r["error"] and r["ttft_ms"] is None for r in lost)
    assert [r["status"] for r in crashed] == ["ok", "ok", "error", "error"]  # in the order they ran


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_a_fresh_worker_serves_the_rest_after_a_request_timeout(tmp_path):
    prompts = few_prompt_ids(2)
    config = RunConfig(models=["hang-once-tiny"], plugins=[PLUGIN], max_new_tokens=2, repeats=2, warmup=0,
                       prompts=prompts, out=tmp_path, progress=False, request_timeout_s=8.0)
    t0 = time.monotonic()
    rows = read_rows(run_benchmark(config).requests_csv)
    assert time.monotonic() - t0 < 300  # the hang is 600 s: the worker was killed, not waited for
    assert len(rows) == 4 and len({r["request_id"] for r in rows}) == 4
    timed_out = [r for r in rows if r["status"] == "timeout"]
    assert len(timed_out) == 1 and timed_out[0]["error"] == "request timeout after 8 s"
    assert timed_out[0]["ttft_ms"] is None
    # the killed worker served nothing else; the three other requests were measured by a new one
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 3 and all(r["n_output_tokens"] == 2 and r["tpot_ms"] > 0 for r in ok)


# --- the parent killed, alone -----------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever inherited it to reap it."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout_s: float, step_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return condition()


SCRIPT = """
import sys
from pathlib import Path
from vlmbench.config import RunConfig
from vlmbench.runner import run_benchmark
run_benchmark(RunConfig(models=["hang-second-tiny"], plugins=["plugins.isolation_models"], max_new_tokens=2,
                        repeats=3, warmup=0, prompts=sys.argv[2].split(","), out=Path(sys.argv[1]),
                        run_id="orphan", progress=False, request_timeout_s=550.0))
"""


def _default_start_method() -> str:
    import inspect

    from vlmbench.jobs.processes import worker_context

    return inspect.signature(worker_context).parameters["method"].default


# A forkserver worker's parent is the fork server: the worker closes its inherited copy of the
# server's "alive" pipe (worker._release_fork_server), so the server exits with the orchestrator
# and the kernel's parent-death signal then ends the worker.
def test_killing_only_the_parent_leaves_no_worker_behind(tmp_path):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see the process tree (Linux)")
    env = dict(os.environ, HF_HUB_OFFLINE="1", **PLUGIN_PATH)
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path), few_prompt_ids(1)[0]], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    csv = tmp_path / "orphan" / "requests.csv"
    workers: list[int] = []
    try:
        # the first request's row is on disk: the worker is now inside its hung second request
        assert _wait_for(lambda: csv.exists() and len(csv.read_text().splitlines()) >= 2, 240), \
            (parent.poll(), parent.stderr.read().decode()[-2000:] if parent.poll() is not None else "")
        workers = _descendants(parent.pid)
        assert workers, "the run has no worker process"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)
        assert _wait_for(lambda: not any(_alive(p) for p in workers), 30), \
            [Path(f"/proc/{p}/cmdline").read_bytes()[:200] for p in workers if _alive(p)]
    finally:
        for pid in workers:  # only if the check failed: end what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)
