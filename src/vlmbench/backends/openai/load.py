"""Load generators: *when* each request of a window is sent. They know nothing of HTTP.

A load mode drives ``count`` requests through ``send(index, scheduled_ns, in_flight)``, an
async callable that performs request ``index`` and records its outcome. ``scheduled_ns``
(host monotonic) is when the generator meant the request to go out; the request's own send
time comes later (after the generator's own lag and opening the connection), and the
difference is its queue delay.

- :class:`Sequential`   one request at a time, each scheduled when the previous finished
                        (the leaderboard mode; scenario ``seq-n<N>``);
- :class:`ClosedLoop`   C requests always in flight: each lane takes the next request the
                        moment its previous one finished (``c<C>-n<N>``);
- :class:`PoissonArrivals` open loop: arrivals at exponential gaps of mean 1/R seconds
                        (seeded), regardless of how many are still running (``r<R>-n<N>``).

Waiting is ``asyncio.sleep`` until the scheduled instant (again when the event loop wakes the
generator before it: its timers may fire up to one clock resolution early), so no request is
sent before its scheduled instant; nothing polls. The ``concurrency``
recorded per row is C for the closed loops and, for Poisson arrivals, the number of requests
in flight at the moment of the send, this one included.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

from vlmbench.vocab.cells import Scenario

Send = Callable[[int, int, int], Awaitable[None]]


def now_ns() -> int:
    return time.perf_counter_ns()


class LoadMode(ABC):
    @property
    @abstractmethod
    def label(self) -> str:
        """Short name used in the scenario name."""

    @property
    def lanes(self) -> Optional[int]:
        """C of a closed loop (requests always in flight), None for open-loop arrivals."""
        return None

    @abstractmethod
    async def drive(self, count: int, send: Send, seconds: Optional[float] = None) -> None:
        """Send requests 0..count-1 through ``send`` and, with ``seconds``, further ones
        (count, count + 1, ...) until ``seconds`` have passed since the first send; return when
        all have finished."""


@dataclass(frozen=True)
class ClosedLoop(LoadMode):
    concurrency: int

    @property
    def label(self) -> str:
        return f"c{self.concurrency}"

    @property
    def lanes(self) -> Optional[int]:
        return self.concurrency

    async def drive(self, count: int, send: Send, seconds: Optional[float] = None) -> None:
        indices = itertools.count()  # shared by the lanes: each takes the next free index
        until = now_ns() + int(seconds * 1e9) if seconds else None

        async def lane() -> None:
            for index in indices:
                if index >= count and (until is None or now_ns() >= until):
                    return
                await send(index, now_ns(), self.concurrency)

        await asyncio.gather(*(lane() for _ in range(self.concurrency if until else min(self.concurrency, count))))


@dataclass(frozen=True)
class Sequential(ClosedLoop):
    concurrency: int = 1

    @property
    def label(self) -> str:
        return "seq"


@dataclass(frozen=True)
class PoissonArrivals(LoadMode):
    rate: float  # mean arrivals per second
    seed: int = 0

    @property
    def label(self) -> str:
        return f"r{self.rate:g}"

    def arrival_offsets_ns(self, count: int, seconds: Optional[float] = None) -> list[int]:
        """Scheduled sends relative to the window start: 0, then cumulative exponential gaps;
        ``count`` of them, and with ``seconds`` more while they fall before ``seconds``."""
        rng = random.Random(self.seed)
        offsets, t = [], 0.0
        for index in itertools.count():
            if index:
                t += rng.expovariate(self.rate)
            if index >= count and (not seconds or t >= seconds):
                return offsets
            offsets.append(int(t * 1e9))
        return offsets  # pragma: no cover - the loop returns

    async def drive(self, count: int, send: Send, seconds: Optional[float] = None) -> None:
        in_flight = 0

        async def one(index: int, scheduled_ns: int) -> None:
            nonlocal in_flight
            in_flight += 1
            try:
                await send(index, scheduled_ns, in_flight)
            finally:
                in_flight -= 1

        start = now_ns()
        tasks = []
        for index, offset in enumerate(self.arrival_offsets_ns(count, seconds)):
            scheduled = start + offset
            while (delay_ns := scheduled - now_ns()) > 0:  # again if the loop woke us early
                await asyncio.sleep(delay_ns / 1e9)
            tasks.append(asyncio.create_task(one(index, scheduled)))
        await asyncio.gather(*tasks)


@dataclass(frozen=True)
class LoadScenario(Scenario):
    """A plan scenario for endpoint runs: one request per cell (batch_size 1) and the load
    mode its window runs under. The name carries the mode: ``seq-n32``, ``c16-n32``, ``r2.5-n32``.
    ``min_requests``: the window's least size; the plan adds repeats of the prompts to reach it."""

    load: Optional[LoadMode] = None
    min_requests: int = 0

    def repeats_for(self, repeats: int, groups: int) -> int:
        return max(repeats, -(-self.min_requests // max(groups, 1)))

    @property
    def name(self) -> str:
        return f"{(self.load or Sequential()).label}-n{self.max_new_tokens}{self.state_suffix}"

    @property
    def mode(self) -> LoadMode:
        return self.load or Sequential()


# A window of fewer than this many times its C requests is mostly ramp and drain: the plan
# repeats the prompts to reach it unless --min-window-requests says otherwise (METRICS.md).
MIN_WINDOW_PER_LANE = 10


def default_min_requests(mode: LoadMode) -> int:
    """10 x C for closed loops of C > 1; none for a sequential window (it has no ramp or drain)
    or for Poisson arrivals (their load is their rate, not a count in flight)."""
    return MIN_WINDOW_PER_LANE * mode.lanes if mode.lanes and mode.lanes > 1 else 0


def load_modes(concurrency: list[int], rates: list[float], seed: int) -> list[LoadMode]:
    """The windows of a run: one per ``--concurrency`` value, one per ``--rate`` value;
    sequential when neither is given."""
    modes: list[LoadMode] = [ClosedLoop(c) for c in concurrency]
    modes += [PoissonArrivals(r, seed) for r in rates]
    return modes or [Sequential()]
