"""Which rows a latency statistic may use, beyond ``status == ok`` and not ``cold``.

An endpoint load window's ramp and drain rows (``window_edge``, schema v3: METRICS.md, "Load
windows") ran at a load other than the window's own; they are kept in the rows and counted, and
left out of every latency statistic (the report's and the archive's).
"""

from __future__ import annotations

import pandas as pd


def is_edge(frame: pd.DataFrame) -> pd.Series:
    """Per row (same index): True for a load window's ramp or drain row (``window_edge`` set)."""
    if "window_edge" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["window_edge"].astype("string").fillna("") != ""
