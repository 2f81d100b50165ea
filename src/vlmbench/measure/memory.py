"""Peak memory of one request: resident set of the process, the device allocator, NVML.

Peak RSS: on Linux the kernel's high-water mark (VmHWM) is reset per request by writing "5"
to /proc/self/clear_refs and read back afterwards, exact and free. Where that is not possible
a sampler thread reads the RSS every ``interval_s`` (it sleeps on an Event, never spins).
Device columns are None (empty in the CSV) where there is no such device, never 0.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

import psutil

from vlmbench.measure.device import DeviceOps
from vlmbench.measure.nvml import Nvml

MIB = 1024.0 * 1024.0
_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


def _read_vmhwm_mb() -> Optional[float]:
    try:
        with open(_STATUS) as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _reset_vmhwm() -> bool:
    try:
        with open(_CLEAR_REFS, "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class PeakRss:
    """Peak resident set size of this process over a window, in MiB."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self._proc = psutil.Process()
        self._use_hwm = _reset_vmhwm() and _read_vmhwm_mb() is not None
        self._halt = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._peak = 0.0

    def start(self) -> None:
        if self._use_hwm:
            _reset_vmhwm()
            return
        self._peak = self._proc.memory_info().rss / MIB
        self._halt.clear()
        self._thread = threading.Thread(target=self._sample, name="vlmbench-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._halt.wait(self.interval_s):
            self._peak = max(self._peak, self._proc.memory_info().rss / MIB)

    def stop(self) -> float:
        if self._use_hwm:
            value = _read_vmhwm_mb()
            return value if value is not None else self._proc.memory_info().rss / MIB
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
        return max(self._peak, self._proc.memory_info().rss / MIB)


class MemoryTracker:
    """Context manager: ``with MemoryTracker(ops, nvml) as mem: ...; mem.columns``."""

    def __init__(self, ops: DeviceOps, nvml: Optional[Nvml] = None) -> None:
        self.ops = ops
        self.nvml = nvml
        self.rss = PeakRss()
        self.columns: dict[str, Any] = {}
        self._nvml_start: Optional[float] = None

    def __enter__(self) -> "MemoryTracker":
        self.ops.reset_peak_memory()
        if self.nvml is not None:
            self._nvml_start = self.nvml.process_memory_mb(os.getpid())
        self.rss.start()
        return self

    def __exit__(self, *exc: object) -> None:
        peak_rss = self.rss.stop()
        allocated, reserved = self.ops.peak_memory_mb()
        nvml_mb: Optional[float] = None
        if self.nvml is not None:
            end = self.nvml.process_memory_mb(os.getpid())
            values = [v for v in (self._nvml_start, end) if v is not None]
            nvml_mb = max(values) if values else None
        self.columns = {
            "peak_rss_mb": peak_rss,
            "peak_cuda_allocated_mb": allocated,
            "peak_cuda_reserved_mb": reserved,
            "peak_nvml_mb": nvml_mb,
        }
