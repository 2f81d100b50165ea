"""The independent observation each request row belongs to, for bootstrap intervals.

The B rows of one in-process generate call at batch B > 1 share their timings (one prefill, one
decode loop): they are one observation, labelled by their ``window_id``. Every other row is its
own observation: in-process rows at batch 1 (one window each), and endpoint rows, whose
``window_id`` names the whole load window of a scenario (many separately timed requests, so not
a unit to resample as one).
"""

from __future__ import annotations

import pandas as pd


def observation_labels(rows: pd.DataFrame) -> pd.Series:
    """Per row (same index) a label shared exactly by the rows of one observation:
    ``run_id|window_id`` at batch > 1 in-process, else ``run_id|request_id`` (the row's index
    where a row has neither)."""
    index = pd.Series(rows.index.astype(str), index=rows.index)
    run = rows["run_id"].astype("string").fillna("") if "run_id" in rows else pd.Series("", index=rows.index)
    request = rows["request_id"].astype("string").fillna(index) if "request_id" in rows else index
    window = rows["window_id"].astype("string") if "window_id" in rows else pd.Series(pd.NA, index=rows.index,
                                                                                       dtype="string")
    batch = pd.to_numeric(rows["batch_size"], errors="coerce") if "batch_size" in rows \
        else pd.Series(1, index=rows.index)
    backend = rows["backend"].astype("string").fillna("hf") if "backend" in rows \
        else pd.Series("hf", index=rows.index, dtype="string")
    shared = (batch.fillna(1) > 1) & window.notna() & (backend != "openai")
    label = ("r|" + request).where(~shared, "w|" + window.fillna(""))
    return (run + "|" + label).astype("object")
