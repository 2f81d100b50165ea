"""Load run directories for the reporter: the typed frame of ``requests.csv`` plus ``manifest.json``.

This is the only place the reporter touches run folders. Rows come through
:func:`vlmbench.results.load` (the one pandas loader, typed by the schema; it refuses unknown
schema versions); this module adds the checks a report needs (the folder exists, it holds
rows) and raises one-line errors that name the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from vlmbench.errors import SchemaError, UsageError
from vlmbench.results import load
from vlmbench.results.manifest import read_manifest
from vlmbench.results.reader import REQUESTS_FILE


def py(value: Any) -> Any:
    """A cell of a frame as a plain Python value: NA -> None, numpy scalars -> int/float/bool,
    timestamps -> ISO 8601 text (as written in requests.csv)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
        if isinstance(value, float) and value != value:
            return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as dicts of plain Python values (missing = None)."""
    return [{k: py(v) for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass(frozen=True, eq=False)
class RunData:
    """One run as the reporter sees it: where it lives, its typed rows (a DataFrame, see
    :func:`vlmbench.results.load`) and its manifest (may be empty)."""

    run_dir: Path
    frame: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as plain dicts (for code that wants records, not a frame)."""
        return records(self.frame)

    @property
    def run_id(self) -> str:
        first = py(self.frame["run_id"].iloc[0]) if len(self.frame) else None
        return str(first or self.manifest.get("run_id") or self.run_dir.name)

    @property
    def environment(self) -> dict[str, Any]:
        return self.manifest.get("environment") or {}

    @property
    def started_at(self) -> str:
        first = py(self.frame["started_at"].iloc[0]) if len(self.frame) else None
        return str(self.manifest.get("started_at") or first or "")

    def model_facts(self, model_id: str) -> dict[str, Any]:
        """What the manifest records about one model (parameter count, source, load errors)."""
        return (self.manifest.get("models") or {}).get(model_id) or {}


def _read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest; a folder holding only requests.csv has an empty one."""
    return read_manifest(run_dir) or {}


def load_run(path: str | os.PathLike) -> RunData:
    """Read a run folder (or a requests.csv path). Raises UsageError/SchemaError naming the file."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such run directory")
    run_dir = p if p.is_dir() else p.parent
    csv_path = p / REQUESTS_FILE if p.is_dir() else p
    if not csv_path.exists():
        raise UsageError(f"{csv_path}: no such results file (is {run_dir} a vlmbench run directory?)")
    frame = load(csv_path)
    if frame.empty:
        raise SchemaError(f"{csv_path}: no rows")
    return RunData(run_dir=run_dir, frame=frame.reset_index(drop=True), manifest=_read_manifest(run_dir))


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
