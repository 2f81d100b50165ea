"""Resolve and validate ``--device`` and ``--dtype`` before anything is loaded."""

from __future__ import annotations

import torch

from vlmbench.errors import UsageError
from vlmbench.measure.device import supported_device_types
from vlmbench.measure.host import cpu_flags

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}


def resolve_device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UsageError(f"--device {name!r}: not a device name (use cpu, cuda or cuda:N)") from None
    if device.type not in supported_device_types():
        raise UsageError(
            f"--device {name!r}: unsupported device type {device.type!r} "
            f"(supported: {', '.join(supported_device_types())})"
        )
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name!r}: CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {name!r}: no such GPU (this machine has {torch.cuda.device_count()})"
            )
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """'auto' -> bf16 where the device runs it natively, else fp16 (CUDA) or fp32 (CPU)."""
    key = _ALIASES.get(name, name)
    if key == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if {"avx512_bf16", "amx_bf16"} & cpu_flags() else torch.float32
    try:
        dtype = _DTYPES[key]
    except KeyError:
        raise UsageError(f"--dtype {name!r}: unknown dtype (use auto, {', '.join(_DTYPES)})") from None
    check_dtype_runs(dtype, device, name)
    return dtype


def check_dtype_runs(dtype: torch.dtype, device: torch.device, name: str) -> None:
    """Run the operations a transformer needs in ``dtype`` on ``device``; refuse if any fails."""
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise UsageError(f"--dtype {name}: {torch.cuda.get_device_name(device)} does not support bfloat16")
    try:
        x = torch.randn(4, 8, device=device).to(dtype)
        w = torch.randn(8, 8, device=device).to(dtype)
        y = torch.nn.functional.linear(x, w)
        y = torch.nn.functional.layer_norm(y, (8,))
        y = torch.softmax(y, dim=-1)
        torch.nn.functional.scaled_dot_product_attention(y[None, None], y[None, None], y[None, None])
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"--dtype {name}: cannot run on {device}: {exc}") from None


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
