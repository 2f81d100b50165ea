"""A real vLLM CPU engine (``vlmbench engine install vllm``) started by ``vlmbench run --engine vllm``: a tiny
catalog LLaVA with dummy weights, a sequential and a concurrency-4 window, TTFT on every row, /metrics
deltas written, and no engine process left (after a normal end, and after vlmbench is SIGKILLed); a start
that fails and a readiness deadline become error rows carrying the engine log's last lines.

Each engine start takes 1-3 minutes on 2 cores: the module starts it as few times as it can. In CI the
engine environment must exist (.ci/run installs it): these tests fail there instead of skipping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, assert_engine_died_mid_window, engine_ports, none_left, processes_where, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.server]
MODEL = "llava-1.5-7b-tiny-hd64"
PROMPTS = "chart-bar-640x480,chart-pie-672x672"
N = 16


@pytest.fixture(scope="module", autouse=True)
def vllm_installed():
    from vlmbench.engines.install import installed

    if installed("vllm") is None:
        message = "the vLLM engine environment is missing: run `vlmbench engine install vllm`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _engine_marked(mark: str):
    return lambda cmd: any("vllm" in part for part in cmd) and mark in cmd


def engine_processes(mark: str) -> list[psutil.Process]:
    return processes_where(_engine_marked(mark))


def no_engine_left(mark: str, within_s: float = 60) -> bool:
    return none_left(_engine_marked(mark), within_s, poll_s=0.5)


def free_port() -> int:
    from vlmbench.engines.process import free_port as fp

    return fp()


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("engine-run")
    port = free_port()
    proc = run_cli("run", "--engine", "vllm", "--model", MODEL, "--prompts", PROMPTS, "--repeats", "2",
                   "--max-new-tokens", str(N), "--concurrency", "1,4", "--warmup", "1", "--engine-port", str(port),
                   "--out", str(out), "--no-progress", timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = next(p for p in out.iterdir() if p.is_dir() and (p / "requests.csv").exists())
    return run_dir, port


def test_every_row_timed_token_exactly(engine_run):
    from vlmbench.results.reader import read_rows

    run_dir, _ = engine_run
    rows = read_rows(run_dir / "requests.csv")
    assert {r["scenario"] for r in rows} == {f"c1-n{N}", f"c4-n{N}"}
    assert sum(r["scenario"] == f"c1-n{N}" for r in rows) == 2 * 2  # 2 prompts x 2 repeats, one at a time
    assert sum(r["scenario"] == f"c4-n{N}" for r in rows) >= 2 * 2  # a steady-interval window may send more
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert r["ttft_ms"] is not None and 0 < r["ttft_ms"] <= r["e2e_ms"]
        assert r["n_output_tokens"] == N and r["length_enforced"] is True
        # token-exact: one arrival per token (a loaded server may put several tokens in one chunk)
        assert r["token_timing"] == "per_chunk_usage" and 1 <= r["n_token_chunks"] <= N
        assert len(r["token_times_ms"].split()) == N
        assert r["n_chunks"] == r["n_token_chunks"]  # allowed_token_ids: every token chunk carried visible text
        assert r["ttft_text_ms"] == pytest.approx(r["ttft_ms"])
        assert r["weights"] == "random" and r["backend"] == "engine" and r["stack"].startswith("vllm-0.32.0+")
        assert r["n_prompt_tokens"] > 576  # the image's 576 tokens and the text
    assert {r["concurrency"] for r in rows if r["scenario"] == f"c4-n{N}"} <= {1, 2, 3, 4}


def test_metrics_deltas_per_window(engine_run):
    from vlmbench.engines import server_metrics

    run_dir, _ = engine_run
    windows = server_metrics.read(run_dir)
    assert [w["window_id"].split("|", 1)[1] for w in windows] == [f"c1-n{N}|cold", f"c1-n{N}", f"c4-n{N}"]
    for w in windows:
        assert w["available"] and w["summary"]["engine_requests"] == w["requests"]
        assert w["counters"]["vllm:generation_tokens_total"] == N * w["requests"]
        assert w["summary"]["engine_ttft_ms"] > 0 and w["summary"]["engine_prefix_cache_hits"] == 0


def test_manifest_records_the_engine(engine_run):
    run_dir, port = engine_run
    info = json.loads((run_dir / "manifest.json").read_text())["models"][MODEL]["engine"]
    assert info["version"] == "0.32.0" and info["torch"]["torch"].startswith("2.13.0")
    assert "--load-format" in info["command"] and str(port) in info["command"]
    assert "--no-enable-prefix-caching" in info["recipe"]["args"] and info["allowed_token_ids"] > 100
    # the run's fingerprint (what report and archive compare): the same facts, the command without port or paths
    facts = json.loads((run_dir / "manifest.json").read_text())["environment"]["engine"]
    assert (facts["name"], facts["version"], facts["torch"]) == ("vllm", "0.32.0", info["torch"]["torch"])
    template = facts["commands"][MODEL].split()
    assert template[0] == "{python}" and "{port}" in template and str(port) not in template
    assert template[template.index("--load-format") + 1] == "dummy" and "--no-enable-prefix-caching" in template


def test_teardown_leaves_no_engine_process(engine_run):
    _, port = engine_run
    assert no_engine_left(str(port), within_s=5), [p.cmdline() for p in engine_processes(str(port))]


def test_engine_dies_with_vlmbench_sigkill(tmp_path):
    """vlmbench SIGKILLed while the engine serves: every engine process is gone within a minute."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "vlmbench", "run", "--engine", "vllm", "--model", MODEL,
                             "--prompts", PROMPTS, "--repeats", "200", "--max-new-tokens", "64",
                             "--engine-port", str(port), "--out", str(tmp_path), "--no-progress"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 900
        csvs: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            csvs = list(tmp_path.glob("*/requests.csv"))
            if csvs and len(csvs[0].read_text().splitlines()) >= 2:
                break  # the engine is serving: the cold request's row is written
            time.sleep(1)
        assert proc.poll() is None and csvs, "the run should be measuring"
        assert engine_processes(str(port)), "the engine runs"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert no_engine_left(str(port), within_s=90), [p.cmdline() for p in engine_processes(str(port))]
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in engine_processes(str(port)):
            p.kill()


