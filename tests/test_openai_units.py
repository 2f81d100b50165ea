"""The endpoint client's parts on their own: SSE decoding at every split point, chat-chunk
interpretation, redaction, URL parsing, SLO, load generators, cache busting, server-kind
detection and the endpoint metrics. No server, no model: fast. (HTTP framing is aiohttp's;
the failure tests check it against a real server.)"""

from __future__ import annotations

import asyncio
import io
import json
import time

import numpy as np
import pytest

from vlmbench.backends.openai.chat_stream import ChatStreamRecord, EventLog
from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.errors import EndpointError, redact
from vlmbench.backends.openai.images import ImagePerturber
from vlmbench.backends.openai.load import ClosedLoop, PoissonArrivals, Sequential
from vlmbench.backends.openai.metrics import SLO, EndpointTimeline, endpoint_metrics
from vlmbench.backends.openai.steady import DRAIN, RAMP, WindowRequest, window_columns
from vlmbench.backends.openai.request import CacheBuster, RequestBuilder
from vlmbench.backends.openai.server_kinds import SERVER_KINDS, detect
from vlmbench.backends.openai.session import ArrivalLog, BodyClock
from vlmbench.backends.openai.sse import SSEEvent, SSEParser
from vlmbench.errors import UsageError
from vlmbench.promptset import load_promptset

SSE_STREAM = (
    b": keep-alive comment\r\n"
    b"data: {\"a\": 1}\r\n\r\n"
    b"event: error\ndata: line one\ndata:line two\n\n"
    b"id: 7\rdata: \xc3\xa9\xe2\x86\x92 cr\r\r"
    b"retry: 10\n\n"  # no data: not dispatched
    b"data: crlf one\r\ndata: crlf two\r\n\r\n"
    b"data: [DONE]\n\n"
)
SSE_EVENTS = [SSEEvent('{"a": 1}'), SSEEvent("line one\nline two", "error"), SSEEvent("é→ cr"),
              SSEEvent("crlf one\ncrlf two"), SSEEvent("[DONE]")]


def test_sse_parser_gives_the_same_events_for_every_split_of_the_stream():
    assert SSEParser().feed(SSE_STREAM) == SSE_EVENTS
    for cut in range(1, len(SSE_STREAM)):
        parser = SSEParser()
        events = parser.feed(SSE_STREAM[:cut]) + parser.feed(SSE_STREAM[cut:])
        assert events == SSE_EVENTS, f"split at byte {cut}"
    parser = SSEParser()
    assert [e for i in range(len(SSE_STREAM)) for e in parser.feed(SSE_STREAM[i:i + 1])] == SSE_EVENTS


def test_sse_parser_reports_a_partial_event():
    parser = SSEParser()
    assert parser.feed(b"data: {\"half") == [] and parser.has_partial_event
    parser = SSEParser()
    parser.feed(b"data: x\n\n")
    assert not parser.has_partial_event


def test_body_clock_gives_each_byte_the_read_that_delivered_it():
    """Reads of 5, 3 and 4 body bytes at t=10, 20, 30; the reader gets the bytes back in
    other cuts (aiohttp joins what is buffered): every part keeps its own read's instant."""
    log = ArrivalLog(head_ns=5)
    log.reads += [(10, 5), (20, 8), (30, 12)]
    clock = BodyClock(log)
    body = b"aaaaabbbcccc"
    assert list(clock.parts(body[:7])) == [(10, b"aaaaa"), (20, b"bb")]
    assert list(clock.parts(body[7:])) == [(20, b"b"), (30, b"cccc")]
    late = BodyClock(log)
    late_parts = list(late.parts(body + b"zz"))  # bytes the log never saw are stamped when read
    assert late_parts[:3] == [(10, b"aaaaa"), (20, b"bbb"), (30, b"cccc")]
    assert late_parts[3][1] == b"zz" and late_parts[3][0] > 30
    unlogged = list(BodyClock(None).parts(b"xyz"))
    assert len(unlogged) == 1 and unlogged[0][1] == b"xyz"


def _event(payload) -> SSEEvent:
    return SSEEvent(payload if isinstance(payload, str) else json.dumps(payload))


def _chunk(delta=None, finish=None, usage=None, choices=True):
    event = {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []}
    if usage:
        event["usage"] = usage
    return event


