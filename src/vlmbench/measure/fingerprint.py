"""Hardware and software fingerprint of the machine a run measures on (``vlmbench env``)."""

from __future__ import annotations

import os
import platform
import socket
from typing import Any, Optional

import psutil

from vlmbench.measure.host import cpu_flags, cpu_model, driver_version, git_commit, package_version
from vlmbench.version import __version__

# The fields of a fingerprint that change what timings mean (compared between runs by report and
# archive); the host name, kernel string and git commit are not among them.
HARDWARE_FIELDS: tuple[str, ...] = (
    "machine", "cpu.model", "cpu.logical_cores", "cpu.affinity", "cpu.torch_threads", "cpu.bf16_native", "gpus",
)
SOFTWARE_FIELDS: tuple[str, ...] = tuple(
    f"software.{name}" for name in ("python", "vlmbench", "torch", "transformers", "tokenizers", "torchvision",
                                    "accelerate", "cuda", "cudnn", "driver")
)

# The section a run on a serving engine adds (backends/engine.py): its version, its environment's torch and
# CUDA, and per model its command line with the machine's paths and the port left out.
ENGINE_FIELDS: tuple[str, ...] = tuple(f"engine.{name}" for name in ("name", "version", "torch", "cuda", "commands"))
# What report and archive compare, by kind.
COMPARED_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hardware", HARDWARE_FIELDS), ("software", SOFTWARE_FIELDS), ("engine", ENGINE_FIELDS))


def lookup(data: dict[str, Any], dotted: str) -> Optional[Any]:
    """``data['a']['b']`` for ``'a.b'``; None where a level is missing."""
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def gpu_info() -> list[dict[str, Any]]:
    import torch

    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append({
                "index": i,
                "name": p.name,
                "memory_mb": round(p.total_memory / 2**20),
                "capability": f"{p.major}.{p.minor}",
                "multiprocessors": p.multi_processor_count,
            })
    return gpus


def hardware_label(device: str) -> str:
    """Short label used to group results by hardware: the GPU name, or the CPU model."""
    from vlmbench.measure.device import device_ops  # torch, only where a label is asked for

    return device_ops(device).name()


def fingerprint() -> dict[str, Any]:
    import torch

    vm = psutil.virtual_memory()
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": {
            "model": cpu_model(),
            "physical_cores": psutil.cpu_count(logical=False),
            "logical_cores": psutil.cpu_count(logical=True),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "torch_threads": torch.get_num_threads(),
            "bf16_native": bool({"avx512_bf16", "amx_bf16"} & cpu_flags()),
        },
        "ram_mb": round(vm.total / 2**20),
        "gpus": gpu_info(),
        "software": {
            "python": platform.python_version(),
            "vlmbench": __version__,
            "torch": torch.__version__,
            "transformers": package_version("transformers"),
            "tokenizers": package_version("tokenizers"),
            "torchvision": package_version("torchvision"),
            "accelerate": package_version("accelerate"),
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
            "driver": driver_version() if torch.cuda.is_available() else None,
        },
        "git_commit": git_commit(),
    }
