"""Results: the versioned row schema, the crash-safe writer, the refusing reader, the manifest,
and :func:`load`, the one loader of rows into a typed pandas DataFrame for analysis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlmbench.results.schema import COLUMN_NAMES, COLUMNS, SCHEMA_VERSION, Status

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "COLUMN_NAMES", "SCHEMA_VERSION", "Status", "load"]


def load(paths: Any) -> "pd.DataFrame":
    """Every row of ``paths`` (requests.csv files, run folders, campaign folders, an archive) as a
    typed DataFrame; see :mod:`vlmbench.results.frame`. pandas is imported only when called."""
    from vlmbench.results.frame import load as _load

    return _load(paths)
