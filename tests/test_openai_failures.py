"""Failure injection and load modes against a scripted SSE server that really speaks HTTP on
127.0.0.1 (tests/servers/scripted_sse.py): every failure becomes a categorised error row, the
run goes on, and the API key never reaches any output."""

from __future__ import annotations

import json

import pytest

from vlmbench.backends.openai.client import ChatClient
from vlmbench.backends.openai.columns import OutcomeColumns
from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.errors import EndpointError
from vlmbench.backends.openai.load import Sequential
from vlmbench.backends.openai.metrics import SLO
from vlmbench.backends.openai.request import RequestBuilder
from vlmbench.backends.openai.server_kinds import SERVER_KINDS
from vlmbench.backends.openai.session import ConnectionOptions, HttpSession, arrival_log
from vlmbench.backends.openai.window import run_window
from vlmbench.config import RunConfig
from vlmbench.metrics.slo import slo_met_fraction
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import read_rows

from conftest import run_cli
from servers.scripted_sse import ServerThread, Settings
from servers.tls import can_make_certificates, self_signed, server_context
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
    own = client is None
    client = client or ChatClient(Endpoint.parse(url), key, timeout_s)
    try:
        request = RequestBuilder(model, SERVER_KINDS["generic"]).build(item, 4)
        result = client.run(client.stream(request))
        result.record  # decoding (done after the window in a run) raises for malformed events
        return result
    finally:
        if own:
            client.close()


