"""Build a catalog model with random weights, fast and correctly.

Recipe (measured in platform-notes.md): construct the model directly on the target device in
the target dtype with every initialiser switched off, then fill every parameter from a fixed
pool of N(0, 0.02) values (copied at a random offset per tensor), norm weights with 1 and
biases with 0. Every byte is written, so there are no untouched zero pages (which made
forward passes look 2x too fast), no NaN, inf or denormals; buffers computed in constructors
(RoPE ``inv_freq``, position ids) are left exactly as the constructor made them, which
meta-device + ``to_empty`` would not. About 10x faster than transformers' default init.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

POOL_SIZE = 1 << 22  # ~4M values
STD = 0.02

try:  # transformers >= 5.2x
    from transformers.initialization import no_init_weights
except ImportError:  # pragma: no cover - older 5.x
    from transformers.modeling_utils import no_init_weights  # type: ignore[no-redef]


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _is_norm(module: torch.nn.Module) -> bool:
    return "norm" in type(module).__name__.lower()


@torch.no_grad()
def fill_random_(model: torch.nn.Module, seed: int = 0) -> None:
    """Overwrite every parameter in place (see module docstring)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    pools: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
    for module in model.modules():
        norm = _is_norm(module)
        for name, p in module.named_parameters(recurse=False):
            if norm and name == "weight":
                p.fill_(1.0)
                continue
            if name == "bias" or name.endswith("_bias"):
                p.zero_()
                continue
            key = (p.device, p.dtype)
            pool = pools.get(key)
            if pool is None:
                pool = (torch.randn(POOL_SIZE, generator=gen) * STD).to(device=p.device, dtype=p.dtype)
                pools[key] = pool
            flat = p.view(-1)
            n = flat.numel()
            offset = int(torch.randint(0, POOL_SIZE, (1,), generator=gen))
            done = 0
            while done < n:
                take = min(POOL_SIZE - offset, n - done)
                flat[done : done + take].copy_(pool[offset : offset + take])
                done += take
                offset = 0


def construct(model_class: Any, config: Any, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """Build the model; tie its embeddings as the config asks (``no_init_weights`` skips the
    ``init_weights`` step that normally ties them, which left e.g. PaliGemma's LM head as a
    second 0.5B-parameter copy)."""
    if hasattr(model_class, "_from_config"):
        model = model_class._from_config(config, **({"dtype": dtype} if dtype is not None else {}))
    else:
        model = model_class(config)
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    return model


def build_random_model(
    model_class: Any,
    config: Any,
    device: torch.device | str,
    dtype: torch.dtype,
    seed: int = 0,
) -> torch.nn.Module:
    """Materialise ``model_class(config)`` on ``device`` in ``dtype`` with fast random weights."""
    with no_init_weights(), torch.device(device), default_dtype(dtype):
        model = construct(model_class, config, dtype)
    fill_random_(model, seed)
    return model.eval()


def count_parameters_meta(model_class: Any, config: Any) -> int:
    """Exact parameter count by instantiating on the meta device (tied weights counted once)."""
    with torch.device("meta"), no_init_weights():
        model = construct(model_class, config)
    return sum(p.numel() for p in model.parameters())
