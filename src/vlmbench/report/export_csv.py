"""Write derived tables (summary, comparison) as CSV that spreadsheets open safely.

Numbers are written as plain decimals (floats rounded to 4 places); missing values are empty
cells, never 0; every string cell goes through :func:`vlmbench.results.csvsafe.neutralise`, so a
cell such as ``=HYPERLINK(...)`` is written as ``'=HYPERLINK(...)`` and never runs as a formula.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from vlmbench.results.csvsafe import neutralise


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 4))
    return neutralise(str(value))


def write_csv(path: str | os.PathLike, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``rows`` (dicts) under the header ``columns``; returns the path written."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([format_value(row.get(c)) for c in columns])
    return out
