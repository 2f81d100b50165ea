"""Read ``requests.csv`` files back into typed rows, refusing what this version cannot read."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Iterator

from vlmbench.errors import SchemaError
from vlmbench.results.csvsafe import restore
from vlmbench.results.schema import COLUMN_BY_NAME, COLUMN_NAMES, COLUMNS_BY_VERSION, READABLE_VERSIONS

REQUESTS_FILE = "requests.csv"


def parse_cell(name: str, text: str) -> Any:
    if text == "":
        return None
    kind = COLUMN_BY_NAME[name].kind
    if kind == "bool":
        return text == "true"
    if kind == "float":
        return float(text)
    if kind == "int":
        return int(text)
    return restore(text)


def requests_path(path: str | os.PathLike) -> Path:
    """Accept a run directory or a requests.csv path."""
    p = Path(path)
    if p.is_dir():
        p = p / REQUESTS_FILE
    if not p.exists():
        raise SchemaError(f"{p}: no such results file")
    return p


def header_names(version: str) -> tuple[str, ...]:
    """The CSV header a file of schema ``version`` has."""
    return tuple(c.name for c in COLUMNS_BY_VERSION[version])


def iter_rows(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Yield typed rows with every current column (those an older version lacks are None).

    A final line without newline (a torn write) is dropped. ``schema_version`` keeps the
    version the row was written with.
    """
    p = requests_path(path)
    with open(p, newline="", encoding="utf-8") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    reader = csv.reader(lines)
    header = next(reader)
    if "schema_version" not in header:
        raise SchemaError(f"{p}: not a vlmbench requests file (no schema_version column)")
    version_at = header.index("schema_version")
    for lineno, cells in enumerate(reader, start=2):
        version = cells[version_at] if version_at < len(cells) else ""
        if version not in READABLE_VERSIONS:
            raise SchemaError(
                f"{p}:{lineno}: schema version {version!r} is not one this vlmbench reads "
                f"({', '.join(READABLE_VERSIONS)}); use the vlmbench release that wrote it"
            )
        expected = header_names(version)
        if tuple(header) != expected:
            missing = [c for c in expected if c not in header]
            extra = [c for c in header if c not in expected]
            raise SchemaError(
                f"{p}: header does not match schema version {version}: "
                f"missing {missing or 'none'}, unknown {extra or 'none'}"
            )
        if len(cells) != len(header):
            raise SchemaError(f"{p}:{lineno}: {len(cells)} cells, expected {len(header)}")
        row = dict.fromkeys(COLUMN_NAMES)
        row.update((name, parse_cell(name, cell)) for name, cell in zip(header, cells))
        yield row


def read_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    return list(iter_rows(path))
