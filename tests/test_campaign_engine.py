"""Campaign targets that name an engine, on a real Ray cluster on 127.0.0.1 and a real vLLM CPU engine:

- a target with ``engine: {name: vllm, args: [--no-such-flag]}``: its engine does not start on the node, its
  rows are ``status=error`` carrying the last lines of the engine's log, and the campaign goes on;
- a target with ``engine: vllm`` (a tiny catalog LLaVA, dummy weights): the Ray task starts the engine on
  the node, benchmarks it over loopback and stops it; rows come back with the engine's stack, the engine's
  /metrics deltas reach the target's run folder, and no engine process is left.

Kept cheap: one prompt, four tokens, no warmup; the engine starts once (about a minute or two on 2 cores).
"""

from __future__ import annotations

import json
import os

import pytest

from vlmbench.results.reader import read_rows

from conftest import ROOT, none_left, processes_where, run_cli
from test_campaign import ENV, loopback_cluster
from test_engine_vllm import vllm_installed  # noqa: F401 - autouse: skips locally, fails in CI without vLLM

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.server]
MODEL = "llava-1.5-7b-tiny-hd64"
PROMPT = "chart-bar-640x480"
N = 4


def _marked(port: int):
    return lambda cmd: any("vllm" in part for part in cmd) and str(port) in cmd


@pytest.fixture(scope="module")
def cluster():
    with loopback_cluster(num_cpus=2) as c:
        c.wait_for_nodes()
        yield c


def test_engine_targets_start_measure_tear_down_and_fail_into_rows(cluster, tmp_path):
    from vlmbench.engines.process import free_port

    good, bad = free_port(), free_port()
    while bad == good:
        bad = free_port()
    out = tmp_path / "results"
    path = tmp_path / "engines.yaml"
    path.write_text(f"""\
name: engines
suite:
  models: [{MODEL}]
  prompts: [{PROMPT}]
  repeats: 1
  warmup: 0
  max_new_tokens: {N}
targets:
  - {{label: broken, device: cpu, engine: {{name: vllm, port: {bad}, args: [--no-such-flag]}}}}
  - {{label: served, device: cpu, engine: {{name: vllm, port: {good}}}}}
""")
    done = run_cli("campaign", str(path), "--address", cluster.address, "--out", str(out), "--no-progress",
                   env=ENV, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "engines" / "campaign.json").read_text())

    # broken: error rows with the engine log's last lines; the campaign went on to the next target
    broken = next((out / "engines" / "broken").iterdir())
    rows = read_rows(broken / "requests.csv")
    assert rows and {r["status"] for r in rows} == {"error"}
    assert "did not start" in rows[0]["error"] and "no-such-flag" in rows[0]["error"], rows[0]["error"]
    assert rows[0]["stack"] == "vllm" and rows[0]["backend"] == "engine"
    assert record["jobs"][f"broken/{MODEL}"]["state"] == "failed"

    # served: measured on the cluster's node, over loopback, with the stack of the engine that served it
    served = next((out / "engines" / "served").iterdir())
    rows = read_rows(served / "requests.csv")
    assert [r["request_id"] for r in rows] == [f"{MODEL}|seq-n{N}|{PROMPT}|r0|s0"]
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert r["stack"].startswith("vllm-0.32.0+") and r["weights"] == "random"
        assert 0 < r["ttft_ms"] <= r["e2e_ms"] and r["n_output_tokens"] == N
    manifest = json.loads((served / "manifest.json").read_text())
    assert list(manifest["nodes"]) == [cluster.head_node.node_id]
    engine = manifest["models"][MODEL]["engine"]
    assert str(good) in engine["command"] and "127.0.0.1" in engine["command"]
    assert record["jobs"][f"served/{MODEL}"]["state"] == "done"

    # the engine's /metrics deltas came back with the rows, into the target's run folder (not the node's cwd)
    from vlmbench.engines import server_metrics

    windows = server_metrics.read(served)
    assert windows and all(w["stack"] == rows[0]["stack"] for w in windows)
    assert sum(w["summary"]["engine_requests"] for w in windows) == len(rows)
    assert not list(ROOT.glob(f"results/{served.name}*"))

    # torn down: no engine process of either target is left
    for port in (good, bad):
        assert none_left(_marked(port), within_s=30, poll_s=0.5), [p.cmdline() for p in processes_where(_marked(port))]

    # the report reads the campaign's target folders together: the two stacks stay apart
    from vlmbench.report.build import build_report

    report = build_report([served, broken], tmp_path / "report")
    assert {s["stack"] for s in report.summaries if s.get("stack", "").startswith("vllm-")} == {rows[0]["stack"]}
