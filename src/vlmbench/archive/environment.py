"""Software and driver changes between two runs, from their manifests' fingerprints: the fields
``report/fingerprints.py`` compares (hardware, software, a serving engine's) plus the git commit, which matters
here (a scheduled run that got slower after a commit should say so)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmbench.measure.fingerprint import ENGINE_FIELDS, HARDWARE_FIELDS, SOFTWARE_FIELDS, lookup
from vlmbench.results.manifest import read_manifest

FIELDS: tuple[str, ...] = SOFTWARE_FIELDS + HARDWARE_FIELDS + ENGINE_FIELDS + ("git_commit",)


def manifest_environment(run_dir: str | Path) -> dict[str, Any]:
    """The run's environment fingerprint; empty without a manifest (SchemaError, naming the
    file, for one that cannot be read)."""
    env = (read_manifest(Path(run_dir)) or {}).get("environment")
    return env if isinstance(env, dict) else {}


def changes(old_env: dict[str, Any], new_env: dict[str, Any]) -> list[str]:
    """``field: old -> new`` for every fingerprint field that differs (empty when a side has none)."""
    if not old_env or not new_env:
        return []
    out = []
    for name in FIELDS:
        a, b = lookup(old_env, name), lookup(new_env, name)
        if a != b:
            out.append(f"{name}: {a} -> {b}")
    return out
