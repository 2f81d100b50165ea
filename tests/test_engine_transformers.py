"""``vlmbench run --engine transformers``: a real ``transformers serve`` (vlmbench's own environment, no install)
started on 127.0.0.1 for a tiny catalog LLaVA (random weights written into its exported folder), measured over
the endpoint path and stopped: ok rows with TTFT, the stack column naming it, no process left. The same run's
fingerprint carries the engine's facts (version, its environment's torch/CUDA, the command line without
machine paths or port), and report and archive call two runs whose engine facts differ not comparable."""

from __future__ import annotations

import importlib.metadata
import json
import shutil

import pytest
import torch

from conftest import assert_engine_died_mid_window, engine_ports, none_left, processes_where, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.server]
MODEL = "llava-1.5-7b-tiny"  # transformers serve has no CPU head-width limit: the plain tiny entry


def _served_on(port: str):
    return lambda cmd: "serve" in cmd and port in cmd and any("transformers" in part for part in cmd)


@pytest.fixture(scope="module")
def served_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tf-serve")
    proc = run_cli("run", "--engine", "transformers", "--model", MODEL, "--prompts", "diagram-shapes-336x336",
                   "--repeats", "3", "--max-new-tokens", "4", "--warmup", "1", "--out", str(out), "--run-id", "t",
                   "--no-progress", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = out / "t"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    command = manifest["models"][MODEL]["engine"]["command"]
    return run_dir, manifest, command[command.index("--port") + 1]


def test_rows_are_ok_with_ttft_and_name_the_stack(served_run):
    from vlmbench.results.reader import read_rows

    run_dir, _, _ = served_run
    rows = read_rows(run_dir / "requests.csv")
    assert len(rows) == 3
    version = importlib.metadata.version("transformers")
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert r["ttft_ms"] is not None and 0 < r["ttft_ms"] <= r["e2e_ms"]
        assert r["n_output_tokens"] == 4 and r["length_enforced"] is True
        # logit_bias -100 on ids without visible text: every token arrives as a text chunk, so TPOT is defined
        assert r["n_chunks"] == 4 and len(r["token_times_ms"].split()) == 4 and r["tpot_ms"] > 0
        assert r["backend"] == "engine" and r["weights"] == "random"
        assert r["stack"].startswith(f"transformers-{version}+")  # engine, version and recipe hash


def test_no_server_process_is_left(served_run):
    _, _, port = served_run
    assert none_left(_served_on(port), within_s=5), [p.cmdline() for p in processes_where(_served_on(port))]


def test_fingerprint_holds_the_engine_facts(served_run):
    _, manifest, port = served_run
    facts = manifest["environment"]["engine"]
    assert facts["name"] == "transformers" and facts["version"] == importlib.metadata.version("transformers")
    assert facts["torch"] == torch.__version__ and facts["cuda"] == torch.version.cuda
    # the command line that started it, with the interpreter, model folder and port as placeholders
    info = manifest["models"][MODEL]["engine"]
    real = info["command"]
    template = facts["commands"][MODEL].split()
    assert len(template) == len(real) and template[0] == "{python}" and "{port}" in template and "{model}" in template
    marks = {"{python}": real[0], "{model}": info["model_folder"], "{port}": port}
    assert [marks.get(part, part) for part in template] == real
    assert info["version"] == facts["version"] and info["torch"] == {"torch": facts["torch"], "cuda": facts["cuda"]}
    assert info["logit_bias_ids"] > 200 and info["visible_text"].startswith("logit_bias")  # byte and special ids


def test_report_and_archive_call_a_changed_engine_not_comparable(served_run, tmp_path):
    from vlmbench.archive.environment import changes, manifest_environment
    from vlmbench.report.fingerprints import environment_differences
    from vlmbench.report.runs import load_run

    run_dir, manifest, _ = served_run
    same = load_run(run_dir)
    assert environment_differences(same, same) == []
    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    changed = json.loads(json.dumps(manifest))
    changed["environment"]["engine"]["version"] = "0.0.1"
    changed["environment"]["engine"]["commands"][MODEL] += " --max-batch-size 4"
    (other / "manifest.json").write_text(json.dumps(changed))
    lines = environment_differences(same, load_run(other))
    assert any(line.startswith("engine differs: engine.version") for line in lines), lines
    assert any(line.startswith("engine differs: engine.commands") for line in lines), lines
    assert len(lines) == 2
    archived = changes(manifest_environment(run_dir), manifest_environment(other))
    assert [line.split(":")[0] for line in archived] == ["engine.version", "engine.commands"]


def test_readiness_deadline_gives_error_rows_with_the_log_tail(tmp_path):
    """transformers serve cannot answer /health within 0.5 s: every row is an error naming the deadline
    and carrying the log's last lines, the run exits 1 (nothing measured), and the server is gone."""
    from vlmbench.results.reader import read_rows

    proc = run_cli("run", "--engine", "transformers", "--model", MODEL, "--prompts", "diagram-shapes-336x336",
                   "--repeats", "2", "--max-new-tokens", "4", "--engine-start-timeout", "0.5", "--out", str(tmp_path),
                   "--run-id", "t", "--no-progress", timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    rows = read_rows(tmp_path / "t" / "requests.csv")
    assert len(rows) == 2 and {r["status"] for r in rows} == {"error"}
    error = rows[0]["error"]
    assert "transformers did not start: not ready within --engine-start-timeout 0.5 s (GET /health)" in error, error
    assert "last log lines: " in error and "[log " in error
    log = error.rsplit("[log ", 1)[1].rstrip("]")
    port = log.rsplit("-", 1)[1].removesuffix(".log")  # engine logs are named ...-<port>.log
    assert none_left(_served_on(port), within_s=10)


SECOND = "llava-1.5-7b-tiny-hd64"  # another tiny catalog LLaVA transformers serve takes


def test_engine_dies_mid_window_and_the_next_model_goes_on(tmp_path):
    """The first model's server is SIGKILLed in the middle of its load window (once its log shows the cold
    request, the warmup and two of the window's requests answered, a third started): rows measured before stay on disk as
    ok, the window's unfinished rows become errors naming the engine's death with its log's last lines,
    the model's later window is error rows without a request, and the next model starts its own server and
    measures (ok rows). The vLLM version of this test is in
    test_engine_vllm.py."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from conftest import ROOT
    from vlmbench.engines.install import engines_dir
    from vlmbench.results.reader import read_rows

    repeats = 30  # one prompt: a cold request, then a sequential window of 29 (seconds long), then a c2 window
    proc = subprocess.Popen([sys.executable, "-m", "vlmbench", "run", "--engine", "transformers", "--model", MODEL,
                             "--model", SECOND, "--prompts", "diagram-shapes-336x336", "--repeats", str(repeats),
                             "--warmup", "1", "--max-new-tokens", "8", "--concurrency", "1,2",
                             "--out", str(tmp_path), "--run-id", "t",
                             "--no-progress"], cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    killed = False
    try:
        deadline = time.monotonic() + 300
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            for p in parent.children(recursive=True):
                try:
                    cmd = p.cmdline()
                except psutil.Error:
                    continue
                if "serve" in cmd and "--port" in cmd and any(f"/{MODEL}-" in part for part in cmd) \
                        and not any(part.endswith("supervisor.py") for part in cmd):  # the server, not its supervisor
                    port = cmd[cmd.index("--port") + 1]
                    logs = list((engines_dir() / "logs").glob(f"*-{MODEL}-{port}.log"))
                    # uvicorn logs a streamed request when its answer starts: the 5th started (cold, warmup,
                    # 3 of the window) means the window's first 2 are measured
                    started = sum(line.count("POST /v1/chat/completions") for log in logs
                                  for line in log.read_text(errors="replace").splitlines())
                    if started >= 5:
                        p.send_signal(signal.SIGKILL)
                        killed = True
                    break
            time.sleep(0.05)
        assert killed, "the first model's server should have been serving"
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]  # rows were measured: the run itself succeeded
    rows = read_rows(tmp_path / "t" / "requests.csv")
    first = [r for r in rows if r["model_id"] == MODEL]
    second = [r for r in rows if r["model_id"] == SECOND]
    assert len(first) == 2 * repeats and len(second) == 2 * repeats  # every planned row is on disk, none twice
    later = [r for r in first if r["scenario"] == "c2-n8"]  # the window after the death: nothing sent
    assert len(later) == repeats and all(r["status"] == "error" for r in later)
    assert all(r["error"].startswith("engine_died: not sent: the engine died (killed by SIGKILL)") for r in later)
    first = [r for r in first if r["scenario"] == "c1-n8"]
    assert_engine_died_mid_window(first, second, repeats, n_tokens=8)
    ports = engine_ports(tmp_path / "t")
    assert len(set(ports)) == 2  # each model had its own server
    assert all(none_left(_served_on(port), within_s=10) for port in ports)
