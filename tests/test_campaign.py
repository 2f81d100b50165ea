"""Campaigns on a real Ray cluster started here on 127.0.0.1 (several nodes on this machine,
fake accelerator resources, tiny catalog models on the CPU), driven by the real CLI:

- rows land under the right target with the fingerprint of the node that has its resources;
- a node killed mid-job: its rows already received stay, the rest runs on the other node of the
  same target, every expected row exactly once;
- a target no node has: skipped rows naming the missing resource, the campaign still finishes;
- the driver killed with SIGKILL, then ``--resume``: every expected row exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from vlmbench.results.reader import read_rows

from conftest import ROOT, run_cli

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.slow

# A loopback test cluster: no token, and every process (nodes, the CLI's driver) takes 127.0.0.1
# as its node address (Ray otherwise rewrites 127.0.0.1 in --address to the interface address).
# PYTHONPATH: the nodes' Ray workers import the test plugin with the paced model (known-time-tiny:
# ~1.5 s a request), so a job is still running when the test kills its node or its driver.
TESTS = Path(__file__).resolve().parent
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "HF_HUB_OFFLINE": "1",
       "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)}
PLUGIN = ("--plugin", "plugins.known_time_models")
PACED = "known-time-tiny"
PROMPTS = ["diagram-shapes-336x336", "chart-bar-640x480", "photo-cat-451x300", "chart-pie-672x672",
           "photo-coffee-600x400", "document-banner-1200x300"]
NODE = {"node_ip_address": "127.0.0.1", "include_dashboard": False}
FAST_DEATH = {"health_check_period_ms": 500, "health_check_timeout_ms": 500, "health_check_failure_threshold": 3}


def _free_port() -> int:
    """A free port outside Ray's worker-port range (10002-19999)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not 10002 <= port <= 19999:
            return port
    return 6391


@contextmanager
def loopback_cluster(env: dict[str, str] = ENV, **head: Any) -> Iterator[Cluster]:
    """A Ray test cluster on 127.0.0.1 (a head node with ``head``'s arguments), ``env`` set for the Ray
    processes it starts (not for the product) and restored afterwards; shut down at the end."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    c = Cluster(initialize_head=True, head_node_args={
        **NODE, "gcs_server_port": _free_port(), "_system_config": FAST_DEATH, **head})
    try:
        yield c
    finally:
        c.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def cluster():
    with loopback_cluster(num_cpus=2, resources={"accelerator_type:FAKE_H100": 1}) as c:
        l4 = [c.add_node(**NODE, num_cpus=1, resources={"fake_l4": 1}) for _ in range(2)]
        c.wait_for_nodes()
        yield c, l4


def _campaign_file(tmp_path: Path, name: str, targets: str, prompts: list[str], tokens: int = 2,
                   model: str = "llava-1.5-7b-tiny") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""\
name: {name}
suite:
  models: [{model}]
  prompts: [{', '.join(prompts)}]
  repeats: 1
  warmup: 0
  max_new_tokens: {tokens}
targets:
{targets}""")
    return path


def _start(path: Path, out: Path, address: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vlmbench", "campaign", str(path), "--address", address, "--out", str(out),
         "--no-progress", *extra],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


@pytest.fixture
def started():
    """Campaign CLI processes of a test; whatever is still running at its end is killed."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _rows(target_dir: Path) -> list[dict]:
    csvs = list(target_dir.glob("*/requests.csv"))
    return read_rows(csvs[0]) if csvs else []


def _wait_for(condition, timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def _expected(model: str, prompts: list[str], tokens: int) -> set[str]:
    return {f"{model}|b1-n{tokens}|{p}|r0|s0" for p in prompts}


def test_targets_rows_fingerprints_node_loss_and_missing_target(cluster, tmp_path, started):
    c, l4_nodes = cluster
    out = tmp_path / "results"
    path = _campaign_file(tmp_path, "nightly", """\
  - {label: h100, accelerator_type: FAKE_H100, device: cpu, prompts: [diagram-shapes-336x336, chart-bar-640x480]}
  - {label: l4, resources: {fake_l4: 1}, cpus: 1, models: [known-time-tiny], max_new_tokens: 4}
  - {label: b200, accelerator_type: FAKE_B200, gpus: 1}
