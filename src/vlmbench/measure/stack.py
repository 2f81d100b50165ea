"""What generation stack really ran: attention implementation, KV-cache class, compiled decode.

The user asks (``--attn``, ``--cache``, ``--compile``); transformers decides: a model without
SDPA support falls back, a model that cannot use a static cache keeps another one, and the
automatic compilation of the decode step has its own criteria. Rows record what was resolved,
read back from the model and from the ``generate`` output, never the request.
"""

from __future__ import annotations

from typing import Any, Optional

import torch


def resolved_attn(model: torch.nn.Module) -> Optional[str]:
    """The attention implementation the model's config resolved to (``sdpa``, ``eager``, ...).

    A composite model whose parts resolved differently reads e.g. ``text=sdpa,vision=eager``.
    """
    config = model.config
    main = getattr(config, "_attn_implementation", None)
    parts: dict[str, str] = {}
    for name in getattr(config, "sub_configs", None) or {}:
        sub = getattr(config, name, None)
        impl = getattr(sub, "_attn_implementation", None) if sub is not None else None
        if impl:
            parts[name.removesuffix("_config")] = str(impl)
    values = set(parts.values()) | ({str(main)} if main else set())
    if len(values) <= 1:
        return next(iter(values), None)
    return ",".join(f"{k}={v}" for k, v in sorted(parts.items()))


def cache_name(output: Any) -> Optional[str]:
    """``static`` / ``dynamic`` / ... from the cache object ``generate`` returned (None when it
    returned none). The self-attention cache of an encoder-decoder cache is the one named."""
    cache = getattr(output, "cache", None)
    if cache is None:
        cache = getattr(output, "past_key_values", None)  # transformers 5.1x field name
    if cache is None:
        return None
    cache = getattr(cache, "self_attention_cache", cache)
    name = type(cache).__name__
    return name.removesuffix("Cache").lower() or name


def decode_compiled(model: torch.nn.Module) -> bool:
    """True once transformers has wrapped the model's forward in ``torch.compile`` for the
    decode step (``get_compiled_call``: only done when its auto-compile criteria hold)."""
    return getattr(model, "_compiled_call", None) is not None