def test_only_non_empty_content_reasoning_or_tool_calls_count_as_content():
    record = ChatStreamRecord()
    stream = [
        (_chunk({"role": "assistant"}), 1),
        (_chunk({"content": ""}), 2),
        (_chunk({"reasoning_content": "think"}), 3),
        (_chunk({"content": "Hello"}), 4),
        (_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}), 5),
        (_chunk({"reasoning": "more"}), 6),
        (_chunk({}, finish="stop"), 7),
        (_chunk(choices=False, usage={"prompt_tokens": 600, "completion_tokens": 5}), 8),
    ]
    for event, t in stream:
        record.on_event(_event(event), t)
    assert record.content_ns == [3, 4, 5, 6]
    assert record.text == "thinkHellomore"
    assert (record.prompt_tokens, record.completion_tokens, record.finish_reason) == (600, 5, "stop")
    assert record.finished and not record.done
    record.on_event(_event("[DONE]"), 9)
    assert record.done


def test_event_log_defers_decoding_but_sees_done_finish_and_errors_at_once():
    stream = [(_chunk({"role": "assistant"}), 1), (_chunk({"content": "a"}), 2), (_chunk({"content": "b"}), 2),
              (_chunk({}, finish="length", usage={"prompt_tokens": 9, "completion_tokens": 2}), 3)]
    now, log = ChatStreamRecord(), EventLog()
    for event, t in stream:
        now.on_event(_event(event), t)
        assert not log.finished
        log.receive(_event(event), t)
    assert log.finished and not log.done and len(log.events) == 4
    log.receive(SSEEvent("[DONE]"), 4)
    log.receive(_event(_chunk({"content": "after done"})), 5)
    record = log.decode()
    assert record.done and (record.content_ns, record.text, record.completion_tokens) == (now.content_ns, "ab", 2)
    failing = EventLog()
    failing.receive(_event(_chunk({"content": "x"})), 1)
    with pytest.raises(EndpointError, match="^stream_error: boom"):
        failing.receive(_event({"error": {"message": "boom"}}), 2)
    tricky = EventLog()  # generated text that mentions "error" and "finish_reason" changes nothing
    tricky.receive(_event(_chunk({"content": 'an "error" and "finish_reason": "x"'})), 1)
    tricky.receive(_event(_chunk({"content": "y"}, finish=None)), 2)
    assert not tricky.finished and tricky.decode().text == 'an "error" and "finish_reason": "x"y'
    garbage = EventLog()
    garbage.receive(SSEEvent("{not json"), 1)  # kept: decoding reports it
    with pytest.raises(EndpointError, match="^malformed_event: "):
        garbage.decode()


@pytest.mark.parametrize("data, category", [
    ("{not json", "malformed_event"),
    ("[1, 2]", "malformed_event"),
    ('{"object": "chat.completion.chunk"}', "malformed_event"),
    ('{"error": {"message": "engine died"}}', "stream_error"),
])
def test_bad_events_raise_their_category(data, category):
    with pytest.raises(EndpointError) as info:
        ChatStreamRecord().on_event(SSEEvent(data), 1)
    assert str(info.value).startswith(f"{category}: ")


def test_redaction_masks_whole_and_cut_off_keys():
    key = "sk-test-0123456789abcdef"
    assert redact(f"echo {key} end", key) == "echo *** end"
    assert redact(f"'{key[:11]}'", key) == "'***'"
    assert key not in str(EndpointError("http_401", f"bad key {key}").redacted(key))
    assert redact("nothing here", key) == "nothing here"


def test_endpoint_parsing():
    e = Endpoint.parse("http://127.0.0.1:8000/v1/")
    assert (e.label, e.target("/v1/chat/completions")) == ("127.0.0.1:8000", "/v1/chat/completions")
    e = Endpoint.parse("https://api.example.com/openai/v1?api-version=2")
    assert e.label == "api.example.com:443" and e.target("/v1/models") == "/openai/v1/models?api-version=2"
    with pytest.raises(UsageError, match="credentials in the URL are refused"):
        Endpoint.parse("http://user:secret@127.0.0.1:8000")
    with pytest.raises(UsageError, match="scheme"):
        Endpoint.parse("ftp://127.0.0.1")


def test_slo_parse_and_verdicts():
    slo = SLO.parse("ttft=200, tpot=50")
    assert slo.limits == {"ttft": 200.0, "tpot": 50.0}
    assert slo.met({"ttft_sched_ms": 150.0, "tpot_ms": 49.0}) is True
    assert slo.met({"ttft_sched_ms": 250.0, "tpot_ms": 10.0}) is False
    # unjudged (a limited value was not measured) and failed requests are misses
    assert slo.met({"ttft_sched_ms": 150.0, "tpot_ms": None}) is False
    assert slo.met({"ttft_sched_ms": 250.0, "tpot_ms": None}) is False
    assert slo.met({"ttft_sched_ms": 150.0, "tpot_ms": 49.0}, completed=False) is False
    for bad in ("ttft", "latency=3", "ttft=abc", "ttft=0", ""):
        with pytest.raises(UsageError):
            SLO.parse(bad)