""", PROMPTS)
    proc = _start(path, out, c.address, "--target-timeout", "3", *PLUGIN)
    started.append(proc)
    l4_dir = out / "nightly" / "l4"
    record = out / "nightly" / "campaign.json"

    # Kill the node running the l4 job once some of its rows have arrived.
    _wait_for(lambda: len(_rows(l4_dir)) >= 1 or proc.poll() is not None, 400, "a first l4 row")
    assert proc.poll() is None, proc.communicate()
    job = json.loads(record.read_text())["jobs"][f"l4/{PACED}"]
    first_node = job["attempts"][-1]["node"]
    victim = [n for n in l4_nodes if n.node_id == first_node]
    assert victim, "the l4 job ran on a node without fake_l4"
    rows_before = len(_rows(l4_dir))
    c.remove_node(victim[0], allow_graceful=False)
    stdout, stderr = proc.communicate(timeout=400)
    assert proc.returncode == 0, stderr[-3000:]

    campaign = json.loads(record.read_text())
    # h100: on the head node (the one with accelerator_type:FAKE_H100), with its fingerprint
    h100_dir = next((out / "nightly" / "h100").iterdir())
    rows = _rows(out / "nightly" / "h100")
    assert sorted(r["request_id"] for r in rows) == sorted(_expected("llava-1.5-7b-tiny", PROMPTS[:2], 2))
    assert {r["status"] for r in rows} == {"ok"} and {r["size_class"] for r in rows} == {"tiny"}
    manifest = json.loads((h100_dir / "manifest.json").read_text())
    assert list(manifest["nodes"]) == [c.head_node.node_id]
    assert manifest["environment"]["hostname"] == socket.gethostname()
    assert manifest["nodes"][c.head_node.node_id]["fingerprint"]["software"]["torch"]

    # l4: every expected row exactly once, the rows received before the loss kept, the rest on the other node
    rows = _rows(l4_dir)
    ids = [r["request_id"] for r in rows]
    assert sorted(ids) == sorted(_expected(PACED, PROMPTS, 4)), ids
    assert {r["status"] for r in rows} == {"ok"}
    job = campaign["jobs"][f"l4/{PACED}"]
    assert job["state"] == "done" and len(job["attempts"]) >= 2
    assert job["attempts"][0]["outcome"].startswith("lost")
    assert job["attempts"][-1]["node"] != first_node
    assert {n.node_id for n in l4_nodes} >= set(json.loads(next(l4_dir.iterdir()).joinpath("manifest.json")
                                                             .read_text())["nodes"])
    assert rows_before >= 1

    # b200: no node has it -> skipped rows naming the resource; the campaign still finished
    rows = _rows(out / "nightly" / "b200")
    assert len(rows) == len(PROMPTS) and {r["status"] for r in rows} == {"skipped"}
    assert all("accelerator_type:FAKE_B200" in r["error"] for r in rows)
    assert campaign["jobs"]["b200/llava-1.5-7b-tiny"]["state"] == "skipped"
    assert campaign["ended_at"]

    # every target folder is a run folder: `vlmbench report` takes them together, unchanged
    from vlmbench.cli import main

    folders = [str(next((out / "nightly" / label).iterdir())) for label in ("h100", "l4", "b200")]
    assert len({Path(f).name for f in folders}) == 3  # run ids unique per target
    assert main(["report", *folders, "-o", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "index.html").exists()


def test_resume_after_the_driver_is_killed(cluster, tmp_path, started):
    c, _ = cluster
    out = tmp_path / "results"
    path = _campaign_file(tmp_path, "resumable", "  - {label: h100, accelerator_type: FAKE_H100, device: cpu}\n",
                          PROMPTS, tokens=3, model=PACED)
    proc = _start(path, out, c.address, *PLUGIN)
    started.append(proc)
    target = out / "resumable" / "h100"
    _wait_for(lambda: len(_rows(target)) >= 1 or proc.poll() is not None, 400, "a first row")
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    written = len(_rows(target))
    assert written < len(PROMPTS), "the campaign finished before it could be killed"

    done = run_cli("campaign", str(path), "--address", c.address, "--resume", str(out / "resumable"),
                   "--no-progress", *PLUGIN, env=ENV, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(target)
    assert sorted(r["request_id"] for r in rows) == sorted(_expected(PACED, PROMPTS, 3))
    assert {r["status"] for r in rows} == {"ok"}
    assert len(list(target.iterdir())) == 1  # the same run folder, completed in place
    record = json.loads((out / "resumable" / "campaign.json").read_text())
    assert record["resumed_at"] and record["jobs"][f"h100/{PACED}"]["state"] == "done"


def test_cpu_jobs_reserve_the_whole_node_gpu_jobs_its_cpus_per_gpu(cluster, tmp_path, started):
    """A CPU target's job reserves every CPU of the node it gets (the 2-CPU head: 2, the 4-CPU box:
    4), a GPU target's job the node's CPUs divided by its GPUs (the 4-CPU, 2-GPU box: 2); the
    worker runs with that many threads; all recorded; a whole-node job never runs beside another."""
    c, _ = cluster
    box = c.add_node(**NODE, num_cpus=4, num_gpus=2, resources={"fake_gpu_box": 1, "accelerator_type:FAKE_H100": 1})
    c.wait_for_nodes()
    try:
        out = tmp_path / "results"
        path = _campaign_file(tmp_path, "isolated", """\
  - {label: cpu, accelerator_type: FAKE_H100, device: cpu, models: [llava-1.5-7b-tiny, known-time-tiny]}
  - {label: gpu, resources: {fake_gpu_box: 1}, gpus: 1, device: cpu}
