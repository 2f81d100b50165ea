"""What a run folder must be to enter the archive, checked before anything is copied.

Refusals (:class:`Refused`, one line naming the run): no readable manifest or run id; rows of a
schema version this vlmbench cannot read (or a broken file); a torn last line or fewer rows than
the manifest's ``rows_expected`` (unless partial runs are allowed: then the run is marked
partial); a run still being written (no ``ended_at``) counts as missing rows the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from vlmbench.archive.layout import valid_run_id
from vlmbench.errors import SchemaError
from vlmbench.results.manifest import read_manifest
from vlmbench.results.reader import REQUESTS_FILE, iter_rows
from vlmbench.vocab.files import MANIFEST_FILE


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Refused(Exception):
    """A run that cannot enter the archive; the message is one line naming it."""


@dataclass
class RunFacts:
    run_dir: Path
    run_id: str
    manifest: dict[str, Any]
    rows: int
    rows_expected: Optional[int]
    hardware: str
    date: str
    started_at: Optional[str]
    partial: bool
    why_partial: str = ""
    schema_versions: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    scenarios: list[str] = field(default_factory=list)
    promptset_versions: list[str] = field(default_factory=list)


def _manifest(run_dir: Path) -> dict[str, Any]:
    try:
        data = read_manifest(run_dir)
    except SchemaError as exc:
        raise Refused(str(exc)) from None
    if data is None:
        raise Refused(f"{run_dir}: no {MANIFEST_FILE} (not a finished vlmbench run)")
    return data


def inspect_run(run_dir: Path, allow_partial: bool) -> RunFacts:
    run_dir = Path(run_dir)
    manifest = _manifest(run_dir)
    run_id = str(manifest.get("run_id") or "")
    if not valid_run_id(run_id):
        raise Refused(f"{run_dir}: manifest run_id {run_id!r} is missing or not usable as a folder name")
    csv_path = run_dir / REQUESTS_FILE
    try:
        rows = list(iter_rows(csv_path))
    except SchemaError as exc:
        raise Refused(f"run {run_id}: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"run {run_id}: {csv_path}: unreadable row ({exc})") from None
    raw = csv_path.read_bytes()
    torn = bool(raw) and not raw.endswith(b"\n")
    foreign = sorted({str(r["run_id"]) for r in rows} - {run_id})
    if foreign:
        raise Refused(f"run {run_id}: {csv_path} holds rows of other run ids ({', '.join(foreign[:3])})")
    expected = manifest.get("rows_expected")
    expected = int(expected) if isinstance(expected, (int, float)) else None
    problems = []
    if torn:
        problems.append("torn last row")
    if expected is not None and len(rows) < expected:
        problems.append(f"{len(rows)} of {expected} rows present")
    if not manifest.get("ended_at"):
        problems.append("run not finished (no ended_at in manifest)")
    if problems and not allow_partial:
        raise Refused(f"run {run_id}: {'; '.join(problems)} ({run_dir}); publish with --allow-partial to "
                      "archive it marked partial")
    if not rows:
        raise Refused(f"run {run_id}: no rows in {csv_path}")
    hardware = Counter(str(r["hardware"] or "") for r in rows).most_common(1)[0][0] or "unknown"
    started = manifest.get("started_at") or min((str(r["started_at"]) for r in rows if r["started_at"]),
                                                default=None)
    date = str(started)[:10] if started and _DATE.match(str(started)[:10]) else "undated"
    return RunFacts(
        run_dir=run_dir, run_id=run_id, manifest=manifest, rows=len(rows), rows_expected=expected,
        hardware=hardware, date=date, started_at=str(started) if started else None, partial=bool(problems),
        why_partial="; ".join(problems),
        schema_versions=sorted({str(r["schema_version"]) for r in rows}),
        models=sorted({str(r["model_id"]) for r in rows}),
        scenarios=sorted({str(r["scenario"]) for r in rows}),
        promptset_versions=sorted({str(r["promptset_version"]) for r in rows if r["promptset_version"]}),
    )
