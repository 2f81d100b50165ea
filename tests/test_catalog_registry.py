"""The registry's family prefixes stay true, so a worker can import only its own family."""

from __future__ import annotations

import importlib

from vlmbench.catalog.registry import FAMILIES


def test_every_entry_id_starts_with_a_prefix_of_its_family():
    seen: dict[str, str] = {}
    for module_name, prefixes in FAMILIES:
        for entry in importlib.import_module(module_name).ENTRIES:
            assert entry.id.startswith(prefixes), f"{entry.id} (in {module_name}) matches none of {prefixes}"
            assert entry.id not in seen, f"{entry.id} defined in {seen.get(entry.id)} and {module_name}"
            seen[entry.id] = module_name
    for module_name, prefixes in FAMILIES:  # no prefix claims another family's ids
        for entry_id, owner in seen.items():
            if owner != module_name:
                assert not entry_id.startswith(prefixes), f"{entry_id} of {owner} matches {module_name}'s prefixes"
