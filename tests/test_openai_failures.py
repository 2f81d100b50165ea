"""Failure injection and load modes against a scripted SSE server that really speaks HTTP on
127.0.0.1 (tests/servers/scripted_sse.py): every failure becomes a categorised error row, the
run goes on, and the API key never reaches any output."""

from __future__ import annotations

import asyncio
import json

import pytest

from vlmbench.backends.openai.client import ChatClient
from vlmbench.backends.openai.columns import OutcomeColumns
from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.errors import EndpointError
from vlmbench.backends.openai.load import Sequential
from vlmbench.backends.openai.request import RequestBuilder
from vlmbench.backends.openai.server_kinds import SERVER_KINDS
from vlmbench.backends.openai.window import run_window
from vlmbench.config import RunConfig
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import read_rows

from conftest import run_cli
from servers.scripted_sse import ServerThread, Settings
from servers.transformers_serve import free_port

pytestmark = pytest.mark.server
PROMPTS = ["photo-cat-451x300", "diagram-shapes-336x336"]


@pytest.fixture(scope="module")
def server():
    thread = ServerThread(Settings(chunk_gap_s=0.002, first_byte_delay_s=0.3)).start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def item():
    return load_promptset(ids=PROMPTS[:1]).items[0]


def _stream(url: str, model: str, item, timeout_s: float = 5.0, key: str | None = None, client=None):
    client = client or ChatClient(Endpoint.parse(url), key, timeout_s)
    request = RequestBuilder(model, SERVER_KINDS["generic"]).build(item, 4)
    result = asyncio.run(client.stream(request))
    result.record  # decoding (done after the window in a run) raises for malformed events
    return result


@pytest.mark.parametrize("model, prefix, status", [
    ("http-500", "http_500: ", "error"),
    ("reset", "reset: ", "error"),
    ("close-mid-body", "stream_ended_early: connection closed in the middle", "error"),
    ("end-early", "stream_ended_early: the stream ended between events", "error"),
    ("garbage", "malformed_event: ", "error"),
    ("error-event", "stream_error: the engine died", "error"),
])
def test_each_failure_has_its_category(server, item, model, prefix, status):
    with pytest.raises(EndpointError) as info:
        _stream(server.url, model, item)
    assert str(info.value).startswith(prefix)
    assert info.value.status.value == status


def test_a_stalled_stream_times_out(server, item):
    with pytest.raises(EndpointError) as info:
        _stream(server.url, "stall", item, timeout_s=0.5)
    assert str(info.value) == "timeout: no complete response within 0.5 s" and info.value.status.value == "timeout"


def test_nothing_listening_is_connect_refused(item):
    with pytest.raises(EndpointError, match=r"^connect_refused: nothing listens at 127\.0\.0\.1:"):
        _stream(f"http://127.0.0.1:{free_port()}", "normal", item)


def test_events_split_mid_line_and_mid_character_are_reassembled(server, item):
    result = _stream(server.url, "split-events", item)
    assert result.record.text == "é→0 é→1 é→2 é→3 "
    assert len(result.record.content_ns) == 4 and result.record.done
    assert result.record.completion_tokens == 4
    times = result.record.content_ns
    assert times == sorted(times) and times[-1] > times[0]  # written 7 bytes at a time: several reads


def test_slow_first_byte_shows_in_ttfb_and_ttft(server, item):
    result = _stream(server.url, "slow-first-byte", item)
    ttfb_ms = (result.head_ns - result.sent_ns) / 1e6
    assert 300 <= ttfb_ms < 3000
    assert result.record.content_ns[0] >= result.head_ns


def test_stream_options_rejected_is_retried_once_without_it_then_dropped(server, item):
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    before = len(server.requests)
    result = _stream(server.url, "reject-stream-options", item, client=client)
    sent = [r.body for r in server.requests[before:]]
    assert ["stream_options" in b for b in sent] == [True, False]
    assert result.record.completion_tokens == 4 and not result.include_usage and not client.include_usage
    _stream(server.url, "reject-stream-options", item, client=client)
    assert len(server.requests) == before + 3  # no more rejected attempts


def test_no_usage_chunk_leaves_token_counts_empty_not_guessed(server, item):
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    outcomes = run_window(client, [RequestBuilder("no-usage", SERVER_KINDS["generic"]).build(item, 6)], Sequential())
    row = OutcomeColumns(SERVER_KINDS["generic"], 6, cache_bust=False).window(outcomes, "w")[0]
    assert row["status"] == "ok" and row["n_chunks"] == 6
    assert row["n_output_tokens"] is None and row["tpot_ms"] is None and row["tokens_per_chunk"] is None
    assert row["window_output_tps"] is None and row["window_rps"] > 0
    assert 0 < row["ttft_ms"] < row["e2e_ms"] and row["length_enforced"] is False