def _closed_loop(n: int, c: int, durations_s) -> list[WindowRequest]:
    """The requests of a closed loop of C lanes (each sends its next request 1 ms after its
    last one ended), request i lasting durations_s(i) seconds; 5 output tokens each."""
    s = 1_000_000_000
    lanes, out = [-s // 1000] * c, []
    for i in range(n):
        lane = min(range(c), key=lambda k: lanes[k])
        sent = lanes[lane] + s // 1000
        lanes[lane] = sent + int(durations_s(i) * s)
        out.append(WindowRequest(sent, lanes[lane], 5, True, i % 2 == 0))
    return sorted(out, key=lambda r: r.sent_ns)


@pytest.mark.parametrize("n, c, drain", [(53, 16, 5), (160, 16, 0), (40, 1, 0), (31, 4, 3)])
def test_steady_throughput_is_the_closed_loop_rate_whatever_the_window_size(n, c, drain):
    """Synchronised lanes (every request 2 s): the steady rate is C / 2 s at any N, where first
    send -> last end gives N / (ceil(N / C) x 2 s) (18 % low at N = 53, C = 16). The opening
    burst is the ramp (none at C = 1); the requests still running when lanes stop being refilled
    are the drain (at N = 53, C = 16: the last 5, which run 5 at a time)."""
    window = window_columns(_closed_loop(n, c, lambda i: 2.0), with_slo=True, lanes=c)
    cols = window.columns
    assert cols["window_rps"] == pytest.approx(c / 2.0, rel=1e-3)
    assert cols["window_output_tps"] == pytest.approx(5 * c / 2.0, rel=1e-3)
    assert cols["window_goodput_rps"] == pytest.approx(c / 4.0, rel=0.15)  # every other request met the SLO
    assert cols["window_requests"] == n and cols["window_steady_s"] > 0
    assert [i for i, e in enumerate(window.edges) if e == RAMP] == (list(range(c)) if c > 1 else [])
    assert [i for i, e in enumerate(window.edges) if e == DRAIN] == list(range(n - drain, n))


def test_a_window_of_one_burst_and_one_request_has_no_steady_interval():
    window = window_columns(_closed_loop(17, 16, lambda i: 2.0), with_slo=False, lanes=16)
    assert window.columns["window_rps"] is None and window.columns["window_requests"] == 17


def test_steady_throughput_with_unequal_durations_and_failures():
    """Durations 1-3 s cycling: the steady rate is C / mean duration within a few %, and the
    naive first send -> last end figure is below it even at 10 C requests per window."""
    durations = [1.0, 3.0, 2.0, 1.5, 2.5]
    requests = _closed_loop(80, 8, lambda i: durations[i % 5])
    failed = WindowRequest(requests[40].sent_ns, None, None, False)
    window = window_columns(requests + [failed], with_slo=False, lanes=8)
    steady = 8 / (sum(durations) / len(durations))
    assert window.columns["window_rps"] == pytest.approx(steady, rel=0.05)
    naive = 80 / ((max(r.end_ns for r in requests) - 0) / 1e9)
    assert naive < 0.97 * steady  # the ramp and the drain pull the whole-window figure down
    assert window.edges[-1] is None and window.columns["window_goodput_rps"] is None
    assert window_columns([WindowRequest(0, 10, None, True)], with_slo=False).columns["window_rps"] is None  # one request
    assert window_columns([WindowRequest(0, None, None, False)], with_slo=False).edges == [None]


def test_endpoint_metrics_from_a_timeline():
    ms = 1_000_000
    t = EndpointTimeline(start_ns=10 * ms, token_ns=[30 * ms, 40 * ms, 70 * ms], n_out=7, scheduled_ns=8 * ms,
                         head_ns=15 * ms)
    row = endpoint_metrics(t)
    assert row["ttfb_ms"] == 5 and row["ttft_ms"] == 20 and row["e2e_ms"] == 60
    assert row["queue_delay_ms"] == 2 and row["ttft_sched_ms"] == 22
    assert row["tpot_ms"] == pytest.approx(40 / 6) and row["tokens_per_chunk"] == pytest.approx(7 / 3)
    assert row["n_chunks"] == 3 and row["chunk_gap_p50_ms"] == 20
    assert "itl_p50_ms" not in row and "preprocess_ms" not in row


def test_queue_delay_is_never_negative_even_when_the_schedule_reads_late():
    """A send stamped before its scheduled instant (two clock reads in the wrong order) is
    taken as on time: queue delay 0, and TTFT from the schedule equals TTFT."""
    from vlmbench.backends.openai.client import StreamResult
    from vlmbench.backends.openai.columns import OutcomeColumns
    from vlmbench.backends.openai.window import Outcome

    ms = 1_000_000
    log = EventLog()
    for t, data in ((12 * ms, '{"choices": [{"delta": {"content": "a"}}]}'),
                    (15 * ms, '{"choices": [{"delta": {"content": "b"}}]}'), (16 * ms, "[DONE]")):
        log.receive(SSEEvent(data), t)
    result = StreamResult(10 * ms, 11 * ms, 16 * ms, log, 100, False)
    builder = RequestBuilder("m", SERVER_KINDS["generic"], None)
    request = builder.build(load_promptset(ids=["photo-cat-451x300"]).get("photo-cat-451x300"), 2)
    outcome = Outcome(request, scheduled_ns=10 * ms + 170_000, concurrency=1, started_at="", result=result)
    row = OutcomeColumns(SERVER_KINDS["generic"], 2, False).request(outcome)
    assert row["queue_delay_ms"] == 0 and row["ttft_sched_ms"] == row["ttft_ms"] == 2
    single = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=[5 * ms], n_out=8, scheduled_ns=0))
    assert single["tpot_ms"] is None and single["decode_tps"] is None  # one chunk shows no decode interval
    one_read = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=[5 * ms] * 3, n_out=8, scheduled_ns=0))
    assert one_read["tpot_ms"] is None and one_read["n_chunks"] == 3 and one_read["ttft_ms"] == one_read["e2e_ms"]
    unknown = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=[5 * ms, 9 * ms], n_out=None, scheduled_ns=0))
    assert unknown["tpot_ms"] is None and unknown["tokens_per_chunk"] is None and unknown["ttft_ms"] == 5


