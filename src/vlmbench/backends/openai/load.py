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

    @abstractmethod
    async def drive(self, count: int, send: Send) -> None:
        """Send requests 0..count-1 through ``send``; return when all have finished."""


@dataclass(frozen=True)
class ClosedLoop(LoadMode):
    concurrency: int

    @property
    def label(self) -> str:
        return f"c{self.concurrency}"

    async def drive(self, count: int, send: Send) -> None:
        indices = iter(range(count))  # shared by the lanes: each takes the next free index

        async def lane() -> None:
            for index in indices:
                await send(index, now_ns(), self.concurrency)

        await asyncio.gather(*(lane() for _ in range(min(self.concurrency, count))))


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

    def arrival_offsets_ns(self, count: int) -> list[int]:
        """Scheduled sends relative to the window start: 0, then cumulative exponential gaps."""
        rng = random.Random(self.seed)
        offsets, t = [], 0.0
        for index in range(count):
            if index:
                t += rng.expovariate(self.rate)
            offsets.append(int(t * 1e9))
        return offsets

    async def drive(self, count: int, send: Send) -> None:
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
        for index, offset in enumerate(self.arrival_offsets_ns(count)):
            scheduled = start + offset
            while (delay_ns := scheduled - now_ns()) > 0:  # again if the loop woke us early
                await asyncio.sleep(delay_ns / 1e9)
            tasks.append(asyncio.create_task(one(index, scheduled)))
        await asyncio.gather(*tasks)


@dataclass(frozen=True)
class LoadScenario(Scenario):
    """A plan scenario for endpoint runs: one request per cell (batch_size 1) and the load
    mode its window runs under. The name carries the mode: ``seq-n32``, ``c16-n32``, ``r2.5-n32``."""

    load: Optional[LoadMode] = None

    @property
    def name(self) -> str:
        return f"{(self.load or Sequential()).label}-n{self.max_new_tokens}{self.state_suffix}"

    @property
    def mode(self) -> LoadMode:
        return self.load or Sequential()


def load_modes(concurrency: list[int], rates: list[float], seed: int) -> list[LoadMode]:
    """The windows of a run: one per ``--concurrency`` value, one per ``--rate`` value;
    sequential when neither is given."""
    modes: list[LoadMode] = [ClosedLoop(c) for c in concurrency]
    modes += [PoissonArrivals(r, seed) for r in rates]
    return modes or [Sequential()]
