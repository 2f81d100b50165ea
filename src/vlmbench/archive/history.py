"""The history of an archive, ready to print or render: run medians with CIs, the rolling current
value, change points per series, and the current value with its spread (pandas, see ``series``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from vlmbench.archive.changepoints import DEFAULT_MIN_SHIFT_PCT, detect
from vlmbench.archive.noise import spread_from_medians
from vlmbench.archive.series import DEFAULT_LAST_N, METRICS, SERIES_KEYS, add_rolling, current_values, run_medians


@dataclass
class History:
    medians: pd.DataFrame  # one row per (series, run), rolling current values and change flags
    current: pd.DataFrame  # one row per series
    spread: pd.DataFrame  # between-run spread per (series, metric)
    changes: pd.DataFrame  # one row per change point: series, metric, run_id, run_time, before, after, shift_pct


def _change_points(medians: pd.DataFrame, spread: pd.DataFrame, min_shift_pct: float) -> pd.DataFrame:
    keys = list(SERIES_KEYS)
    records = []
    for metric in METRICS:
        sig = spread[spread["metric"] == metric.column].set_index(keys)["sigma"]
        for cell, rows in medians.groupby(keys, dropna=False, sort=True):
            logs = np.log(rows[metric.column].to_numpy(dtype=float))
            for i in detect(logs, float(sig.get(cell, np.nan)), min_shift_pct):
                before = float(np.median(rows[metric.column].iloc[:i]))
                after = float(np.median(rows[metric.column].iloc[i:]))
                records.append({**dict(zip(keys, cell)), "metric": metric.column, "label": metric.label,
                                "run_id": rows["run_id"].iloc[i], "run_time": rows["run_time"].iloc[i],
                                "before": before, "after": after, "shift_pct": 100.0 * (after / before - 1.0)})
    return pd.DataFrame.from_records(records, columns=keys + ["metric", "label", "run_id", "run_time", "before",
                                                              "after", "shift_pct"])


def build_history(frame: pd.DataFrame, last_n: int = DEFAULT_LAST_N, days: Optional[float] = None,
                  min_shift_pct: float = DEFAULT_MIN_SHIFT_PCT) -> History:
    medians = add_rolling(run_medians(frame), last_n)
    spread = spread_from_medians(medians)
    changes = _change_points(medians, spread, min_shift_pct)
    flags = changes.groupby(["run_id", *SERIES_KEYS], dropna=False)["metric"].agg(lambda s: ",".join(s))
    medians = medians.join(flags.rename("change_metrics"), on=["run_id", *SERIES_KEYS])
    current = current_values(medians, last_n, days)
    wide = spread.pivot_table(index=list(SERIES_KEYS), columns="metric", values="spread_pct", dropna=False)
    wide.columns = [f"{c}_spread_pct" for c in wide.columns]
    current = current.join(wide, on=list(SERIES_KEYS))
    return History(medians, current, spread, changes)
