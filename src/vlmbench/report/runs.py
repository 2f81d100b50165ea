"""Load run directories for the reporter: typed rows of ``requests.csv`` plus ``manifest.json``.

This is the only place the reporter touches run folders. Rows come through
:mod:`vlmbench.results.reader`, which refuses unknown schema versions; this module adds the
checks a report needs (the folder exists, it holds rows) and raises one-line errors that name
the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vlmbench.errors import SchemaError, UsageError
from vlmbench.results.reader import REQUESTS_FILE, read_rows
from vlmbench.runner.manifest import MANIFEST_FILE


@dataclass(frozen=True)
class RunData:
    """One run as the reporter sees it: where it lives, its rows and its manifest (may be empty)."""

    run_dir: Path
    rows: list[dict[str, Any]]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.rows[0]["run_id"] or self.manifest.get("run_id") or self.run_dir.name)

    @property
    def environment(self) -> dict[str, Any]:
        return self.manifest.get("environment") or {}

    @property
    def started_at(self) -> str:
        return str(self.manifest.get("started_at") or self.rows[0].get("started_at") or "")

    def model_facts(self, model_id: str) -> dict[str, Any]:
        """What the manifest records about one model (parameter count, source, load errors)."""
        return (self.manifest.get("models") or {}).get(model_id) or {}


def _read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST_FILE
    if not path.exists():
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: manifest is not a JSON object")
    return data


def load_run(path: str | os.PathLike) -> RunData:
    """Read a run folder (or a requests.csv path). Raises UsageError/SchemaError naming the file."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such run directory")
    run_dir = p if p.is_dir() else p.parent
    csv_path = p / REQUESTS_FILE if p.is_dir() else p
    if not csv_path.exists():
        raise UsageError(f"{csv_path}: no such results file (is {run_dir} a vlmbench run directory?)")
    rows = read_rows(csv_path)
    if not rows:
        raise SchemaError(f"{csv_path}: no rows")
    return RunData(run_dir=run_dir, rows=rows, manifest=_read_manifest(run_dir))


def load_runs(paths: Sequence[str | os.PathLike]) -> list[RunData]:
    """Load several runs; refuses an empty list and the same run id given twice."""
    if not paths:
        raise UsageError("no run directories given")
    runs = [load_run(p) for p in paths]
    seen: dict[str, Path] = {}
    for run in runs:
        if run.run_id in seen:
            raise UsageError(f"{run.run_dir}: run id {run.run_id!r} was already given as {seen[run.run_id]}")
        seen[run.run_id] = run.run_dir
    return runs