def test_endpoint_e2e_without_content_ends_at_the_stream_end_and_user_ttft_adds_connecting():
    ms = 1_000_000
    silent = endpoint_metrics(EndpointTimeline(start_ns=10 * ms, token_ns=[], n_out=12, scheduled_ns=10 * ms,
                                               head_ns=12 * ms, end_ns=50 * ms))
    assert silent["e2e_ms"] == 40 and silent["ttft_ms"] is None and silent["ttft_user_ms"] is None
    assert silent["tpot_ms"] is None and silent["n_chunks"] == 0 and silent["ttft_sched_ms"] is None
    with_content = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=[20 * ms, 30 * ms], n_out=2,
                                                     scheduled_ns=0, end_ns=45 * ms, connect_ms=3.5))
    assert with_content["e2e_ms"] == 30  # the last content chunk, not the usage chunk or [DONE]
    assert with_content["ttft_user_ms"] == 23.5
    reused = endpoint_metrics(EndpointTimeline(start_ns=0, token_ns=[20 * ms], n_out=1, scheduled_ns=0))
    assert reused["ttft_user_ms"] == 20


def test_one_slo_definition_counts_failures_and_unjudged_as_misses():
    from vlmbench.metrics.slo import slo_met_count, slo_met_fraction, slo_verdict

    limits = {"ttft": 100.0, "tpot": 10.0}
    assert slo_verdict(limits, {"ttft": 50.0, "tpot": 5.0}, completed=True) is True
    assert slo_verdict(limits, {"ttft": 50.0, "tpot": 5.0}, completed=False) is False
    assert slo_verdict(limits, {"ttft": 50.0, "tpot": None}, completed=True) is False
    assert slo_verdict(limits, {"ttft": 150.0, "tpot": 5.0}, completed=True) is False
    # three met, one missed, one failed (False), two rows without an SLO (None, NaN): 3 / 5
    verdicts = [True, True, False, True, False, None, float("nan")]
    assert slo_met_count(verdicts) == 3 and slo_met_fraction(verdicts) == pytest.approx(0.6)
    assert slo_met_fraction([None, None]) is None


