"""``load(paths) -> pandas.DataFrame``: every measured row of some runs, typed by the schema.

The one public loader for analysis (report, compare, site, archive, predictor validation, and
users' own notebooks). Rows come through :func:`vlmbench.results.reader.iter_rows`, so a file
this version cannot read is refused with the same message as everywhere else, and a torn last
line is dropped.

Types follow the schema's column kinds: ``int`` -> ``Int64``, ``float`` -> ``float64`` (empty
is NaN, pandas' missing marker for floats), ``bool`` -> ``boolean``, ``str`` -> ``string``;
``started_at`` is a UTC ``datetime64``. Empty cells are missing values (``isna()``), never 0.
Two columns are added that are not in the CSV: ``source_file`` (the ``requests.csv`` the row
came from) and ``run_dir`` (its folder).

What a path may be: a ``requests.csv`` file; a run folder holding one; or any folder above run
folders (a campaign's ``results/<campaign>/``), searched recursively; or an archive (a folder
with an ``index.json``, see :mod:`vlmbench.results.archive_index`), read through its index: only
indexed runs (never a half-copied one), with ``ARCHIVE_COLUMNS`` added from their index entries:
``partial`` (published with ``--allow-partial`` and rows missing), ``archive_date`` (the run's
date folder, ``YYYY-MM-DD``), ``run_started_at`` (the run's start from its manifest, UTC
datetime). Those columns are missing values for rows loaded from plain run folders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Union

import pandas as pd

from vlmbench.errors import SchemaError
from vlmbench.results.archive_index import is_archive, read_index
from vlmbench.results.reader import REQUESTS_FILE, iter_rows
from vlmbench.results.schema import COLUMNS

PathLike = Union[str, os.PathLike]

_DTYPES = {"int": "Int64", "float": "float64", "bool": "boolean", "str": "string"}
EXTRA_COLUMNS = ("source_file", "run_dir")
ARCHIVE_COLUMNS = ("partial", "archive_date", "run_started_at")


def requests_files(paths: Union[PathLike, Iterable[PathLike]]) -> list[Path]:
    """The ``requests.csv`` files named by ``paths`` (files, run folders, folders above them)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            found.append(p)
        elif (p / REQUESTS_FILE).is_file():
            found.append(p / REQUESTS_FILE)
        elif p.is_dir():
            below = sorted(q for q in p.rglob(REQUESTS_FILE) if q.is_file())
            if not below:
                raise SchemaError(f"{p}: no {REQUESTS_FILE} in this folder or below it")
            found.extend(below)
        else:
            raise SchemaError(f"{p}: no such results file or folder")
    seen: set[Path] = set()
    unique = []
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def empty_frame() -> pd.DataFrame:
    """A frame with every column and no rows, typed like a loaded one."""
    return typed(pd.DataFrame(columns=[c.name for c in COLUMNS] + list(EXTRA_COLUMNS)))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a frame of raw row values (None for empty) to the schema's types."""
    out = frame.copy()
    for col in COLUMNS:
        if col.name not in out.columns:
            out[col.name] = None
        values = out[col.name]
        if col.kind == "float":
            out[col.name] = pd.to_numeric(values, errors="raise").astype("float64")
        else:
            out[col.name] = values.astype(_DTYPES[col.kind])
    out["started_at"] = pd.to_datetime(out["started_at"], utc=True, errors="coerce", format="ISO8601")
    for extra in EXTRA_COLUMNS:
        if extra in out.columns:
            out[extra] = out[extra].astype("string")
    return out


def _archive_files(archive: Path) -> list[tuple[Path, dict]]:
    """(requests.csv, archive metadata) of every run in an archive's index."""
    out = []
    for entry in read_index(archive)["runs"]:
        meta = {"partial": bool(entry.get("partial")), "archive_date": entry.get("date"),
                "run_started_at": entry.get("started_at")}
        out.append((archive / entry["path"] / REQUESTS_FILE, meta))
    return out


def load(paths: Union[PathLike, Iterable[PathLike]]) -> pd.DataFrame:
    """All rows under ``paths`` as one typed DataFrame (see the module docstring)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    sources: list[tuple[Path, dict]] = []
    for raw in paths:
        if Path(raw).is_dir() and is_archive(raw):
            sources.extend(_archive_files(Path(raw)))
        else:
            sources.extend((f, {}) for f in requests_files([raw]))
    records = []
    seen: set[Path] = set()
    for f, meta in sources:
        if f.resolve() in seen:
            continue
        seen.add(f.resolve())
        for row in iter_rows(f):
            row["source_file"] = str(f)
            row["run_dir"] = str(f.parent)
            row.update(meta)
            records.append(row)
    if not records:
        return empty_frame()
    frame = typed(pd.DataFrame.from_records(records))
    if any(meta for _, meta in sources):
        frame["partial"] = frame["partial"].astype("boolean")
        frame["archive_date"] = frame["archive_date"].astype("string")
        frame["run_started_at"] = pd.to_datetime(frame["run_started_at"], utc=True, errors="coerce",
                                                 format="ISO8601")
    return frame
