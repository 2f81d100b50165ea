"""The independent observation each request row belongs to, for bootstrap intervals.

The B rows of one in-process generate call at batch B > 1 share their timings (one prefill, one
decode loop): they are one observation, labelled by their ``window_id``. Every other row is its
own observation: in-process rows at batch 1 (one window each), and endpoint rows, whose
``window_id`` names the whole load window of a scenario (many separately timed requests, so not
a unit to resample as one).

:func:`observation_strata`: the prompts each observation measured (its stratum), for a bootstrap
that keeps the prompt set fixed (:func:`vlmbench.analysis.statistics.bootstrap_median_ci`).
"""

from __future__ import annotations

import pandas as pd

from vlmbench.backends import capabilities


def _shared(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(rows whose batched call is one observation, their window id)."""
    window = rows["window_id"].astype("string") if "window_id" in rows else pd.Series(pd.NA, index=rows.index,
                                                                                       dtype="string")
    batch = pd.to_numeric(rows["batch_size"], errors="coerce") if "batch_size" in rows \
        else pd.Series(1, index=rows.index)
    in_process = rows["backend"].map(lambda b: capabilities(b).in_process).astype(bool) if "backend" in rows \
        else pd.Series(True, index=rows.index)
    return (batch.fillna(1) > 1) & window.notna() & in_process, window


def observation_strata(rows: pd.DataFrame) -> pd.Series:
    """Per row (same index) the prompts its observation measured: the row's ``prompt_id``, or for
    a batched call's rows the sorted prompt ids of the call; every row of one observation gets
    the same label."""
    index = pd.Series(rows.index.astype(str), index=rows.index)
    prompt = rows["prompt_id"].astype("string").fillna(index) if "prompt_id" in rows else index
    shared, window = _shared(rows)
    if not shared.any():
        return prompt.astype("object")
    run = rows["run_id"].astype("string").fillna("") if "run_id" in rows else pd.Series("", index=rows.index)
    key = run + "|" + window.fillna("")
    together = prompt.groupby(key).transform(lambda s: "+".join(sorted(set(s))))
    return prompt.where(~shared, together).astype("object")


def observation_labels(rows: pd.DataFrame) -> pd.Series:
    """Per row (same index) a label shared exactly by the rows of one observation:
    ``run_id|window_id`` at batch > 1 in-process, else ``run_id|request_id`` (the row's index
    where a row has neither)."""
    index = pd.Series(rows.index.astype(str), index=rows.index)
    run = rows["run_id"].astype("string").fillna("") if "run_id" in rows else pd.Series("", index=rows.index)
    request = rows["request_id"].astype("string").fillna(index) if "request_id" in rows else index
    shared, window = _shared(rows)
    label = ("r|" + request).where(~shared, "w|" + window.fillna(""))
    return (run + "|" + label).astype("object")
