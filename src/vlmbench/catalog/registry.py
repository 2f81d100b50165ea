"""Catalog registry: id -> entry. A new family is one module and one line in ``FAMILIES``."""

from __future__ import annotations

import importlib
from typing import Iterable

from vlmbench.catalog.entry import CatalogEntry
from vlmbench.errors import UsageError

# Each module defines ``ENTRIES``: a tuple of CatalogEntry.
FAMILIES: tuple[str, ...] = (
    "vlmbench.catalog.llava",
    "vlmbench.catalog.llava_next",
    "vlmbench.catalog.paligemma",
    "vlmbench.catalog.tinyllava",
    "vlmbench.catalog.bunny",
    "vlmbench.catalog.minigpt4",
    "vlmbench.catalog.mgm",
    "vlmbench.catalog.minigptv2",
    "vlmbench.catalog.tinygptv",
    "vlmbench.catalog.bunny_s2",
    "vlmbench.catalog.hpt",
    "vlmbench.catalog.pali3",
    "vlmbench.catalog.cogvlm",
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


def _ensure_loaded() -> None:
    for name in FAMILIES:
        load_module(name)


def all_entries() -> list[CatalogEntry]:
    _ensure_loaded()
    return list(_REGISTRY.values())


def get(model_id: str) -> CatalogEntry:
    _ensure_loaded()
    try:
        return _REGISTRY[model_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(f"--model {model_id!r}: unknown catalog id (known: {known})") from None


def has(model_id: str) -> bool:
    _ensure_loaded()
    return model_id in _REGISTRY