""", PROMPTS[:2])
        done = run_cli("campaign", str(path), "--address", c.address, "--out", str(out), "--no-progress", *PLUGIN,
                       env=ENV, timeout=400)
        assert done.returncode == 0, done.stderr[-3000:]
        record = json.loads((out / "isolated" / "campaign.json").read_text())
        node_cpus = {c.head_node.node_id: 2, box.node_id: 4}
        spans = {}
        for key, job in record["jobs"].items():
            attempt = job["attempts"][-1]
            res = attempt["reservation"]
            if key.startswith("cpu/"):
                assert res["num_cpus"] == res["node_cpus"] == node_cpus[attempt["node"]] and res["whole_node"] is True
            else:
                assert attempt["node"] == box.node_id and res["num_cpus"] == 2 and res["whole_node"] is False
            assert attempt["worker_threads"] == res["num_cpus"]
            times = [r["started_at"] for r in _rows(out / "isolated" / key.split("/")[0]) if r["model_id"] in key]
            spans[key] = (attempt["node"], min(times), max(times), res["whole_node"])
        manifest = json.loads(next((out / "isolated" / "cpu").iterdir()).joinpath("manifest.json").read_text())
        assert set(manifest["reservations"]) == {"cpu/llava-1.5-7b-tiny", f"cpu/{PACED}"}
        for a, (node_a, lo_a, hi_a, whole_a) in spans.items():  # nothing beside a whole-node job
            for b, (node_b, lo_b, hi_b, whole_b) in spans.items():
                if a < b and node_a == node_b and (whole_a or whole_b):
                    assert hi_a < lo_b or hi_b < lo_a, (a, b, spans)
    finally:
        c.remove_node(box)


def test_resume_retry_failed_runs_skipped_jobs_again(cluster, tmp_path, started):
    """A target no node had: skipped rows. Its node joins; ``--resume`` alone keeps the skipped rows,
    ``--resume --retry-failed`` replaces them with measured ones, every request id once."""
    c, _ = cluster
    out = tmp_path / "results"
    path = _campaign_file(tmp_path, "late", "  - {label: late, resources: {fake_late: 1}, device: cpu}\n", PROMPTS[:2])
    first = run_cli("campaign", str(path), "--address", c.address, "--out", str(out), "--no-progress",
                    "--target-timeout", "2", env=ENV, timeout=400)
    assert first.returncode == 1, first.stderr[-3000:]  # every row failed (skipped)
    assert {r["status"] for r in _rows(out / "late" / "late")} == {"skipped"}
    late = c.add_node(**NODE, num_cpus=1, resources={"fake_late": 1})
    c.wait_for_nodes()
    try:
        again = run_cli("campaign", str(path), "--address", c.address, "--resume", str(out / "late"),
                        "--no-progress", env=ENV, timeout=400)
        assert again.returncode == 0, again.stderr[-3000:]  # nothing was missing: nothing ran
        assert {r["status"] for r in _rows(out / "late" / "late")} == {"skipped"}
        retried = run_cli("campaign", str(path), "--address", c.address, "--resume", str(out / "late"),
                          "--retry-failed", "--no-progress", env=ENV, timeout=400)
        assert retried.returncode == 0, retried.stderr[-3000:]
        rows = _rows(out / "late" / "late")
        assert sorted(r["request_id"] for r in rows) == sorted(_expected("llava-1.5-7b-tiny", PROMPTS[:2], 2))
        assert {r["status"] for r in rows} == {"ok"}
        record = json.loads((out / "late" / "campaign.json").read_text())
        assert record["jobs"]["late/llava-1.5-7b-tiny"]["state"] == "done"
    finally:
        c.remove_node(late)
