"""The model catalog: published shapes, provenance and tiny variants of every seed system."""

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance
from vlmbench.catalog.registry import all_entries, get, has, load_module

__all__ = ["CatalogEntry", "ProcessorSpec", "Provenance", "all_entries", "get", "has", "load_module"]
