"""The endpoint client's timings against a server with known delays, through the real runner.

A local OpenAI-compatible server (real HTTP/1.1 chunked SSE on 127.0.0.1) answers every chat
request on a fixed schedule, measured from the moment it has read the request: headers after
FIRST_BYTE_S, the first content event FIRST_TOKEN_S after the headers, then one content event
every TOKEN_GAP_S (each on a deadline from the first, so delays do not accumulate). The rows
must give ttfb = FIRST_BYTE_S, ttft = FIRST_BYTE_S + FIRST_TOKEN_S and tpot = TOKEN_GAP_S
(the instants never early, at most 20 % late on a loaded machine; TPOT within 15 %). The server closes every connection after its answer (``Connection: close``), so
every request opens a new one: ``connect_ms`` is filled on every row, and the user's TTFT
(``ttft_user_ms``, connection set-up included) lies between ``ttft_ms`` and the TTFT from the
scheduled send, whose queue delay contains the set-up.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from vlmbench.config import RunConfig
from vlmbench.results.reader import read_rows
from vlmbench.runner import run_benchmark

from servers.scripted_sse import HOST, Response, _read_request, chunk_event

pytestmark = pytest.mark.server
FIRST_BYTE_S = 0.3
FIRST_TOKEN_S = 0.4
TOKEN_GAP_S = 0.06
N_OUT = 8
PROMPTS = ["photo-cat-451x300", "diagram-shapes-336x336"]


async def _sleep_until(deadline_ns: int) -> None:
    remaining = deadline_ns - time.perf_counter_ns()
    if remaining > 0:
        await asyncio.sleep(remaining / 1e9)


async def known_delays(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        request = await _read_request(reader)
        if request is None:
            return
        arrived = time.perf_counter_ns()
        resp = Response(reader, writer)
        if request.method != "POST":
            await resp.simple(404, '{"error": "not found"}')
            return
        n = int(request.body.get("max_tokens") or N_OUT)
        await _sleep_until(arrived + int(FIRST_BYTE_S * 1e9))
        await resp.head()
        first = time.perf_counter_ns() + int(FIRST_TOKEN_S * 1e9)
        await resp.event(chunk_event({"role": "assistant"}))
        for i in range(n):
            await _sleep_until(first + int(i * TOKEN_GAP_S * 1e9))
            await resp.event(chunk_event({"content": f"t{i} "}))
        usage = {"prompt_tokens": 600, "completion_tokens": n, "total_tokens": 600 + n}
        await resp.event(chunk_event({}, finish="length"))
        await resp.event({"id": "known", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        await resp.event("[DONE]")
        await resp.end()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


@pytest.fixture(scope="module")
def server_url():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="known-delays", daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(known_delays, HOST, 0), loop).result(10)
    yield f"http://{HOST}:{server.sockets[0].getsockname()[1]}"
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_ttfb_ttft_tpot_match_the_server_schedule(server_url, tmp_path):
    config = RunConfig(backend="openai", endpoint=server_url, models=["known-delays"], server_kind="generic",
                       max_new_tokens=N_OUT, repeats=2, warmup=1, prompts=PROMPTS, out=tmp_path,
                       progress=False, request_timeout_s=10.0)
    rows = read_rows(run_benchmark(config).requests_csv)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}, [r["error"] for r in rows]
    truth = {"ttfb_ms": FIRST_BYTE_S * 1000.0, "ttft_ms": (FIRST_BYTE_S + FIRST_TOKEN_S) * 1000.0,
             "tpot_ms": TOKEN_GAP_S * 1000.0, "itl_p50_ms": TOKEN_GAP_S * 1000.0,
             "e2e_ms": (FIRST_BYTE_S + FIRST_TOKEN_S + (N_OUT - 1) * TOKEN_GAP_S) * 1000.0}
    for row in rows:
        assert row["n_output_tokens"] == N_OUT
        measured = {col: row[col] for col in truth if row.get(col) is not None}
        errors = {col: (value - truth[col]) / truth[col] for col, value in measured.items()}
        assert {"ttfb_ms", "ttft_ms", "tpot_ms", "e2e_ms"} <= set(errors)
        # an event never comes before its deadline (the clocks' resolution aside), and a loaded
        # machine (both cores busy, other tests running) delays the server's sends by tens of ms:
        # the schedule is a floor for the instants and the margin above it is for lag; TPOT's
        # gaps run on deadlines from the first chunk, so a late first chunk shortens them a little
        late = {col: e for col, e in errors.items() if col in ("ttfb_ms", "ttft_ms", "e2e_ms")}
        assert all(-0.03 < e < 0.20 for e in late.values()), (errors, measured)
        assert all(abs(errors[col]) < 0.15 for col in ("tpot_ms", "itl_p50_ms") if col in errors), (errors, measured)
        assert row["connect_ms"] is not None and 0 < row["connect_ms"] < 250  # a new loopback connection each time
        # the user's wait adds the connection set-up, which the load generator's lag (queue delay) contains
        assert row["ttft_ms"] < row["ttft_user_ms"] <= row["ttft_sched_ms"] + 1e-3
        assert row["ttft_missing_reason"] is None


# A closed loop against the known-delays server: every request lasts REQUEST_S (2 output
# tokens), so C lanes complete C / REQUEST_S requests per second while they are all busy.
REQUEST_S = FIRST_BYTE_S + FIRST_TOKEN_S + TOKEN_GAP_S
LANES = 4


def _sent_s(row) -> float:
    """Wall-clock seconds of the request's send (started_at is the scheduled send)."""
    from datetime import datetime

    return datetime.fromisoformat(row["started_at"].replace("Z", "+00:00")).timestamp() + row["queue_delay_ms"] / 1000.0