KEY = "sk-vlmbench-test-7f3a9c1e5b2d4680"
KNOWN_FAILURES = ("http_500: ", "malformed_event: ", "reset: ")


@pytest.fixture(scope="module")
def cli_run(server, tmp_path_factory):
    """One real ``vlmbench run`` in a fresh interpreter against a flaky server (one request in
    two fails, four ways): two load windows, an SLO, cache busting and an API key."""
    out = tmp_path_factory.mktemp("openai-run")
    before = len(server.requests)
    proc = run_cli("run", "--backend", "openai", "--endpoint", server.url, "--model", "flaky",
                   "--api-key-env", "VLMBENCH_TEST_KEY", "--server-kind", "generic", "--max-new-tokens", "4",
                   "--repeats", "3", "--warmup", "1", "--prompts", ",".join(PROMPTS), "--concurrency", "3",
                   "--rate", "40", "--slo", "ttft=5000,tpot=1000", "--cache-bust", "--request-timeout", "10",
                   "--out", str(out), "--no-progress", env={"VLMBENCH_TEST_KEY": KEY}, timeout=600)
    requests = [r for r in server.requests[before:] if r.path.endswith("/chat/completions")]
    files = [p for p in out.rglob("*") if p.is_file()]
    csv = next(p for p in files if p.name == "requests.csv")
    return proc, requests, files, read_rows(csv)


def test_the_run_goes_on_past_failures_with_categorised_error_rows(cli_run):
    proc, _, files, rows = cli_run
    assert proc.returncode == 0, proc.stderr
    assert len(rows) == 12 and len({r["request_id"] for r in rows}) == 12
    errors = [r for r in rows if r["status"] != "ok"]
    assert errors and len(errors) < len(rows)
    for row in errors:
        assert row["status"] == "error" and row["error"].startswith(KNOWN_FAILURES), row["error"]
        assert all(row[c] is None for c in ("ttft_ms", "e2e_ms", "ttfb_ms", "n_output_tokens", "tpot_ms", "slo_met"))
        assert row["payload_bytes"] > 0 and row["encode_ms"] is not None and row["cache_bust"] is True
    manifest = json.loads(next(p for p in files if p.name == "manifest.json").read_text())
    assert manifest["rows_expected"] == manifest["rows_written"] == 12


def test_load_window_rows_carry_every_endpoint_column(cli_run, server):
    _, _, _, rows = cli_run
    assert {r["scenario"] for r in rows} == {"c3-n4", "r40-n4"}
    cold = [r for r in rows if r["cold"]]
    assert len(cold) == 1 and cold[0]["window_id"].endswith("|cold")
    for r in (r for r in rows if r["status"] == "ok"):
        assert r["backend"] == "openai" and r["device"] == server.url.split("//")[1]
        assert r["hardware"] == "remote" and r["processor_kind"] == "remote" and r["weights"] is None
        assert r["n_output_tokens"] == 4 and r["n_chunks"] == 4 and r["length_enforced"] is False
        assert 0 <= r["ttfb_ms"] <= r["ttft_ms"] < r["e2e_ms"] and r["queue_delay_ms"] >= 0
        assert r["ttft_sched_ms"] == pytest.approx(r["queue_delay_ms"] + r["ttft_ms"], abs=1e-3)
        assert r["tpot_ms"] == pytest.approx((r["e2e_ms"] - r["ttft_ms"]) / 3, rel=1e-3)
        assert r["slo_met"] is True and r["n_prompt_tokens"] == 600 and r["cache_bust"] is True
    windows: dict[str, set] = {}
    for r in rows:
        windows.setdefault(r["window_id"], set()).add((r["window_output_tps"], r["window_rps"], r["window_goodput_rps"]))
    assert all(len(values) == 1 for values in windows.values())
    for (tps, rps, goodput), in (tuple(v) for v in windows.values()):
        if rps is not None:
            assert tps == pytest.approx(4 * rps, rel=1e-4) and goodput == pytest.approx(rps, rel=1e-4)
    assert {r["concurrency"] for r in rows if r["scenario"] == "c3-n4" and not r["cold"]} == {3}
    assert all(1 <= r["concurrency"] <= 6 for r in rows if r["scenario"] == "r40-n4")


def test_cache_bust_makes_every_request_unique(cli_run):
    _, requests, _, _ = cli_run
    assert len(requests) == 12 + 2  # measured + one warmup per window
    texts = [r.body["messages"][0]["content"][1]["text"] for r in requests]
    images = [r.body["messages"][0]["content"][0]["image_url"]["url"] for r in requests]
    assert len(set(texts)) == len(set(images)) == len(requests)


