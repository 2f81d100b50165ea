"""Memory bandwidth of the device, measured the same way on every device: a large copy.

``dst.copy_(src)`` of ``copy_mib`` MiB on the device, timed with the device's marks (CUDA
events on GPUs, the host clock on the CPU), after one untimed copy that touches every page.
A copy reads ``copy_mib`` and writes ``copy_mib``, so the bandwidth counts both (the STREAM
"copy" convention): ``B = 2 x bytes / t``, with ``t`` the best of ``repeats`` copies (the best
is the least disturbed one; the median is kept too). 256 MiB is far larger than any cache
(50 MiB L2 on an H100, a few hundred MiB of L3 at most on CPUs), so this is DRAM/HBM bandwidth.
It is what the roofline bound divides by (:mod:`vlmbench.metrics.roofline`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from vlmbench.measure.device import DeviceOps

MIB = 1024 * 1024
COPY_MIB = 256
REPEATS = 5


@dataclass(frozen=True)
class Bandwidth:
    bytes_per_s: float  # 2 x copy bytes / best time
    best_ms: float
    median_ms: float
    copy_mib: int
    repeats: int

    def to_json(self) -> dict[str, Any]:
        return {
            "gb_per_s": round(self.bytes_per_s / 1e9, 2),
            "best_ms": round(self.best_ms, 4),
            "median_ms": round(self.median_ms, 4),
            "method": f"device copy of {self.copy_mib} MiB, (read + write) / best of {self.repeats}",
        }


@torch.no_grad()
def measure_copy_bandwidth(ops: DeviceOps, copy_mib: int = COPY_MIB, repeats: int = REPEATS) -> Bandwidth:
    n = copy_mib * MIB
    src = torch.empty(n, dtype=torch.uint8, device=ops.device).fill_(1)
    dst = torch.empty_like(src)
    dst.copy_(src)  # first touch of every page of dst, untimed
    times = []
    for _ in range(repeats):
        ops.synchronize()
        start = ops.mark()
        dst.copy_(src)
        end = ops.mark()
        times.append(ops.elapsed_ms(start, end))
    del src, dst
    ops.release_cached_memory()
    times.sort()
    best = times[0]
    return Bandwidth(2.0 * n / (best / 1000.0), best, times[len(times) // 2], copy_mib, repeats)
