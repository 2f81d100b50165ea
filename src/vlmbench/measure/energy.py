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
:func:`counter_update_interval_ms` measures that period once per model (it sleeps between
reads, it never spins), and the energy metrics refuse windows too short for it
(see :mod:`vlmbench.metrics.energy`).
"""

from __future__ import annotations

import time
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