def test_the_api_key_is_sent_but_never_written(cli_run):
    proc, requests, files, rows = cli_run
    assert requests and all(r.headers.get("authorization") == f"Bearer {KEY}" for r in requests)
    assert any(r["error"] and "Bearer ***" in r["error"] for r in rows)  # the server echoed it back
    for path in files:
        assert KEY not in path.read_text(errors="replace"), path
        assert KEY[:12] not in path.read_text(errors="replace"), path
    assert KEY not in proc.stdout + proc.stderr
    manifest = json.loads(next(p for p in files if p.name == "manifest.json").read_text())
    assert manifest["config"]["api_key_env"] == "VLMBENCH_TEST_KEY"


def test_auto_detects_vllm_and_forces_the_length():
    """The backend itself (no worker process): detection, request fields, rows."""
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.openai.backend import OpenAIBackend
    from vlmbench.runner.plan import plan

    vllm_like = ServerThread(Settings(owned_by="vllm")).start()
    try:
        config = RunConfig(backend="openai", endpoint=vllm_like.url, models=["normal"], max_new_tokens=5,
                           repeats=1, warmup=0, prompts=PROMPTS)
        backend = OpenAIBackend(config, ModelSpec("normal", "random"))
        constants = backend.load()
        rows = []
        backend.run_job("run-1", plan(config, PROMPTS)[0].cells, load_promptset(ids=PROMPTS),
                        lambda cell, slot, columns: rows.append(columns))
        body = vllm_like.requests[-1].body
        label = vllm_like.url.split("//")[1]
    finally:
        vllm_like.stop()
    assert backend.manifest_info()["server_kind"] == "vllm" and constants["device"] == label
    assert (body["min_tokens"], body["max_tokens"], body["ignore_eos"]) == (5, 5, True)
    assert len(rows) == 2 and all(r["length_enforced"] is True and r["n_output_tokens"] == 5 for r in rows)


@pytest.mark.parametrize("kind", ["auto", "generic"])
def test_an_unreachable_endpoint_gives_connect_refused_rows(kind):
    """auto: the /v1/models probe fails; generic: every request fails. Either way one row per
    cell, category first, the endpoint as device, no timings."""
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.openai.backend import OpenAIBackend
    from vlmbench.runner.plan import plan

    url = f"http://127.0.0.1:{free_port()}"
    config = RunConfig(backend="openai", endpoint=url, models=["m"], max_new_tokens=4, repeats=1, warmup=1,
                       prompts=PROMPTS, server_kind=kind, concurrency=[2])
    backend = OpenAIBackend(config, ModelSpec("m", "random"))
    constants = backend.load()
    rows = []
    backend.run_job("r", plan(config, PROMPTS)[0].cells, load_promptset(ids=PROMPTS),
                    lambda cell, slot, columns: rows.append(columns))
    assert constants["device"] == url.split("//")[1] and len(rows) == 2
    for row in rows:
        assert row["status"] == "error" and row["error"].startswith("connect_refused: nothing listens at")
        assert row.get("ttft_ms") is None and row.get("n_output_tokens") is None


@pytest.mark.parametrize("extra, message", [
    (["--endpoint", "http://127.0.0.1:9", "--api-key-env", "VLMBENCH_MISSING_KEY"],
     "--api-key-env VLMBENCH_MISSING_KEY: the environment variable is not set"),
    (["--endpoint", "http://u:p@127.0.0.1:9"], "credentials in the URL are refused"),
    ([], "--endpoint: required with --backend openai"),
    (["--endpoint", "http://127.0.0.1:9", "--concurrency", "0"], "--concurrency [0]: each must be at least 1"),
    (["--endpoint", "http://127.0.0.1:9", "--slo", "latency=5"], "--slo 'latency=5'"),
    (["--endpoint", "http://127.0.0.1:9", "--batch-sizes", "2"], "--batch-sizes [2]: not used with --backend openai"),
])
def test_bad_endpoint_input_is_one_line_exit_2(extra, message, tmp_path, capsys, monkeypatch):
    from vlmbench.cli import main

    monkeypatch.delenv("VLMBENCH_MISSING_KEY", raising=False)
    code = main(["run", "--backend", "openai", "--model", "m", *extra, "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written


def test_endpoint_options_are_refused_with_another_backend(tmp_path, capsys):
    from vlmbench.cli import main

    code = main(["run", "--endpoint", "http://127.0.0.1:9", "--out", str(tmp_path), "--no-progress"])
    assert code == 2 and "only with --backend openai" in capsys.readouterr().err