@pytest.mark.parametrize("model, prefix, status", [
    ("http-500", "http_500: ", "error"),
    ("reset", "reset: ", "error"),
    ("close-mid-body", "stream_ended_early: connection closed in the middle", "error"),
    ("end-early", "stream_ended_early: the stream ended between events", "error"),
    ("garbage", "malformed_event: ", "error"),
    ("error-event", "stream_error: the engine died", "error"),
    ("bad-chunk-size", "malformed_event: chunked body: ", "error"),
    ("not-http", "malformed_event: not a valid HTTP response", "error"),
    ("close-before-head", "stream_ended_early: connection closed before the response headers", "error"),
    ("gzipped", "malformed_event: the server compressed the stream (content-encoding 'gzip')", "error"),
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
    client.close()
    assert len(server.requests) == before + 3  # no more rejected attempts


def _sequential(url: str, item, n: int, **options):
    """``n`` sequential requests through one client; their results."""
    client = ChatClient(Endpoint.parse(url), None, 5.0, ConnectionOptions(**options))
    builder = RequestBuilder("normal", SERVER_KINDS["generic"])
    try:
        return [client.run(client.stream(builder.build(item, 3))) for _ in range(n)]
    finally:
        client.close()


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_connections_are_reused_by_default_and_their_set_up_timed_once(item):
    fresh = ServerThread(Settings()).start()
    try:
        results = _sequential(fresh.url, item, 4)
        reused_connections, headers = fresh.connections, fresh.requests[-1].headers
    finally:
        fresh.stop()
    assert reused_connections == 1
    assert results[0].connect_ms is not None and 0 < results[0].connect_ms < 1000
    assert [r.connect_ms for r in results[1:]] == [None, None, None]  # pooled connection: nothing to set up
    assert headers.get("connection", "keep-alive").lower() != "close"
    assert headers["accept-encoding"] == "identity"  # no compression: no decompressor between socket and clock
    assert all(r.record.completion_tokens == 3 and r.sent_ns < r.head_ns <= r.end_ns for r in results)


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_new_connection_per_request_opens_and_times_each_one(item):
    fresh = ServerThread(Settings()).start()
    try:
        results = _sequential(fresh.url, item, 3, new_connection_per_request=True)
        connections, requests = fresh.connections, list(fresh.requests)
    finally:
        fresh.stop()
    assert connections == 3 and all(r.headers["connection"].lower() == "close" for r in requests)
    assert all(r.connect_ms is not None and 0 < r.connect_ms < 1000 for r in results)


def test_arrival_times_come_from_the_socket_reads(server):
    """The connection's protocol notes the read that completed the head and every body read
    (it hooks aiohttp's ResponseHandler: this fails if an aiohttp release moves what it uses)."""
    http = HttpSession(Endpoint.parse(server.url))

    async def listing():
        async with http.session().get(f"{server.url}/v1/models") as response:
            log = arrival_log(response)
            return log, await response.read()

    try:
        log, body = http.run(listing())
    finally:
        http.close()
    assert log is not None and body.startswith(b'{"object": "list"')
    assert log.reads and log.reads[-1][1] == len(body) and log.head_ns <= log.reads[0][0]


def test_a_connection_the_server_broke_is_not_reused(server, item):
    """After a reset the pool opens a new connection; the next request is fine."""
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    try:
        first = _stream(server.url, "normal", item, client=client)
        with pytest.raises(EndpointError, match="^reset: "):
            _stream(server.url, "reset", item, client=client)
        after = _stream(server.url, "normal", item, client=client)
    finally:
        client.close()
    assert first.connect_ms is not None and after.connect_ms is not None and after.record.completion_tokens == 4


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if not can_make_certificates():
        pytest.fail("neither the cryptography package nor the openssl command is available to make a certificate")
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    thread = ServerThread(Settings(), tls=server_context(cert, key)).start()
    yield thread, cert
    thread.stop()


def test_https_with_a_ca_bundle_and_refused_without_it(tls_server, item):
    thread, cert = tls_server
    assert thread.url.startswith("https://127.0.0.1:")
    client = ChatClient(Endpoint.parse(thread.url), None, 5.0, ConnectionOptions(ca_bundle=str(cert)))
    try:
        results = [_stream(thread.url, "normal", item, client=client) for _ in range(2)]
    finally:
        client.close()
    assert [r.record.completion_tokens for r in results] == [4, 4]
    assert results[0].connect_ms is not None and results[1].connect_ms is None  # TLS session kept alive
    with pytest.raises(EndpointError, match=r"^connect_error: 127\.0\.0\.1:\d+: .*[Cc]ertificate"):
        _stream(thread.url, "normal", item)  # the system's trust store does not know the certificate


def test_bad_ca_bundle_is_one_line_exit_2(tmp_path, capsys):
    from vlmbench.cli import main

    bad = tmp_path / "not-a-bundle.pem"
    bad.write_text("not a certificate\n")
    for path, message in ((tmp_path / "missing.pem", "no such file"), (bad, "not a PEM certificate bundle")):
        code = main(["run", "--backend", "openai", "--endpoint", "https://127.0.0.1:9", "--model", "m",
                     "--ca-bundle", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and f"--ca-bundle {path}: {message}" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_proxy_environment_variables_are_honoured(server, item, monkeypatch):
    """HTTP_PROXY names the scripted server; the endpoint's own host does not even resolve."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    before = len(server.requests)
    result = _stream("http://vlmbench-via-proxy.invalid:8000", "normal", item)
    via_proxy = server.requests[before:]
    assert result.record.completion_tokens == 4
    assert [r.path for r in via_proxy] == ["http://vlmbench-via-proxy.invalid:8000/v1/chat/completions"]


def test_a_stream_without_visible_output_keeps_e2e_and_says_why_ttft_is_empty(server, item):
    """Tokens that decode to no visible text: only empty-content chunks, usage says 6 tokens."""
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    try:
        outcomes = run_window(client, [RequestBuilder("empty-content", SERVER_KINDS["generic"]).build(item, 6)],
                              Sequential())
    finally:
        client.close()
    slo = SLO.parse("ttft=5000,e2e=5000")
    row = OutcomeColumns(SERVER_KINDS["generic"], 6, cache_bust=False, slo=slo).window(outcomes, "w")[0]
    assert row["status"] == "ok" and row["n_output_tokens"] == 6 and row["n_chunks"] == 0
    assert row["e2e_ms"] is not None and row["e2e_ms"] >= row["ttfb_ms"] > 0  # to the end of the stream
    assert row["ttft_ms"] is None and row["ttft_user_ms"] is None and row["tpot_ms"] is None
    assert row["ttft_missing_reason"].startswith("no_content: the server reports 6 generated tokens")
    assert row["slo_met"] is False  # TTFT not measured: unjudged counts as a miss


def test_failed_and_unjudged_requests_are_slo_misses_in_goodput(server, item):
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    builders = {m: RequestBuilder(m, SERVER_KINDS["generic"]) for m in ("normal", "http-500", "empty-content")}
    try:
        outcomes = run_window(client, [builders[m].build(item, 4) for m in ("normal", "http-500", "empty-content",
                                                                            "normal")], Sequential())
    finally:
        client.close()
    rows = OutcomeColumns(SERVER_KINDS["generic"], 4, cache_bust=False, slo=SLO.parse("ttft=5000")).window(
        outcomes, "w", lanes=1)
    assert [r["status"] for r in rows] == ["ok", "error", "ok", "ok"]
    assert [r["slo_met"] for r in rows] == [True, False, False, True]
    assert slo_met_fraction(r["slo_met"] for r in rows) == pytest.approx(2 / 4)
    # the steady interval of a sequential window runs from the first end to the last: it holds
    # the last two requests, which completed, and of which one met the SLO
    assert rows[0]["window_goodput_rps"] == pytest.approx(rows[0]["window_rps"] / 2)
    assert all(r["window_edge"] is None for r in rows) and rows[0]["window_requests"] == 4


def test_no_usage_chunk_leaves_token_counts_empty_not_guessed(server, item):
    client = ChatClient(Endpoint.parse(server.url), None, 5.0)
    outcomes = run_window(client, [RequestBuilder("no-usage", SERVER_KINDS["generic"]).build(item, 6)], Sequential())
    client.close()
    row = OutcomeColumns(SERVER_KINDS["generic"], 6, cache_bust=False).window(outcomes, "w")[0]
    assert row["status"] == "ok" and row["n_chunks"] == 6
    assert row["n_output_tokens"] is None and row["tpot_ms"] is None and row["tokens_per_chunk"] is None
    # a window of one request has no steady interval (it starts and ends at that request's end)
    assert row["window_output_tps"] is None and row["window_rps"] is None and row["window_requests"] == 1
    assert 0 < row["ttft_ms"] < row["e2e_ms"] and row["length_enforced"] is False


KEY = "sk-vlmbench-test-7f3a9c1e5b2d4680"
KNOWN_FAILURES = ("http_500: ", "malformed_event: ", "reset: ")


@pytest.fixture(scope="module")
def cli_run(server, tmp_path_factory):
    """One real ``vlmbench run`` in a fresh interpreter against a flaky server (one request in
    two fails, four ways): two load windows, an SLO, cache busting (the default) and an API key."""
    out = tmp_path_factory.mktemp("openai-run")
    before = len(server.requests)
    proc = run_cli("run", "--backend", "openai", "--endpoint", server.url, "--model", "flaky",
                   "--api-key-env", "VLMBENCH_TEST_KEY", "--server-kind", "generic", "--max-new-tokens", "4",
                   "--repeats", "3", "--warmup", "1", "--prompts", ",".join(PROMPTS), "--concurrency", "3",
                   "--rate", "40", "--slo", "ttft=5000,tpot=1000", "--request-timeout", "10", "--min-window-requests", "0",
                   "--out", str(out), "--no-progress", env={"VLMBENCH_TEST_KEY": KEY}, timeout=600)
    requests = [r for r in server.requests[before:] if r.path.endswith("/chat/completions")]
    files = [p for p in out.rglob("*") if p.is_file()]
    csv = next(p for p in files if p.name == "requests.csv")
    return proc, requests, files, read_rows(csv)


def test_the_run_goes_on_past_failures_with_categorised_error_rows(cli_run):
    proc, _, files, rows = cli_run
    assert proc.returncode == 0, proc.stderr
    assert len(rows) == 12 and len({r["request_id"] for r in rows}) == 12
    # --min-window-requests 0 let the c3 window stay at 5 requests: one line says so
    assert "note: window flaky|c3-n4: 5 requests, fewer than 10 x C = 30" in proc.stderr
    errors = [r for r in rows if r["status"] != "ok"]
    assert errors and len(errors) < len(rows)
    for row in errors:
        assert row["status"] == "error" and row["error"].startswith(KNOWN_FAILURES), row["error"]
        assert all(row[c] is None for c in ("ttft_ms", "e2e_ms", "ttfb_ms", "n_output_tokens", "tpot_ms", "connect_ms"))
        assert row["slo_met"] is False  # a failed request misses the SLO
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
        assert r["hardware"] == r["device"] and r["processor_kind"] == "remote" and r["weights"] is None
        assert r["n_output_tokens"] == 4 and r["n_chunks"] == 4 and r["length_enforced"] is False
        assert 0 <= r["ttfb_ms"] <= r["ttft_ms"] <= r["e2e_ms"] and r["queue_delay_ms"] >= 0
        assert r["ttft_sched_ms"] == pytest.approx(r["queue_delay_ms"] + r["ttft_ms"], abs=1e-3)
        if r["e2e_ms"] > r["ttft_ms"]:
            assert r["tpot_ms"] == pytest.approx((r["e2e_ms"] - r["ttft_ms"]) / 3, rel=1e-3)
        else:  # on a stalled machine the 2 ms-apart chunks can come in one read: no decode interval seen
            assert r["tpot_ms"] is None
        # ttft=5000,tpot=1000: met unless a limit could not be judged (no TPOT) or was exceeded
        judged = r["tpot_ms"] is not None and r["ttft_sched_ms"] <= 5000 and r["tpot_ms"] <= 1000
        assert r["slo_met"] is judged and r["n_prompt_tokens"] == 600 and r["cache_bust"] is True
        assert r["ttft_user_ms"] >= r["ttft_ms"] and r["ttft_missing_reason"] is None
    windows: dict[str, set] = {}
    for r in rows:
        windows.setdefault(r["window_id"], set()).add(
            (r["scenario"], r["window_steady_s"], r["window_output_tps"], r["window_rps"], r["window_goodput_rps"]))
    assert all(len(values) == 1 for values in windows.values())
    # issue 20 item 9: no guard. The cold request's window (one request) has no steady interval, so
    # no window rates; the rate window has one (4 requests at 40/s); and wherever there is one, the
    # rates follow from the rows, wherever there is none, there are no rates
    (rate_window,) = (v for w, (v,) in windows.items() if v[0] == "r40-n4")
    assert rate_window[1] is not None and rate_window[1] > 0
    for window_id, ((scenario, steady_s, tps, rps, goodput),) in windows.items():
        if window_id.endswith("|cold"):
            assert steady_s is tps is rps is goodput is None, window_id
            continue
        if steady_s is None:
            assert tps is rps is goodput is None, window_id
        else:  # goodput counts only the completed requests that met the SLO
            assert tps == pytest.approx(4 * rps, rel=1e-4) and 0 <= goodput <= rps * (1 + 1e-9)
    assert {r["concurrency"] for r in rows if r["scenario"] == "c3-n4" and not r["cold"]} == {3}
    assert all(1 <= r["concurrency"] <= 6 for r in rows if r["scenario"] == "r40-n4")


def test_cache_bust_by_default_makes_every_request_unique(cli_run):
    _, requests, _, rows = cli_run
    assert all(r["cache_bust"] is True for r in rows)
    assert len(requests) == 12 + 3 + 1  # measured + one warmup round per window: a burst of 3, one Poisson arrival
    texts = [r.body["messages"][0]["content"][1]["text"] for r in requests]
    images = [r.body["messages"][0]["content"][0]["image_url"]["url"] for r in requests]
    assert len(set(texts)) == len(set(images)) == len(requests)


@pytest.mark.parametrize("flags, busted", [([], True), (["--cache-bust"], True), (["--no-cache-bust"], False)])
def test_cache_bust_options(flags, busted):
    from vlmbench.cli import build_parser
    from vlmbench.cli.run import config_from_args

    args = build_parser().parse_args(["run", "--backend", "openai", "--endpoint", "http://127.0.0.1:9",
                                      "--model", "m", *flags])
    assert config_from_args(args).cache_bust is busted


@pytest.mark.parametrize("cache_bust", [True, False])
def test_repeats_of_one_prompt_differ_unless_no_cache_bust(server, cache_bust):
    """Warmup + two repeats of one prompt: three different bodies (the warmup primes no cache)
    by default; byte-identical bodies with --no-cache-bust. Every row records which."""
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.openai.backend import OpenAIBackend
    from vlmbench.runner.plan import plan

    config = RunConfig(backend="openai", endpoint=server.url, models=["normal"], max_new_tokens=3, repeats=2,
                       warmup=1, prompts=PROMPTS[:1], server_kind="generic", cache_bust=cache_bust)
    backend = OpenAIBackend(config, ModelSpec("normal", "random"))
    backend.load()
    before, rows = len(server.requests), []
    try:
        backend.run_job("run-bust", plan(config, PROMPTS[:1])[0].cells, load_promptset(ids=PROMPTS[:1]),
                        lambda cell, slot, columns: rows.append(columns))
    finally:
        backend.close()
    bodies = [r.raw for r in server.requests[before:] if r.path.endswith("/chat/completions")]
    assert len(bodies) == 3 and len(rows) == 2  # cold request, warmup, second repeat
    assert len(set(bodies)) == (3 if cache_bust else 1)
    assert all(r["cache_bust"] is cache_bust and r["status"] == "ok" for r in rows)


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


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_a_server_reporting_owned_by_vllm_is_detected_and_the_length_forced():
    """The backend itself (no worker process) against the stub server of tests/servers, set to
    answer ``/v1/models`` with ``owned_by: vllm`` (it is not vLLM: only what auto-detection reads
    is vLLM's): detection, the length-forcing request fields, rows."""
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.openai.backend import OpenAIBackend
    from vlmbench.runner.plan import plan

    stub_owned_by_vllm = ServerThread(Settings(owned_by="vllm")).start()
    try:
        config = RunConfig(backend="openai", endpoint=stub_owned_by_vllm.url, models=["normal"], max_new_tokens=5,
                           repeats=1, warmup=0, prompts=PROMPTS)
        backend = OpenAIBackend(config, ModelSpec("normal", "random"))
        constants = backend.load()
        rows = []
        backend.run_job("run-1", plan(config, PROMPTS)[0].cells, load_promptset(ids=PROMPTS),
                        lambda cell, slot, columns: rows.append(columns))
        body = stub_owned_by_vllm.requests[-1].body
        label = stub_owned_by_vllm.url.split("//")[1]
        backend.close()
    finally:
        stub_owned_by_vllm.stop()
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
                       prompts=PROMPTS, server_kind=kind, concurrency=[2], min_window_requests=0)
    backend = OpenAIBackend(config, ModelSpec("m", "random"))
    constants = backend.load()
    rows = []
    backend.run_job("r", plan(config, PROMPTS)[0].cells, load_promptset(ids=PROMPTS),
                    lambda cell, slot, columns: rows.append(columns))
    backend.close()
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