def test_start_failure_and_readiness_deadline_become_error_rows(tmp_path):
    from vlmbench.results.reader import read_rows

    port = free_port()
    proc = run_cli("run", "--engine", "vllm", "--model", MODEL, "--prompts", PROMPTS, "--repeats", "1",
                   "--max-new-tokens", "4", "--engine-arg=--no-such-flag", "--engine-port", str(port),
                   "--out", str(tmp_path / "bad-arg"), "--no-progress", timeout=600)
    rows = read_rows(next((tmp_path / "bad-arg").glob("*/requests.csv")))
    assert rows and all(r["status"] == "error" for r in rows)
    assert "did not start" in rows[0]["error"] and "no-such-flag" in rows[0]["error"], rows[0]["error"]
    assert proc.returncode == 1 and no_engine_left(str(port), within_s=30)

    port = free_port()
    proc = run_cli("run", "--engine", "vllm", "--model", MODEL, "--prompts", PROMPTS, "--repeats", "1",
                   "--max-new-tokens", "4", "--engine-start-timeout", "5", "--engine-port", str(port),
                   "--out", str(tmp_path / "deadline"), "--no-progress", timeout=600)
    rows = read_rows(next((tmp_path / "deadline").glob("*/requests.csv")))
    assert rows and all(r["status"] == "error" for r in rows)
    assert "not ready within --engine-start-timeout 5 s" in rows[0]["error"] and "last log lines" in rows[0]["error"]
    assert no_engine_left(str(port), within_s=30)


def test_report_puts_engine_figures_beside_the_clients(engine_run, tmp_path):
    from vlmbench.report.build import build_report
    from vlmbench.report.engine_windows import engine_windows

    run_dir, _ = engine_run
    report = build_report([run_dir], tmp_path / "report")
    windows = engine_windows(report.runs)
    assert len(windows) == 3 and all(w["stack"].startswith("vllm-0.32.0+") for w in windows)
    for w in windows:
        assert w["client_ttft_ms"] > 0 and w["engine_ttft_ms"] > 0
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Engine figures beside the client" in html and windows[-1]["window"] in html
    assert {s["stack"] for s in report.summaries} == {windows[0]["stack"]}


TESTS = Path(__file__).resolve().parent
SECOND = "llava-tiny-hd64-second"  # the same tiny LLaVA under a second id (tests/plugins/engine_models.py)


def _engine_of(parent: psutil.Process, served: str) -> psutil.Process | None:
    """The vLLM API server vlmbench (``parent``) started for the model served as ``served``."""
    for p in parent.children(recursive=True):
        try:
            cmd = p.cmdline()
        except psutil.Error:
            continue
        if "vllm.entrypoints.openai.api_server" in cmd and served in cmd \
                and not any(part.endswith("supervisor.py") for part in cmd):  # the server, not its supervisor
            return p
    return None


def test_engine_dies_mid_window_and_the_next_model_goes_on(tmp_path):
    """The engine is SIGKILLed in the middle of a load window (after the cold request, the warmup and two
    of the window's requests finished, by its own /metrics): rows measured before stay on disk as ok,
    the window's unfinished ones become errors naming the engine's death and its log's last lines, and
    the run's next model starts its own engine and measures (ok rows)."""
    import urllib.request

    from vlmbench.results.reader import read_rows

    env = dict(os.environ, HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p))
    repeats = 60  # one prompt: a cold request, then a sequential window of 59 at 64 tokens (seconds long)
    proc = subprocess.Popen([sys.executable, "-m", "vlmbench", "run", "--plugin", "plugins.engine_models",
                             "--engine", "vllm", "--model", MODEL, "--model", SECOND,
                             "--prompts", "diagram-shapes-336x336", "--repeats", str(repeats), "--warmup", "1",
                             "--max-new-tokens", "64", "--out", str(tmp_path), "--run-id", "t", "--no-progress"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    killed = None
    try:
        deadline = time.monotonic() + 900
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            engine = _engine_of(parent, MODEL)
            cmd = engine.cmdline() if engine is not None else []
            if "--port" in cmd:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{cmd[cmd.index('--port') + 1]}/metrics",
                                                timeout=2) as resp:
                        text = resp.read().decode()
                    done = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                               if line.startswith("vllm:request_success_total{"))
                except (OSError, ValueError, IndexError):
                    done = 0
                if done >= 4:  # cold + warmup + 2 measured in the window
                    engine.send_signal(signal.SIGKILL)
                    killed = engine.pid
            time.sleep(0.05)
        assert killed is not None, "the first model's engine should have been serving"
        _, stderr = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]  # some rows measured: the run itself succeeded
    rows = read_rows(tmp_path / "t" / "requests.csv")
    first = [r for r in rows if r["model_id"] == MODEL]
    second = [r for r in rows if r["model_id"] == SECOND]
    assert len(first) == repeats and len(second) == repeats  # every planned row is on disk, none twice
    assert_engine_died_mid_window(first, second, repeats, n_tokens=64)
    ports = engine_ports(tmp_path / "t")
    assert len(set(ports)) == 2  # each model had its own engine
    assert all(no_engine_left(port, within_s=10) for port in ports)
