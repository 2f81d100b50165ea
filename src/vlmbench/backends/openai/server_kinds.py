"""Server flavours (``--server-kind``) and how each can be made to generate exactly N tokens.

================  ===========================================================  ==========
kind              request fields for an output of exactly N tokens             enforced
================  ===========================================================  ==========
``vllm``          ``max_tokens=N, min_tokens=N, ignore_eos=true``              yes
``sglang``        ``max_tokens=N, min_tokens=N, ignore_eos=true``              yes
``transformers``  ``max_tokens=N`` + ``generation_config`` JSON string with    yes
                  ``max_new_tokens=min_new_tokens=N, do_sample=false``
``generic``       ``max_tokens=N`` only (Ollama, llama.cpp, TGI, hosted APIs)  no
================  ===========================================================  ==========

Every kind also sends ``temperature=0`` (greedy) and ``stream_options`` with ``include_usage``; ``vllm``
and ``sglang`` also ask for ``continuous_usage_stats`` (usage on every chunk: token-exact timing). Unknown fields are not sent to servers
that may reject them (``transformers serve`` answers 422 to fields it does not know).

``--server-kind auto`` asks ``GET /v1/models`` once, before measuring, and picks by
:data:`DETECTORS` (first match wins):

- an entry ``owned_by: "vllm"``  -> vllm
- an entry ``owned_by: "sglang"`` -> sglang
- entries carrying a ``status`` object (``{"value": "loaded"}``), which only
  ``transformers serve`` adds to the OpenAI model listing -> transformers
- anything else (or an unreadable listing) -> generic
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from vlmbench.errors import UsageError


@dataclass(frozen=True)
class ServerKind:
    name: str
    enforces_length: bool
    # Per-chunk token counts (vLLM and SGLang: continuous_usage_stats) make timing token-exact.
    stream_options: dict[str, Any] = field(default_factory=lambda: {"include_usage": True}, hash=False)

    def length_fields(self, max_new_tokens: int) -> dict[str, Any]:
        """Request-body fields that set (and, where possible, force) the output length."""
        return {"max_tokens": max_new_tokens}


@dataclass(frozen=True)
class MinTokensServer(ServerKind):
    """vLLM and SGLang: ``min_tokens`` plus ``ignore_eos`` in the OpenAI request."""

    def length_fields(self, max_new_tokens: int) -> dict[str, Any]:
        return {"max_tokens": max_new_tokens, "min_tokens": max_new_tokens, "ignore_eos": True}


@dataclass(frozen=True)
class TransformersServer(ServerKind):
    """``transformers serve``: a ``generation_config`` JSON string replaces the model's."""

    def length_fields(self, max_new_tokens: int) -> dict[str, Any]:
        config = {"max_new_tokens": max_new_tokens, "min_new_tokens": max_new_tokens, "do_sample": False}
        return {"max_tokens": max_new_tokens, "generation_config": json.dumps(config)}


CONTINUOUS_USAGE = {"include_usage": True, "continuous_usage_stats": True}
SERVER_KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        MinTokensServer("vllm", enforces_length=True, stream_options=CONTINUOUS_USAGE),
        MinTokensServer("sglang", enforces_length=True, stream_options=CONTINUOUS_USAGE),
        TransformersServer("transformers", enforces_length=True),
        ServerKind("generic", enforces_length=False),
    )
}
AUTO = "auto"
KIND_CHOICES = (AUTO, *SERVER_KINDS)


def server_kind(name: str) -> ServerKind:
    try:
        return SERVER_KINDS[name]
    except KeyError:
        raise UsageError(f"--server-kind {name!r}: must be one of {', '.join(KIND_CHOICES)}") from None


def _owned_by(value: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda models: any(m.get("owned_by") == value for m in models)


def _has_status_object(models: list[dict[str, Any]]) -> bool:
    return bool(models) and all(isinstance(m.get("status"), dict) for m in models)


# (test on the /v1/models "data" list, kind, evidence written to the manifest); first match wins.
DETECTORS: tuple[tuple[Callable[[list[dict[str, Any]]], bool], str, str], ...] = (
    (_owned_by("vllm"), "vllm", "/v1/models owned_by=vllm"),
    (_owned_by("sglang"), "sglang", "/v1/models owned_by=sglang"),
    (_has_status_object, "transformers", "/v1/models entries carry a status object (transformers serve)"),
)


def detect(models_listing: Any) -> tuple[ServerKind, str]:
    """(kind, evidence) from a parsed ``GET /v1/models`` answer."""
    data = models_listing.get("data") if isinstance(models_listing, dict) else None
    models = [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
    for test, name, evidence in DETECTORS:
        if test(models):
            return SERVER_KINDS[name], evidence
    return SERVER_KINDS["generic"], "no detector matched /v1/models: generic"
