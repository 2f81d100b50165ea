"""Hardware and software fingerprint of the machine a run measures on (``vlmbench env``)."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any, Optional

import psutil


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def package_version(name: str) -> Optional[str]:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit(start: Optional[Path] = None) -> Optional[str]:
    """The project's git commit (the checkout vlmbench is imported from), or None."""
    here = start or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    if out.returncode != 0 or not commit:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True, timeout=5, check=False,
    ).stdout.strip()
    return commit + ("-dirty" if dirty else "")


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


def driver_version() -> Optional[str]:
    try:
        import pynvml

        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        return v.decode() if isinstance(v, bytes) else str(v)
    except Exception:
        return None


def hardware_label(device: str) -> str:
    """Short label used to group results by hardware: the GPU name, or the CPU model."""
    from vlmbench.measure.device import device_ops

    return device_ops(device).name()


def fingerprint() -> dict[str, Any]:
    import torch

    from vlmbench import __version__

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
