"""Catalog registry: id -> entry. A new family is one module and one line in ``FAMILIES``."""

from __future__ import annotations

import importlib
from typing import Iterable

from vlmbench.catalog.entry import CatalogEntry
from vlmbench.errors import UsageError

# (module, id prefixes): each module defines ``ENTRIES``, a tuple of CatalogEntry whose ids start
# with one of its prefixes. The prefixes let a worker import only the family it runs (importing
# every family's transformers classes costs seconds); a test keeps them true.
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vlmbench.catalog.llava", ("llava-1.5-",)),
    ("vlmbench.catalog.llava_next", ("llava-1.6-",)),
    ("vlmbench.catalog.paligemma", ("paligemma-",)),
    ("vlmbench.catalog.tinyllava", ("tinyllava-",)),
    ("vlmbench.catalog.bunny", ("bunny-1.0-", "bunny-llama-3-8b-v")),
    ("vlmbench.catalog.minigpt4", ("minigpt4-",)),
    ("vlmbench.catalog.mgm", ("mgm-",)),
    ("vlmbench.catalog.minigptv2", ("minigpt-v2", "minigpt-4-llama2")),
    ("vlmbench.catalog.tinygptv", ("tinygpt-v",)),
    ("vlmbench.catalog.bunny_s2", ("bunny-1.1-",)),
    ("vlmbench.catalog.hpt", ("hpt-",)),
    ("vlmbench.catalog.pali3", ("pali3-",)),
    ("vlmbench.catalog.cogvlm", ("cogvlm-", "cogagent-")),
    ("vlmbench.catalog.qwen2_5_vl", ("qwen2.5-vl-",)),
    ("vlmbench.catalog.qwen3_vl", ("qwen3-vl-",)),
    ("vlmbench.catalog.gemma3", ("gemma-3-",)),
    ("vlmbench.catalog.internvl", ("internvl3",)),
    ("vlmbench.catalog.smolvlm", ("smolvlm",)),
    ("vlmbench.catalog.llama_vision", ("llama-3.2-",)),
    ("vlmbench.catalog.llava_onevision", ("llava-onevision-",)),
    ("vlmbench.catalog.mistral3", ("mistral-small-",)),
    ("vlmbench.catalog.pixtral", ("pixtral-",)),
    ("vlmbench.catalog.glm4v", ("glm-4.1v-",)),
)

_REGISTRY: dict[str, CatalogEntry] = {}
_LOADED_MODULES: set[str] = set()


def register(entries: Iterable[CatalogEntry]) -> None:
    for e in entries:
        if e.id in _REGISTRY and _REGISTRY[e.id] is not e:
            raise ValueError(f"catalog id {e.id!r} registered twice")
        _REGISTRY[e.id] = e


def load_module(name: str) -> None:
    """Import a module that defines ``ENTRIES`` (a family, or a user's plugin) and register them."""
    if name in _LOADED_MODULES:
        return
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise UsageError(f"catalog plugin {name!r} cannot be imported: {exc}") from None
    entries = getattr(module, "ENTRIES", None)
    if entries is None:
        raise UsageError(f"catalog plugin {name!r} defines no ENTRIES")
    register(entries)
    _LOADED_MODULES.add(name)


def _ensure_loaded(model_id: str | None = None) -> None:
    """Import the families that can define ``model_id`` (all of them when None or no prefix fits)."""
    if model_id is not None and model_id in _REGISTRY:
        return
    candidates = [m for m, prefixes in FAMILIES if model_id is not None and model_id.startswith(prefixes)]
    for name in candidates:
        load_module(name)
    if model_id is None or model_id not in _REGISTRY:
        for name, _ in FAMILIES:
            load_module(name)


def all_entries() -> list[CatalogEntry]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def get(model_id: str) -> CatalogEntry:
    _ensure_loaded(model_id)
    try:
        return _REGISTRY[model_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(f"--model {model_id!r}: unknown catalog id (known: {known})") from None


def has(model_id: str) -> bool:
    _ensure_loaded(model_id)
    return model_id in _REGISTRY
