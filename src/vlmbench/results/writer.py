"""Append-only, crash-safe writer of ``requests.csv``.

Each row is formatted completely in memory and handed to the kernel in a single ``write``
on a file opened with ``O_APPEND``, then the file is flushed: a killed process leaves at
most one torn final line, which :func:`vlmbench.results.reader.read_rows` drops.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any, Mapping

from vlmbench.errors import SchemaError
from vlmbench.results.csvsafe import neutralise
from vlmbench.results.schema import COLUMN_BY_NAME, COLUMN_NAMES, SCHEMA_VERSION
from vlmbench.vocab.files import write_atomic


def format_cell(name: str, value: Any) -> str:
    """Format one value for the CSV: empty for missing, never a sentinel number."""
    if value is None:
        return ""
    kind = COLUMN_BY_NAME[name].kind
    if kind == "bool":
        return "true" if bool(value) else "false"
    if kind == "float":
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return ""
        return f"{value:.7g}"  # 7 significant digits, so small ratios keep their precision
    if kind == "int":
        return str(int(value))
    return neutralise(str(value))


def format_row(row: Mapping[str, Any]) -> str:
    unknown = set(row) - set(COLUMN_NAMES)
    if unknown:
        raise KeyError(f"row has columns the schema does not define: {sorted(unknown)}")
    cells = [format_cell(n, row.get(n)) for n in COLUMN_NAMES]
    cells[0] = SCHEMA_VERSION
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def header_line() -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(COLUMN_NAMES)
    return buf.getvalue()


def _cut_torn_tail(path: Path) -> None:
    """Remove a last line without its newline (a write cut short by a kill) before appending."""
    if not path.exists():
        return
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                fh.truncate(start + cut + 1)
                return
            pos = start
        fh.truncate(0)


class RowWriter:
    """Appends rows to one CSV file; writes the header when the file is new or empty."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size == 0:
            self._write(header_line())
        else:
            self._refuse_other_header()
        self.rows_written = 0

    def _refuse_other_header(self) -> None:
        """Appending rows of this version under another version's header would tear the file."""
        with open(self.path, encoding="utf-8", newline="") as fh:
            first = fh.readline()
        if first != header_line():
            os.close(self._fd)
            self._fd = -1
            raise SchemaError(f"{self.path}: written with another schema version (header differs from version "
                              f"{SCHEMA_VERSION}); resume or append with the vlmbench release that wrote it")

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # regular files write fully; be correct regardless
            written += os.write(self._fd, data[written:])

    def write(self, row: Mapping[str, Any]) -> None:
        self._write(format_row(row))
        self.rows_written += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "RowWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drop_rows(path: str | os.PathLike, request_ids: set[str]) -> dict[str, int]:
    """Remove the rows of ``request_ids`` from a requests.csv (a resumed campaign re-measures them):
    every other line is kept as it is (re-quoted the way :func:`format_row` writes), the file is
    replaced atomically (vocab.files.write_atomic). Returns the removed rows' count per status."""
    path = Path(path)
    if not request_ids or not path.exists():
        return {}
    _cut_torn_tail(path)
    with open(path, encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))
    if not records:
        return {}
    header, body = records[0], records[1:]
    at_id, at_status = header.index("request_id"), header.index("status")
    removed: dict[str, int] = {}
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for cells in body:
        if len(cells) > at_id and cells[at_id] in request_ids:
            removed[cells[at_status]] = removed.get(cells[at_status], 0) + 1
            continue
        out.writerow(cells)
    if not removed:
        return {}
    write_atomic(path, buf.getvalue())
    return removed
