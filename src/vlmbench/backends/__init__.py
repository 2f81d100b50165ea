"""Backends that run models: in-process transformers (``hf``), OpenAI-compatible HTTP (``openai``)."""

from __future__ import annotations

import importlib

from vlmbench.errors import UsageError

# name -> "module:Class". A new backend is one module and one line here.
BACKENDS: dict[str, str] = {
    "hf": "vlmbench.backends.hf.backend:HFBackend",
    "openai": "vlmbench.backends.openai.backend:OpenAIBackend",
}


def backend_class(name: str):
    try:
        target = BACKENDS[name]
    except KeyError:
        raise UsageError(f"--backend {name!r}: unknown backend (known: {', '.join(BACKENDS)})") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)
