"""Energy of a window of work, from a cumulative energy counter (NVML on NVIDIA GPUs).

An :class:`EnergyCounter` is anything that answers ``total_energy_mj()``: a monotonic total in
millijoules, or None when it cannot be read. On NVIDIA GPUs (Volta and newer) it is NVML's
``nvmlDeviceGetTotalEnergyConsumption``: the energy of the whole board since the driver was
loaded, whatever process used it. There is no such counter for the CPU here: energy columns
are then empty, and :func:`energy_counter` says why, for the manifest. Never 0.

:class:`EnergyTracker` reads the counter (and the host clock) when its window opens and when
it closes, and does nothing else. The backend opens it before its start mark, so the reads
(a driver call each, tens of microseconds) stay outside the timed region.

The counter is updated by the driver at its own pace, not at every read;
:func:`probe_counter_update` measures that period once per model (it sleeps between reads,
it never spins; a counter that moved too seldom is probed again, longer), and the energy
metrics refuse windows too short for it, and every window when the period stays unknown
(see :mod:`vlmbench.metrics.energy`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Protocol

from vlmbench.measure.nvml import Nvml


class EnergyCounter(Protocol):
    def total_energy_mj(self) -> Optional[int]:
        """Energy consumed since an arbitrary origin, in millijoules; None when unreadable."""


def energy_counter(nvml: Optional[Nvml]) -> tuple[Optional[EnergyCounter], str]:
    """(counter, "available") or (None, why there is none)."""
    if nvml is None:
        return None, f"unsupported: {Nvml.unavailable_reason or 'NVML unavailable'}"
    error = nvml.energy_counter_error()
    if error is not None:
        return None, f"unsupported: {error}"
    return nvml, "available"


def counter_update_interval_ms(counter: EnergyCounter, duration_s: float = 0.3,
                               poll_s: float = 0.001) -> Optional[float]:
    """Median time between changes of the counter's value, read every ``poll_s`` (sleeping in
    between) for ``duration_s``; None when it changed fewer than three times."""
    changes: list[int] = []
    last = counter.total_energy_mj()
    end = time.perf_counter_ns() + int(duration_s * 1e9)
    while time.perf_counter_ns() < end:
        time.sleep(poll_s)
        value = counter.total_energy_mj()
        if value != last:
            changes.append(time.perf_counter_ns())
            last = value
    if len(changes) < 3:
        return None
    gaps = sorted((b - a) / 1e6 for a, b in zip(changes, changes[1:]))
    return gaps[len(gaps) // 2]


# Probe lengths, s: a counter that changed fewer than three times in one is probed again for
# the next (NVML's period is tens of ms on current boards; a slow driver gets a second chance).
PROBE_SECONDS = (0.3, 1.0, 3.0)


@dataclass(frozen=True)
class CounterProbe:
    """What probing a counter found: its update period (None when still unknown after every
    probe, and then every energy window is left empty) and how long it was probed."""

    update_ms: Optional[float]
    probed_s: float

    def to_json(self) -> dict:
        windows = ("kept when at least 5 update periods long" if self.update_ms is not None else
                   "all left empty: the counter changed fewer than 3 times in every probe, so its "
                   "update period is unknown")
        return {"counter_update_ms": self.update_ms, "probed_s": round(self.probed_s, 3), "windows": windows}


def probe_counter_update(counter: EnergyCounter, durations_s: tuple[float, ...] = PROBE_SECONDS,
                         poll_s: float = 0.001) -> CounterProbe:
    """The counter's update period, probed for each of ``durations_s`` in turn until one finds it."""
    probed = 0.0
    for duration in durations_s:
        period = counter_update_interval_ms(counter, duration, poll_s)
        probed += duration
        if period is not None:
            return CounterProbe(period, probed)
    return CounterProbe(None, probed)


class EnergyTracker:
    """Context manager: ``with EnergyTracker(counter) as energy: ...; energy.joules``.

    ``joules``: (counter at exit - counter at entry) / 1000, None without a counter or when a
    read failed. ``duration_ms``: host time between the two reads.
    """

    def __init__(self, counter: Optional[EnergyCounter]) -> None:
        self.counter = counter
        self.joules: Optional[float] = None
        self.duration_ms: Optional[float] = None
        self._start_mj: Optional[int] = None
        self._start_ns = 0

    def __enter__(self) -> "EnergyTracker":
        self.joules = None
        self._start_mj = self.counter.total_energy_mj() if self.counter is not None else None
        self._start_ns = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        end_ns = time.perf_counter_ns()
        end_mj = self.counter.total_energy_mj() if self.counter is not None else None
        self.duration_ms = (end_ns - self._start_ns) / 1e6
        if self._start_mj is not None and end_mj is not None:
            self.joules = (end_mj - self._start_mj) / 1000.0
