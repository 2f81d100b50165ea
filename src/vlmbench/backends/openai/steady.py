"""Window throughput over the steady interval of a load window, and which requests are its edges.

A load window of N requests has a ramp (closed loop: the first C go out in one burst; Poisson:
the requests that arrive while the server is still empty) and a drain (after the last send
nothing replaces a finished request, so the load falls). Throughput over the whole window
(first send -> last end, vLLM's and AIPerf's definition) mixes both in: at N = 53 and C = 16
it comes out well below the steady rate. Here (METRICS.md, "Load windows"):

- **steady interval** ``[a, b]``: from the first end of a completed request (the window is
  loaded and turning over) to the first end that no send replaces (from there, the load
  falls): in a closed loop of C lanes the (N - C + 1)-th end, so C requests are in flight
  throughout (a sequential window: the first request's end to the last's); for Poisson
  arrivals the first end after the last send;
- **ramp** requests: sent before ``a``, when they are more than one (a burst: in a closed loop
  the first C); **drain** requests: ended after ``b``. Both are flagged in their rows
  (``window_edge``) and left out of the latency statistics; failed requests are not flagged;
- **throughput**: each completed request counts by the fraction of its own send -> end
  duration that lies inside ``[a, b]``; ``window_rps`` = the sum of those fractions / (b - a),
  ``window_output_tps`` the same with each fraction times its output tokens, and
  ``window_goodput_rps`` with only requests that met the SLO. While C requests are in flight,
  the fractions add up to C x (b - a) / (mean duration): the steady rate, whatever the phase of
  the requests at ``a`` and ``b`` (synchronised lanes included). Empty when ``b <= a`` (a window
  of one request, or one burst that ends together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

RAMP, DRAIN = "ramp", "drain"


@dataclass(frozen=True)
class WindowRequest:
    """What the window figures need from one request: host ns of send and stream end, the
    output token count, and whether it succeeded and met the SLO."""

    sent_ns: Optional[int]
    end_ns: Optional[int]
    n_out: Optional[int]
    ok: bool
    slo_met: Optional[bool] = None

    @property
    def completed(self) -> bool:
        return self.ok and self.sent_ns is not None and self.end_ns is not None


@dataclass(frozen=True)
class SteadyWindow:
    """The window's figures (the same on every row) and each request's edge flag, in order."""

    columns: dict[str, Optional[float]]
    edges: list[Optional[str]]


def steady_interval(requests: list[WindowRequest], lanes: Optional[int]) -> Optional[tuple[int, int]]:
    """``(a, b)`` in host ns, or None when no request completed. ``lanes``: C of a closed loop
    (then ``b`` is the (N - C + 1)-th end, the first that no send replaces), None for open-loop
    arrivals (then ``b`` is the first end after the last send)."""
    done = [r for r in requests if r.completed]
    if not done:
        return None
    ends = sorted(r.end_ns for r in done)  # type: ignore[type-var]
    if lanes is not None:
        return ends[0], ends[max(0, len(done) - lanes)]
    last_send = max(r.sent_ns for r in requests if r.sent_ns is not None)  # type: ignore[type-var]
    after = [e for e in ends if e > last_send]  # type: ignore[operator]
    return ends[0], after[0] if after else ends[-1]


def _fraction_inside(r: WindowRequest, a: int, b: int) -> float:
    sent, end = r.sent_ns, r.end_ns
    assert sent is not None and end is not None
    if end <= sent:
        return 1.0 if a <= end <= b else 0.0
    return max(0, min(end, b) - max(sent, a)) / (end - sent)


def edges(requests: list[WindowRequest], interval: Optional[tuple[int, int]]) -> list[Optional[str]]:
    """Each request's flag: ``ramp``, ``drain`` or None (steady, or failed, or no interval)."""
    if interval is None:
        return [None] * len(requests)
    a, b = interval
    ramp = [r.completed and r.sent_ns < a for r in requests]  # type: ignore[operator]
    burst = sum(ramp) > 1
    out: list[Optional[str]] = []
    for r, before in zip(requests, ramp):
        if burst and before:
            out.append(RAMP)
        elif r.completed and r.end_ns > b:  # type: ignore[operator]
            out.append(DRAIN)
        else:
            out.append(None)
    return out


def window_columns(requests: Iterable[WindowRequest], with_slo: bool, lanes: Optional[int] = None) -> SteadyWindow:
    """The window columns of every row (throughput over the steady interval, its length in s,
    the number of requests) and each row's edge flag. ``lanes``: see :func:`steady_interval`."""
    requests = list(requests)
    interval = steady_interval(requests, lanes)
    columns: dict[str, Optional[float]] = {
        "window_output_tps": None, "window_rps": None, "window_goodput_rps": None,
        "window_requests": len(requests), "window_steady_s": None,
    }
    flags = edges(requests, interval)
    if interval is None or interval[1] <= interval[0]:
        return SteadyWindow(columns, flags)
    a, b = interval
    seconds = (b - a) / 1e9
    done = [r for r in requests if r.completed]
    share = [_fraction_inside(r, a, b) for r in done]
    columns["window_steady_s"] = seconds
    columns["window_rps"] = sum(share) / seconds
    if all(r.n_out is not None for r in done):
        columns["window_output_tps"] = sum(f * r.n_out for f, r in zip(share, done)) / seconds  # type: ignore[operator]
    if with_slo:
        columns["window_goodput_rps"] = sum(f for f, r in zip(share, done) if r.slo_met is True) / seconds
    return SteadyWindow(columns, flags)
