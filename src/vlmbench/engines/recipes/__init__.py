"""Recipes: a small versioned YAML file per engine x model family with the engine arguments that matter
(``<engine>-<family>.yaml`` in this folder). A recipe's ``args`` apply everywhere; its ``cpu`` / ``cuda``
parts add or replace arguments, set environment variables and name libraries to preload (``LD_PRELOAD``;
looked up in the engine environment's ``lib/`` and the system's library folders; one that is not found
is recorded as missing, not silently dropped). ``--engine-arg`` / a suite's ``engine: args:`` come after
the recipe's arguments on the command line (the engine's parser keeps the last value).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from vlmbench.errors import SchemaError, UsageError

RECIPES = Path(__file__).parent
FORMAT_VERSION = 1
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu")


@dataclass(frozen=True)
class ResolvedRecipe:
    file: Optional[str]
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    missing_preloads: tuple[str, ...] = ()

    @property
    def hash(self) -> str:
        blob = json.dumps({"args": self.args, "env": self.env}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]

    def manifest(self) -> dict[str, Any]:
        return {"file": self.file, "args": list(self.args), "env": self.env, "hash": self.hash,
                "missing_preloads": list(self.missing_preloads)}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise SchemaError(f"{path}: recipe version {data.get('version') if isinstance(data, dict) else None!r} "
                          f"not readable (this vlmbench reads {FORMAT_VERSION})")
    return data


def find(engine: str, model_type: str, override: Optional[str] = None) -> Optional[Path]:
    """The recipe file: ``override`` if given, else the first in this folder for the engine and model type."""
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise UsageError(f"--engine-recipe {override!r}: no such file")
        return path
    for path in sorted(RECIPES.glob(f"{engine}-*.yaml")):
        if model_type in (_load(path).get("model_types") or []):
            return path
    return None


def _flags(mapping: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in mapping.items():
        if value is True:
            out.append(f"--{key}")
        elif value is False or value is None:
            continue
        else:
            out += [f"--{key}", str(value)]
    return out


def _library(name: str, env_lib: Optional[Path]) -> Optional[str]:
    for folder in ([env_lib] if env_lib else []) + [Path(d) for d in LIBRARY_DIRS]:
        candidate = folder / name
        if candidate.is_file():
            return str(candidate)
    return None


def resolve(path: Optional[Path], device_kind: str, env_lib: Optional[Path] = None) -> ResolvedRecipe:
    """The recipe's arguments and environment for ``device_kind`` (cpu | cuda)."""
    if path is None:
        return ResolvedRecipe(None, ())
    data = _load(path)
    part = data.get(device_kind) or {}
    args = dict(data.get("args") or {})
    args.update(part.get("args") or {})
    env = {k: str(v) for k, v in (part.get("env") or {}).items()}
    found, missing = [], []
    for lib in part.get("preload") or []:
        where = _library(lib, env_lib)
        (found if where else missing).append(where or lib)
    if found:
        env["LD_PRELOAD"] = ":".join(found)
    return ResolvedRecipe(str(path), tuple(_flags(args)), env, tuple(missing))
