"""Run one load window: prepared requests, a load mode and a client -> one outcome each.

Everything costly happens outside the window: bodies are built before it starts (except the
requests a duration window, ``--window-seconds``, sends past its planned ones); event
decoding (JSON), token counting and metrics after it ends. During the window the event loop
only schedules, sends, reads and splits events, and Python's cyclic garbage collector is
paused (request bodies are plain bytes; nothing cyclic is created), so a collection cannot
land inside a measured interval.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional, Sequence

from vlmbench.backends.openai.client import ChatClient, StreamResult
from vlmbench.backends.openai.errors import EndpointError
from vlmbench.backends.openai.load import LoadMode
from vlmbench.backends.openai.request import PreparedRequest


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Outcome:
    """One request of a window: when it was scheduled, what came back (or why not)."""

    request: PreparedRequest
    scheduled_ns: int
    concurrency: int
    started_at: str  # ISO 8601 UTC wall clock at the scheduled send
    result: Optional[StreamResult] = None
    error: Optional[EndpointError] = None


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Extra = Callable[[int], PreparedRequest]


async def _run(client: ChatClient, requests: Sequence[PreparedRequest], mode: LoadMode,
               extra: Optional[Extra], seconds: Optional[float]) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}

    async def send(index: int, scheduled_ns: int, in_flight: int) -> None:
        # a request past the prepared ones (--window-seconds) is built here, after its
        # scheduled instant: building it is load-generator lag (queue_delay_ms)
        request = requests[index] if index < len(requests) else extra(index)  # type: ignore[misc]
        outcome = Outcome(request, scheduled_ns, in_flight, utc_now_iso())
        outcomes[index] = outcome
        try:
            outcome.result = await client.stream(request)
        except EndpointError as exc:
            outcome.error = exc

    await mode.drive(len(requests), send, seconds if extra is not None else None)
    return [outcomes[i] for i in sorted(outcomes)]


def run_window(client: ChatClient, requests: Sequence[PreparedRequest], mode: LoadMode,
               extra: Optional[Extra] = None, seconds: Optional[float] = None) -> list[Outcome]:
    """Send ``requests`` under ``mode``; one :class:`Outcome` per request, in request order.
    With ``seconds`` (and ``extra``, which builds request ``index`` past the prepared ones),
    further requests follow until ``seconds`` have passed since the first send.
    Runs on the client's event loop, so its pooled connections carry over between windows."""
    with collector_paused():
        return client.run(_run(client, requests, mode, extra, seconds))