def _load_window(server_url, tmp_path, **options):
    config = RunConfig(backend="openai", endpoint=server_url, models=["known-delays"], server_kind="generic",
                       max_new_tokens=2, warmup=1, prompts=PROMPTS, out=tmp_path, progress=False,
                       request_timeout_s=10.0, concurrency=[LANES], **options)
    rows = read_rows(run_benchmark(config).requests_csv)
    assert {r["status"] for r in rows} == {"ok"}, [r["error"] for r in rows]
    window = [r for r in rows if not r["cold"]]
    return config, rows, window


def test_steady_throughput_is_the_known_closed_loop_rate_where_the_whole_window_is_not(server_url, tmp_path):
    """9 requests at C = 4 (rounds of 4, 4, 1): first send -> last end takes three request
    times for 9 requests (25 % below the steady rate); the steady interval holds the second
    round, 4 lanes busy: C / REQUEST_S within the margin of a loaded machine (requests can only
    be slower than the schedule). The opening burst is the ramp, the last C - 1 to end the drain;
    the report leaves both out of the latency statistics and shows the window's size."""
    from vlmbench.report.groups import group_requests
    from vlmbench.report.runs import load_runs
    from vlmbench.report.summary import summarise_group

    config, rows, window = _load_window(server_url, tmp_path, repeats=5, min_window_requests=0)
    assert len(window) == 9 and {r["window_requests"] for r in window} == {9}
    known = LANES / REQUEST_S
    rps = window[0]["window_rps"]
    assert 0.85 * known < rps < 1.03 * known, (rps, known)
    assert window[0]["window_output_tps"] == pytest.approx(2 * rps, rel=1e-6)
    assert window[0]["window_steady_s"] == pytest.approx(REQUEST_S, rel=0.15)
    sends = [r["started_at"] for r in window]
    ramp = [r for r in window if r["window_edge"] == "ramp"]
    drain = [r for r in window if r["window_edge"] == "drain"]
    # the drain: the lone last request and the 2 of the second round that ended after the
    # first end no send replaced (C - 1 requests saw the load fall)
    assert len(ramp) == LANES and len(drain) == LANES - 1
    assert sorted(sends)[:LANES] == sorted(r["started_at"] for r in ramp)  # the opening burst
    assert max(sends) in {r["started_at"] for r in drain}  # the request sent last, alone
    first, last = min(window, key=_sent_s), max(window, key=lambda r: _sent_s(r) + r["e2e_ms"] / 1000.0)
    whole_window_s = _sent_s(last) + last["e2e_ms"] / 1000.0 - _sent_s(first)  # about three request times
    assert 9 / whole_window_s < 0.85 * rps  # what first send -> last end would have said
    (group,) = group_requests(load_runs([tmp_path / rows[0]["run_id"]]))
    summary = summarise_group(group)
    assert summary["edge_n"] == 2 * LANES - 1 and summary["warm_n"] == 9 - (2 * LANES - 1)
    assert summary["window_requests_p50"] == 9
    assert summary["window_rps_p50"] == pytest.approx(rps)


def test_a_duration_window_keeps_sending_until_its_seconds(server_url, tmp_path):
    """--window-seconds 2.5 at C = 4: rounds start at about 0, 1, 2 and 3 request times
    (0.76 s each), so the lanes send three or four rounds before 2.5 s: at least the planned 4
    requests, 12 to 16 in all, the extra ones numbered as further repeats; the steady rate is
    still C / REQUEST_S."""
    config, rows, window = _load_window(server_url, tmp_path, repeats=3, min_window_requests=0, window_seconds=2.5)
    assert 12 <= len(window) <= 16 and {r["window_requests"] for r in window} == {len(window)}
    assert len({r["request_id"] for r in rows}) == len(rows)
    assert max(int(r["request_id"].split("|r")[-1].split("|")[0]) for r in window) >= 3  # past the 3 planned repeats
    known = LANES / REQUEST_S
    assert 0.85 * known < window[0]["window_rps"] < 1.03 * known
