"""``predictions.csv``: predicted figures, in their own file with their own schema version.

Predicted rows never share a file with measured ones: the version column is
``predictions_schema_version`` (a requests.csv has ``schema_version``), every row says
``source=predicted`` with the profile and its kind, and each reader refuses the other's file
with a one-line message.

Versions (a new column is a new version; the reader reads every released one):

- 1: the first release;
- 2: names the memory prediction for what it predicts, ``peak_allocated_mb`` (version 1:
  ``peak_memory_mb``, the name the reports give the headline NVML peak memory; it is the
  allocated memory of ``results.selection``: CUDA allocated on GPUs, peak RSS on the CPU), and
  appends ``validation`` ("held out by model, same machine" | "unvalidated") and
  ``interval_level`` (what the ``_lo``/``_hi`` interval claims: "80 % interval from held-out models
  on this machine (N models)" | "prior, coverage unknown"). Version-1 rows read back with
  ``validation`` "unvalidated" and ``interval_level`` "prior, coverage unknown" for spec-sheet and
  micro-benchmark profiles (nothing measured was behind them, their intervals were priors), and
  "not recorded (predictions schema 1)" in both for calibrated ones.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable, Optional

from vlmbench.errors import SchemaError
from vlmbench.vocab.files import write_atomic
from vlmbench.predict.claims import PRIOR, UNVALIDATED

VERSION_COLUMN = "predictions_schema_version"
TIME_STAGES = ("preprocess_ms", "vision_ms", "prefill_ms", "ttft_ms", "tpot_ms", "e2e_ms")
STAGES = (*TIME_STAGES, "peak_allocated_mb")


def _columns(stages: tuple[str, ...]) -> tuple[str, ...]:
    return (
        VERSION_COLUMN, "source", "model_id", "prompt_id", "batch_size", "max_new_tokens", "dtype",
        "profile", "profile_kind", "device", "stack", "n_prompt_tokens", "n_image_tokens", "twin",
        *[c for s in stages for c in (s, f"{s}_lo", f"{s}_hi")],
        "fits_memory", "vision_gflop", "prefill_gflop", "decode_bytes_per_step_mb", "weights_mb", "trace_coverage",
    )


COLUMNS_V1: tuple[str, ...] = _columns((*TIME_STAGES, "peak_memory_mb"))
COLUMNS_V2: tuple[str, ...] = _columns(STAGES) + ("validation", "interval_level")
RENAMED_V1 = {f"peak_memory_mb{s}": f"peak_allocated_mb{s}" for s in ("", "_lo", "_hi")}  # v1 name -> v2
VERSIONS: dict[str, tuple[str, ...]] = {"1": COLUMNS_V1, "2": COLUMNS_V2}
PREDICTIONS_SCHEMA_VERSION = "2"  # what this vlmbench writes
COLUMNS = VERSIONS[PREDICTIONS_SCHEMA_VERSION]
NOT_RECORDED = "not recorded (predictions schema 1)"
_INT = {"batch_size", "max_new_tokens", "n_prompt_tokens", "n_image_tokens"}
_STR = {VERSION_COLUMN, "source", "model_id", "prompt_id", "dtype", "profile", "profile_kind", "device", "stack", "twin",
        "validation", "interval_level"}


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)


def _parse(name: str, text: str) -> Any:
    if text == "":
        return None
    if name in _STR:
        return text
    if name == "fits_memory":
        return text == "true"
    if name in _INT:
        return int(text)
    return float(text)


def write_predictions(rows: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write atomically (temporary file + rename)."""
    path = Path(path)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        if r.get("source") != "predicted":
            raise ValueError("predictions.csv holds predicted rows only")
        r = dict(r, **{VERSION_COLUMN: PREDICTIONS_SCHEMA_VERSION})
        w.writerow([_cell(c, r.get(c)) for c in COLUMNS])
    write_atomic(path, buf.getvalue())
    return path


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if p.is_dir():
        p = p / "predictions.csv"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{p}: no such predictions file") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or VERSION_COLUMN not in header:
        hint = " (this is a requests.csv of measured rows)" if header and "schema_version" in header else ""
        raise SchemaError(f"{p}: not a vlmbench predictions file (no {VERSION_COLUMN} column){hint}")
    rows: list[dict[str, Any]] = []
    at = header.index(VERSION_COLUMN)
    for lineno, cells in enumerate(reader, start=2):
        version = cells[at] if at < len(cells) else ""
        if version not in VERSIONS:
            raise SchemaError(f"{p}:{lineno}: predictions schema version {version!r} is not one this vlmbench "
                              f"reads ({', '.join(VERSIONS)})")
        if tuple(header) != VERSIONS[version]:
            raise SchemaError(f"{p}: header does not match predictions schema {version}")
        if len(cells) != len(header):
            raise SchemaError(f"{p}:{lineno}: {len(cells)} cells, the header has {len(header)}")
        row = {c: _parse(c, v) for c, v in zip(header, cells)}
        if row.get("source") != "predicted":
            raise SchemaError(f"{p}:{lineno}: source {row.get('source')!r}, expected 'predicted'")
        rows.append(_upgrade(row, version))
    return rows


def _upgrade(row: dict[str, Any], version: str) -> dict[str, Any]:
    """A row of an older version with the current version's keys (see the module docstring)."""
    if version == "1":
        row = {RENAMED_V1.get(k, k): v for k, v in row.items()}
        prior_only = row.get("profile_kind") in ("spec", "micro-benchmark")  # never had held-out intervals
        row = dict(row, validation=UNVALIDATED if prior_only else NOT_RECORDED,
                   interval_level=PRIOR if prior_only else NOT_RECORDED)
    return row


def first_value(rows: list[dict[str, Any]], key: str) -> Optional[Any]:
    return next((r[key] for r in rows if r.get(key) is not None), None)
