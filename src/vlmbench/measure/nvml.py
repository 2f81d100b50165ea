"""NVML access for one CUDA device: per-process memory and the total-energy counter.

``Nvml.open(torch_device)`` returns None, with the reason in ``Nvml.unavailable_reason``, where
NVML cannot be used (no NVIDIA driver, a CPU device, an unsupported GPU). Callers record
empty columns and the reason; never 0.
"""

from __future__ import annotations

from typing import Optional

import torch

MIB = 1024.0 * 1024.0


class Nvml:
    unavailable_reason: str = ""

    def __init__(self, handle: object, pynvml: object) -> None:
        self._h = handle
        self._nv = pynvml

    @classmethod
    def open(cls, device: torch.device) -> Optional["Nvml"]:
        if device.type != "cuda":
            cls.unavailable_reason = f"device {device} is not an NVIDIA GPU"
            return None
        try:
            import pynvml

            pynvml.nvmlInit()
            index = device.index if device.index is not None else torch.cuda.current_device()
            uuid = str(torch.cuda.get_device_properties(index).uuid)
            uuid = uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"
            handle = pynvml.nvmlDeviceGetHandleByUUID(uuid)
        except Exception as exc:  # NVMLError_LibraryNotFound and friends, or no pynvml
            cls.unavailable_reason = f"NVML unavailable: {type(exc).__name__}: {exc}"
            return None
        return cls(handle, pynvml)

    def process_memory_mb(self, pid: int) -> Optional[float]:
        nv = self._nv
        try:
            procs = nv.nvmlDeviceGetComputeRunningProcesses(self._h)
        except Exception:
            return None
        for p in procs:
            if p.pid == pid and p.usedGpuMemory is not None:
                return p.usedGpuMemory / MIB
        return None

    def total_energy_mj(self) -> Optional[int]:
        """Total energy since driver load, in millijoules; None where unsupported."""
        try:
            return int(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._h))
        except Exception:
            return None

    def energy_counter_error(self) -> Optional[str]:
        """None when the total-energy counter can be read; otherwise why not (pre-Volta GPUs
        answer NVMLError_NotSupported)."""
        try:
            self._nv.nvmlDeviceGetTotalEnergyConsumption(self._h)
        except Exception as exc:
            return f"total-energy counter not readable: {type(exc).__name__}: {exc}"
        return None

    def driver_version(self) -> Optional[str]:
        try:
            v = self._nv.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        except Exception:
            return None
