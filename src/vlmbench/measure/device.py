"""The one place where CPU and CUDA differ for measurement.

``device_ops(torch.device)`` returns an object with the same interface for every device kind:
time marks that are correct on that device, synchronisation, and peak-memory counters.

Timing rules (see METRICS.md): a host timestamp taken after a token has been copied to the
host is already synchronised. Stage boundaries inside the model (vision encoder start and end)
are recorded as *marks*: on the CPU a host timestamp, on CUDA a CUDA event recorded on the
current stream, resolved to milliseconds after the request, so no extra synchronisation is
inserted into the timed region.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from vlmbench.measure.host import cpu_model


@dataclass
class Mark:
    host_ns: int
    event: Optional["torch.cuda.Event"] = None


class DeviceOps:
    """CPU behaviour; subclasses override what differs."""

    kind = "cpu"
    has_device_memory = False

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def synchronize(self) -> None:
        """Wait until all queued device work is done (no-op on the CPU)."""

    def mark(self) -> Mark:
        return Mark(time.perf_counter_ns())

    def elapsed_ms(self, start: Mark, end: Mark) -> float:
        """Milliseconds between two marks taken on this device."""
        return (end.host_ns - start.host_ns) / 1e6

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory window for the device allocator."""

    def peak_memory_mb(self) -> tuple[Optional[float], Optional[float]]:
        """(peak allocated, peak reserved) in MiB since the last reset; None where not applicable."""
        return None, None

    def total_memory_mb(self) -> Optional[float]:
        return None

    def release_cached_memory(self) -> None:
        """Give cached allocator blocks back to the device (after a model or an OOM)."""

    def free_memory_mb(self) -> float:
        """Memory a new model could use now: available RAM on the CPU, free device memory on GPUs."""
        import psutil

        return psutil.virtual_memory().available / (1024.0 * 1024.0)

    def flash_attention_unavailable(self) -> Optional[str]:
        """Why ``--attn flash_attention_2`` cannot run on this device; None when it can."""
        return f"needs an NVIDIA GPU (Ampere or newer) with the flash-attn package; device is {self.device}"

    def compile_config(self) -> Any:
        """The transformers ``CompileConfig`` for compiling the decode step on this device.

        CPU: inductor in its default mode (CUDA graphs do not exist here); transformers only
        auto-compiles on accelerators unless ``_compile_all_devices`` is set.
        """
        from transformers import CompileConfig

        config = CompileConfig(mode="default")
        config._compile_all_devices = True
        return config

    def name(self) -> str:
        """Short hardware label used to group results: the CPU model and its thread count."""
        import psutil

        return f"{cpu_model()} ({psutil.cpu_count(logical=True)} threads)"


class CudaOps(DeviceOps):
    kind = "cuda"
    has_device_memory = True

    def synchronize(self) -> None:
        torch.cuda.synchronize(self.device)

    def mark(self) -> Mark:
        event = torch.cuda.Event(enable_timing=True)
        event.record(torch.cuda.current_stream(self.device))
        return Mark(time.perf_counter_ns(), event)

    def elapsed_ms(self, start: Mark, end: Mark) -> float:
        assert start.event is not None and end.event is not None
        end.event.synchronize()
        return float(start.event.elapsed_time(end.event))

    def reset_peak_memory(self) -> None:
        torch.cuda.reset_peak_memory_stats(self.device)

    def peak_memory_mb(self) -> tuple[Optional[float], Optional[float]]:
        mib = 1024.0 * 1024.0
        return (
            torch.cuda.max_memory_allocated(self.device) / mib,
            torch.cuda.max_memory_reserved(self.device) / mib,
        )

    def total_memory_mb(self) -> Optional[float]:
        return torch.cuda.get_device_properties(self.device).total_memory / (1024.0 * 1024.0)

    def release_cached_memory(self) -> None:
        torch.cuda.empty_cache()

    def free_memory_mb(self) -> float:
        free, _total = torch.cuda.mem_get_info(self.device)
        return free / (1024.0 * 1024.0)

    def flash_attention_unavailable(self) -> Optional[str]:
        major, minor = torch.cuda.get_device_capability(self.device)
        if major < 8:
            return (f"{torch.cuda.get_device_name(self.device)} has compute capability {major}.{minor}; "
                    "flash_attention_2 needs 8.0 (Ampere) or newer")
        from transformers.utils import is_flash_attn_2_available

        if not is_flash_attn_2_available():
            return "the flash-attn package is not installed (pip install flash-attn)"
        return None

    def compile_config(self) -> Any:
        """transformers' default: inductor, ``mode="reduce-overhead"`` (CUDA graphs of the decode step)."""
        from transformers import CompileConfig

        return CompileConfig()

    def name(self) -> str:
        return torch.cuda.get_device_name(self.device)


# Device kind -> operations class. A new accelerator is one class and one line here.
_OPS: dict[str, Callable[[torch.device], DeviceOps]] = {
    "cpu": DeviceOps,
    "cuda": CudaOps,
}


def device_ops(device: torch.device | str) -> DeviceOps:
    device = torch.device(device)
    try:
        factory = _OPS[device.type]
    except KeyError:
        raise ValueError(f"no measurement support for device type {device.type!r}") from None
    return factory(device)


def supported_device_types() -> tuple[str, ...]:
    return tuple(_OPS)
