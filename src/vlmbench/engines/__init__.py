"""Serving engines vlmbench starts, measures and stops. One module per engine, one line each here."""

from __future__ import annotations

from vlmbench.engines.base import Engine
from vlmbench.engines.sglang import SGLang
from vlmbench.engines.transformers_serve import TransformersServe
from vlmbench.engines.vllm import VLLM

ENGINES: dict[str, type[Engine]] = {
    VLLM.name: VLLM,
    SGLang.name: SGLang,
    TransformersServe.name: TransformersServe,
}


def get_engine(name: str) -> Engine:
    from vlmbench.errors import UsageError

    try:
        return ENGINES[name]()
    except KeyError:
        raise UsageError(f"--engine {name!r}: unknown engine; known: {', '.join(sorted(ENGINES))}") from None
