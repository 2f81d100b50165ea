"""How much latency the vlmbench endpoint client adds, and how many streams it sustains.

Runs, against the scripted SSE server (``tests/servers/scripted_sse.py``, started here as a
separate process on 127.0.0.1), the same requests through two clients, alternating rounds:

- ``vlmbench``: the real path of a run: ``ChatClient`` on aiohttp (keep-alive connection
  pool sized for C, as in a run; ``--new-connection-per-request`` for one connection per
  request) + ``ClosedLoop`` + ``run_window`` (HTTP parsing, SSE parsing, JSON decoding of every
  event, usage, outcome records);
- ``raw``: a minimal asyncio raw-socket client that writes the same bytes on a fresh
  connection and only looks for the content events' bytes, until the server closes. It runs on
  asyncio's own event loop (``--raw-loop uvloop``: on uvloop's, the loop the vlmbench client
  uses where uvloop is installed).

The server writes ``"<i>@<perf_counter_ns>"`` as each content event's text just before it
writes the event; ``perf_counter_ns`` is CLOCK_MONOTONIC, shared by processes on one host,
so ``delivery = client arrival of the first content event - server write`` is each client's
own latency. Reported per concurrency C (C streams always in flight):

- TTFT p50/p99 from the send, delivery p50/p99 for both clients;
- added TTFT p50 = the median over rounds of (vlmbench delivery p50 - raw delivery p50),
  with its spread (target: < 1 ms at C >= 64), and the pooled ratio of the two;
- client CPU per request (process CPU time / requests);
- sustained: the median gap between content events as received, for both clients, vs the
  server's gap (a client that cannot keep up stretches the gaps), and failed requests. A
  level counts as sustained when nothing failed, the added TTFT p50 is under 1 ms and the
  vlmbench gap p50 is within 1 ms of the raw client's.

Delivery latency does not include connection set-up for either client (the server stamps
the event after the request arrived), so pooling does not flatter the vlmbench client there.

Usage: ``python bench/client_overhead.py [--concurrency 1,16,64,128] [--chunks 8]
[--chunk-gap-ms 20] [--rounds 6] [--new-connection-per-request]``. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import select
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from vlmbench.backends.openai.client import ChatClient
from vlmbench.backends.openai.endpoint import CHAT_ROUTE, Endpoint
from vlmbench.backends.openai.load import ClosedLoop
from vlmbench.backends.openai.request import RequestBuilder
from vlmbench.backends.openai.server_kinds import SERVER_KINDS
from vlmbench.backends.openai.session import ConnectionOptions
from vlmbench.backends.openai.window import run_window
from vlmbench.promptset import load_promptset

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "servers" / "scripted_sse.py"
HOST = "127.0.0.1"
START_DEADLINE_S = 20.0
FIRST_CONTENT_MARK = b'"content": "0@'


@dataclass
class Sample:
    """Per-client measurements of one round (ms)."""

    ttft: list[float] = field(default_factory=list)
    delivery: list[float] = field(default_factory=list)
    chunk_gaps: list[float] = field(default_factory=list)
    failed: int = 0
    requests: int = 0
    cpu_s: float = 0.0

    def add(self, other: "Sample") -> None:
        self.ttft += other.ttft
        self.delivery += other.delivery
        self.chunk_gaps += other.chunk_gaps
        self.failed += other.failed
        self.requests += other.requests
        self.cpu_s += other.cpu_s


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def start_server(chunk_gap_ms: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--chunk-gap-ms", str(chunk_gap_ms)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_DEADLINE_S)  # "PORT n" once listening
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"scripted server did not start within {START_DEADLINE_S:g} s: {line!r}")
    return proc, int(line.split()[1])


def vlmbench_round(endpoint: Endpoint, requests: list, concurrency: int, new_connection: bool) -> Sample:
    options = ConnectionOptions(new_connection_per_request=new_connection, pool_size=concurrency)
    client = ChatClient(endpoint, None, timeout_s=60.0, options=options)
    cpu0 = time.process_time()
    outcomes = run_window(client, requests, ClosedLoop(concurrency))
    sample = Sample(requests=len(outcomes), cpu_s=time.process_time() - cpu0)
    client.close()
    for outcome in outcomes:
        result = outcome.result
        if result is None or not result.record.content_ns:
            sample.failed += 1
            continue
        first = result.record.content_ns[0]
        server_ns = int(result.record.text_parts[0].split("@")[1])
        sample.ttft.append((first - result.sent_ns) / 1e6)
        sample.delivery.append((first - server_ns) / 1e6)
        times = result.record.content_ns
        sample.chunk_gaps += [(b - a) / 1e6 for a, b in zip(times, times[1:])]
    return sample


async def _raw_request(port: int, payload: bytes) -> tuple[int, list[int], int]:
    """(sent ns, arrival ns of each content event, server write ns of the first one), with
    the least possible work: content events are counted by their "@" marker per read."""
    reader, writer = await asyncio.open_connection(HOST, port)
    sent = time.perf_counter_ns()
    writer.write(payload)
    await writer.drain()
    arrivals: list[int] = []
    server_ns = 0
    while True:
        data = await reader.read(65536)
        if not data:
            break
        t = time.perf_counter_ns()
        if not server_ns:
            at = data.find(FIRST_CONTENT_MARK)
            if at >= 0:
                start = at + len(FIRST_CONTENT_MARK)
                server_ns = int(data[start:data.find(b" ", start)])
        arrivals += [t] * data.count(b"@")
    writer.close()
    return sent, arrivals, server_ns


def raw_round(port: int, payloads: list[bytes], concurrency: int, loop: str = "asyncio") -> Sample:
    sample = Sample(requests=len(payloads))

    async def lanes() -> None:
        queue = iter(payloads)

        async def lane() -> None:
            for payload in queue:
                try:
                    sent, arrivals, server_ns = await _raw_request(port, payload)
                except OSError:
                    sample.failed += 1
                    continue
                if not arrivals or not server_ns:
                    sample.failed += 1
                    continue
                sample.ttft.append((arrivals[0] - sent) / 1e6)
                sample.delivery.append((arrivals[0] - server_ns) / 1e6)
                sample.chunk_gaps += [(b - a) / 1e6 for a, b in zip(arrivals, arrivals[1:])]

        await asyncio.gather(*(lane() for _ in range(concurrency)))

    cpu0 = time.process_time()
    if loop == "uvloop":
        import uvloop

        event_loop = uvloop.new_event_loop()
    else:
        event_loop = asyncio.new_event_loop()
    try:
        event_loop.run_until_complete(lanes())
    finally:
        event_loop.close()
    sample.cpu_s = time.process_time() - cpu0
    return sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="1,16,64,128")
    parser.add_argument("--chunks", type=int, default=8, help="content events per response")
    parser.add_argument("--chunk-gap-ms", type=float, default=20.0, help="server gap between content events")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per client and concurrency")
    parser.add_argument("--requests-per-stream", type=int, default=2, help="requests per lane per round")
    parser.add_argument("--min-requests", type=int, default=32, help="requests per round at least")
    parser.add_argument("--new-connection-per-request", action="store_true",
                        help="the vlmbench client opens a connection per request (default: keep-alive pool)")
    parser.add_argument("--raw-loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="event loop of the raw client (default asyncio's own)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c]

    proc, port = start_server(args.chunk_gap_ms)
    try:
        endpoint = Endpoint.parse(f"http://{HOST}:{port}")
        item = load_promptset(ids=["photo-cat-451x300"]).items[0]
        builder = RequestBuilder("normal", SERVER_KINDS["generic"])
        mode = "one connection per request" if args.new_connection_per_request else "keep-alive pool"
        from vlmbench.backends.openai.session import new_event_loop

        probe = new_event_loop()
        ours_loop = type(probe).__module__.split(".")[0]
        probe.close()
        print(f"vlmbench client: aiohttp on {ours_loop}'s event loop, {mode}; raw client: one connection "
              f"per request, on {args.raw_loop}'s event loop")
        print(f"server: scripted SSE on {HOST}:{port}, {args.chunks} content events per response, "
              f"{args.chunk_gap_ms:g} ms apart; request body {len(builder.build(item, args.chunks).body)} bytes "
              f"(one {item.id} image)")
        header = (f"{'C':>4} {'n':>5} | {'TTFT p50':>9} {'raw':>7} | {'deliv p50':>9} {'raw':>7} {'p99':>7} {'raw':>7} | "
                  f"{'added p50':>9} {'min':>7} {'max':>7} {'ratio':>6} | {'CPU/req':>8} {'raw':>7} | {'gap p50':>7} {'raw':>7} {'fail':>4} "
                  f"{'sustained':>9}")
        print(header)
        print("-" * len(header))
        for concurrency in levels:
            ours, raw = Sample(), Sample()
            round_differences = []
            count = max(args.min_requests, concurrency * args.requests_per_stream)
            for index in range(args.rounds):
                requests = [builder.build(item, args.chunks) for _ in range(count)]
                payloads = [_raw_payload(endpoint, r.payload(include_usage=True)) for r in requests]
                if index % 2:  # alternate which client goes first: slow drifts of the machine cancel
                    raw_sample = raw_round(port, payloads, concurrency, args.raw_loop)
                    ours_sample = vlmbench_round(endpoint, requests, concurrency, args.new_connection_per_request)
                else:
                    ours_sample = vlmbench_round(endpoint, requests, concurrency, args.new_connection_per_request)
                    raw_sample = raw_round(port, payloads, concurrency, args.raw_loop)
                round_differences.append(percentile(ours_sample.delivery, 50) - percentile(raw_sample.delivery, 50))
                ours.add(ours_sample)
                raw.add(raw_sample)
            d_ours, d_raw = percentile(ours.delivery, 50), percentile(raw.delivery, 50)
            added = statistics.median(round_differences)
            gap_ours, gap_raw = percentile(ours.chunk_gaps, 50), percentile(raw.chunk_gaps, 50)
            failed = ours.failed + raw.failed
            sustained = failed == 0 and added < 1.0 and abs(gap_ours - gap_raw) < 1.0
            print(f"{concurrency:>4} {ours.requests:>5} | {percentile(ours.ttft, 50):>9.3f} {percentile(raw.ttft, 50):>7.3f} | "
                  f"{d_ours:>9.3f} {d_raw:>7.3f} {percentile(ours.delivery, 99):>7.3f} {percentile(raw.delivery, 99):>7.3f} | "
                  f"{added:>9.3f} {min(round_differences):>7.3f} {max(round_differences):>7.3f} "
                  f"{d_ours / d_raw if d_raw > 0 else float('nan'):>6.2f} | "
                  f"{ours.cpu_s / max(1, ours.requests) * 1000:>8.3f} {raw.cpu_s / max(1, raw.requests) * 1000:>7.3f} | "
                  f"{gap_ours:>7.2f} {gap_raw:>7.2f} {failed:>4} {'yes' if sustained else 'no':>9}")
        print("\nms throughout. 'added p50': median over rounds of (vlmbench delivery p50 - raw delivery p50), "
              "with its min and max over rounds (target < 1 ms at C >= 64); 'ratio': pooled vlmbench / raw "
              "delivery p50; 'CPU/req': client process CPU time per request; 'gap p50': received gap between "
              f"content events (the server sends one every {args.chunk_gap_ms:g} ms).")
    finally:
        proc.kill()
        proc.wait(timeout=10)
    return 0


def _raw_payload(endpoint: Endpoint, body: bytes) -> bytes:
    head = (f"POST {endpoint.target(CHAT_ROUTE)} HTTP/1.1\r\nHost: {endpoint.host_header}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            "Accept: text/event-stream\r\n\r\n")
    return head.encode() + body


if __name__ == "__main__":
    sys.exit(main())