def _drive(mode, count: int, work_s: float = 0.002):
    """Run ``mode`` with a send that sleeps ``work_s``; return (index, scheduled, called, in_flight_max)."""
    calls, in_flight, peak = [], 0, 0

    async def send(index, scheduled_ns, concurrency):
        nonlocal in_flight, peak
        calls.append((index, scheduled_ns, time.perf_counter_ns(), concurrency))
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(work_s)
        in_flight -= 1

    asyncio.run(mode.drive(count, send))
    return calls, peak


@pytest.mark.parametrize("mode, peak", [(Sequential(), 1), (ClosedLoop(4), 4), (ClosedLoop(16), 10)])
def test_closed_loops_keep_exactly_c_requests_in_flight(mode, peak):
    calls, observed = _drive(mode, 10)
    assert sorted(c[0] for c in calls) == list(range(10))
    assert observed == peak
    assert all(c[3] == mode.concurrency for c in calls)


def test_poisson_arrivals_are_seeded_exponential_and_sent_on_schedule():
    mode = PoissonArrivals(rate=200.0, seed=3)
    offsets = mode.arrival_offsets_ns(2000)
    assert offsets == PoissonArrivals(rate=200.0, seed=3).arrival_offsets_ns(2000)
    assert offsets != PoissonArrivals(rate=200.0, seed=4).arrival_offsets_ns(2000)
    gaps = np.diff(offsets) / 1e9
    assert gaps.mean() == pytest.approx(1 / 200.0, rel=0.1) and np.std(gaps) == pytest.approx(1 / 200.0, rel=0.15)
    calls, _ = _drive(PoissonArrivals(rate=100.0, seed=1), 20, work_s=0.05)
    assert [c[0] for c in calls] == list(range(20))
    start = calls[0][1]
    assert [c[1] - start for c in calls] == PoissonArrivals(rate=100.0, seed=1).arrival_offsets_ns(20)
    assert all(called >= scheduled for _, scheduled, called, _ in calls)  # never early
    assert max(c[3] for c in calls) > 1  # open loop: arrivals do not wait for earlier requests


@pytest.fixture(scope="module")
def items():
    return {item.format: item for item in load_promptset(ids=["photo-cat-451x300", "diagram-shapes-336x336"])}


def _pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def test_png_perturbation_changes_one_lsb_of_one_pixel(items):
    item = items["PNG"]
    original = _pixels(item.image_bytes)
    perturber = ImagePerturber()
    a, b = perturber.perturb(item.image_bytes, "PNG", 5), perturber.perturb(item.image_bytes, "PNG", 6)
    for out in (a, b):
        diff = np.abs(_pixels(out) - original)
        assert diff.sum() == 1 and diff.max() == 1
    assert not np.array_equal(_pixels(a), _pixels(b))
    assert perturber.perturb(item.image_bytes, "PNG", 5) == a  # deterministic


def test_jpeg_perturbation_survives_reencoding_and_stays_imperceptible(items):
    item = items["JPEG"]
    perturber = ImagePerturber()
    outs = [perturber.perturb(item.image_bytes, "JPEG", k) for k in range(4)]
    pixels = [_pixels(o) for o in outs]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.array_equal(pixels[i], pixels[j])
    original = _pixels(item.image_bytes)
    assert all(np.abs(p - original).mean() < 1.0 for p in pixels)  # re-encoding, not a different picture
    assert all(o[:2] == b"\xff\xd8" for o in outs)


def test_cache_buster_is_deterministic_per_run_and_unique_per_request():
    a, b, other = CacheBuster("run-1"), CacheBuster("run-1"), CacheBuster("run-2")
    tokens = [a.next_token("p") for _ in range(5)]
    assert tokens == [b.next_token("p") for _ in range(5)]
    assert len({t.nonce for t in tokens}) == 5 and len({t.position for t in tokens}) == 5
    assert {t.nonce for t in tokens}.isdisjoint(other.next_token("p").nonce for _ in range(5))


def test_request_bodies_per_server_kind_and_the_usage_splice(items):
    item = items["JPEG"]
    for name, expected in [
        ("vllm", {"max_tokens": 7, "min_tokens": 7, "ignore_eos": True}),
        ("sglang", {"max_tokens": 7, "min_tokens": 7, "ignore_eos": True}),
        ("generic", {"max_tokens": 7}),
    ]:
        body = json.loads(RequestBuilder("m", SERVER_KINDS[name]).build(item, 7).body)
        assert {k: body[k] for k in expected} == expected
        assert not set(body) & ({"min_tokens", "ignore_eos", "generation_config"} - set(expected))
    request = RequestBuilder("m", SERVER_KINDS["transformers"]).build(item, 7)
    body = json.loads(request.body)
    assert json.loads(body["generation_config"]) == {"max_new_tokens": 7, "min_new_tokens": 7, "do_sample": False}
    assert "stream_options" not in body and body["stream"] is True and body["temperature"] == 0
    assert json.loads(request.payload(True))["stream_options"] == {"include_usage": True}
    parts = body["messages"][0]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[1]["text"] == item.prompt and request.encode_ms > 0


def test_cache_busted_bodies_differ_in_text_and_image(items):
    item = items["PNG"]
    builder = RequestBuilder("m", SERVER_KINDS["generic"], CacheBuster("r"))
    bodies = [json.loads(builder.build(item, 4).body) for _ in range(3)]
    texts = [b["messages"][0]["content"][1]["text"] for b in bodies]
    urls = [b["messages"][0]["content"][0]["image_url"]["url"] for b in bodies]
    assert len(set(texts)) == 3 and all(t.endswith(item.prompt) for t in texts)
    assert len(set(urls)) == 3


@pytest.mark.parametrize("listing, kind", [
    ({"data": [{"id": "m", "owned_by": "vllm"}]}, "vllm"),
    ({"data": [{"id": "m", "owned_by": "sglang"}]}, "sglang"),
    ({"data": [{"id": "/x", "owned_by": "local", "status": {"value": "loaded"}}]}, "transformers"),
    ({"data": [{"id": "m", "owned_by": "llamacpp"}]}, "generic"),
    ({"unexpected": True}, "generic"),
    ([1, 2], "generic"),
])
def test_server_kind_detection(listing, kind):
    assert detect(listing)[0].name == kind


def test_the_client_runs_on_uvloop_where_it_is_installed_else_on_asyncio(monkeypatch):
    """uvloop is a dependency wherever it builds (pyproject); without it the client still runs."""
    import sys

    from vlmbench.backends.openai.session import HttpSession

    async def which_loop() -> str:
        return type(asyncio.get_running_loop()).__module__

    session = HttpSession(Endpoint.parse("http://127.0.0.1:9"))
    try:
        assert session.run(which_loop()).startswith("uvloop")
    finally:
        session.close()
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on a platform where it does not build
    session = HttpSession(Endpoint.parse("http://127.0.0.1:9"))
    try:
        assert session.run(which_loop()).startswith("asyncio")
    finally:
        session.close()


@pytest.mark.parametrize("concurrency, least, cells", [
    ([], None, [2]),  # sequential: no minimum (no ramp, no drain)
    ([4], None, [42]),  # 10 x C + the cold request, in whole repeats of the 2 prompts
    ([4, 2], None, [42, 20]),  # only the first window gives up its first request to the cold one
    ([4], 5, [6]),  # the user's minimum
    ([4], 0, [2]),
])
def test_the_plan_repeats_the_prompts_to_fill_a_load_window(concurrency, least, cells):
    from vlmbench.config import RunConfig
    from vlmbench.runner.plan import plan

    config = RunConfig(backend="openai", endpoint="http://127.0.0.1:9", models=["m"], repeats=1,
                       prompts=["photo-cat-451x300", "diagram-shapes-336x336"], concurrency=concurrency,
                       min_window_requests=least)
    (job,) = plan(config, config.prompts)
    per_scenario = [sum(c.scenario.name == s.name for c in job.cells)
                    for s in dict.fromkeys(c.scenario for c in job.cells)]
    assert per_scenario == cells
    assert len({rid for c in job.cells for rid in c.request_ids()}) == len(job.cells)


def test_poisson_window_steady_interval_ends_at_the_first_end_after_the_last_send():
    """Open loop (no lanes): requests every 1 s lasting 2.5 s; the interval runs from the first
    end (2.5 s) to the first end after the last send (at 9 s: the end at 9.5 s); 2.5 requests
    are in flight throughout, each lasting 2.5 s: 1 request/s, the arrival rate. The requests
    sent before the first end (at 0, 1, 2 s) are the ramp; those ending after 9.5 s the drain."""
    s = 1_000_000_000
    requests = [WindowRequest(i * s, i * s + 5 * s // 2, 4, True) for i in range(10)]
    window = window_columns(requests, with_slo=False, lanes=None)
    assert window.columns["window_steady_s"] == pytest.approx(7.0)
    assert window.columns["window_rps"] == pytest.approx(1.0) and window.columns["window_output_tps"] == pytest.approx(4.0)
    assert window.edges == [RAMP] * 3 + [None] * 5 + [DRAIN] * 2
