"""The history of an archive, ready to print or render: run medians with CIs, the rolling current
value, change points per series, and the current value with its spread (pandas, see ``series``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from vlmbench.archive.changepoints import DEFAULT_MIN_SHIFT_PCT, changes as find_changes, outliers
from vlmbench.archive.noise import spread_from_medians
from vlmbench.archive.series import (DEFAULT_LAST_N, METRICS, SERIES_KEYS, add_rolling, current_values, run_medians,
                                     with_stack)


@dataclass
class History:
    medians: pd.DataFrame  # one row per (series, run), rolling current values and change flags
    current: pd.DataFrame  # one row per series
    spread: pd.DataFrame  # between-run spread per (series, metric)
    changes: pd.DataFrame  # one row per change point: series, metric, run_id, run_time, before, after, shift_pct
    outliers: pd.DataFrame  # one row per outlier run: series, metric, run_id, run_time, value, shift_pct


def _change_points(medians: pd.DataFrame, spread: pd.DataFrame,
                   min_shift_pct: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(change points, outlier runs) of every series and metric: before / after are the medians of
    the two segments the detector compared (outliers left out), shift_pct their change; an
    outlier's shift_pct is its distance from the median of its series."""
    keys = list(SERIES_KEYS)
    records, odd = [], []
    for metric in METRICS:
        sig = spread[spread["metric"] == metric.column].set_index(keys)["sigma"]
        for cell, rows in medians.groupby(keys, dropna=False, sort=True):
            logs = np.log(rows[metric.column].to_numpy(dtype=float))
            sigma = float(sig.get(cell, np.nan))
            base = {**dict(zip(keys, cell)), "metric": metric.column, "label": metric.label}
            for c in find_changes(logs, sigma, min_shift_pct):
                records.append({**base, "run_id": rows["run_id"].iloc[c.index], "run_time": rows["run_time"].iloc[c.index],
                                "before": float(np.exp(c.before)), "after": float(np.exp(c.after)),
                                "shift_pct": c.shift_pct})
            if np.isfinite(logs).all():
                for i in outliers(logs, sigma):
                    odd.append({**base, "run_id": rows["run_id"].iloc[i], "run_time": rows["run_time"].iloc[i],
                                "value": float(rows[metric.column].iloc[i]),
                                "shift_pct": 100.0 * float(np.expm1(logs[i] - np.median(logs)))})
    return (pd.DataFrame.from_records(records, columns=keys + ["metric", "label", "run_id", "run_time", "before",
                                                               "after", "shift_pct"]),
            pd.DataFrame.from_records(odd, columns=keys + ["metric", "label", "run_id", "run_time", "value",
                                                           "shift_pct"]))


def build_history(frame: pd.DataFrame, last_n: int = DEFAULT_LAST_N, days: Optional[float] = None,
                  min_shift_pct: float = DEFAULT_MIN_SHIFT_PCT) -> History:
    medians = add_rolling(run_medians(frame), last_n)
    spread = spread_from_medians(medians)
    changes, odd = _change_points(medians, spread, min_shift_pct)
    for name, found in (("change_metrics", changes), ("outlier_metrics", odd)):
        flags = found.groupby(["run_id", *SERIES_KEYS], dropna=False)["metric"].agg(lambda s: ",".join(s))
        medians = medians.join(flags.rename(name), on=["run_id", *SERIES_KEYS])
    current = current_values(medians, last_n, days)
    wide = spread.pivot_table(index=list(SERIES_KEYS), columns="metric", values="spread_pct", dropna=False)
    wide.columns = [f"{c}_spread_pct" for c in wide.columns]
    current = current.join(wide, on=list(SERIES_KEYS))
    return History(with_stack(medians), with_stack(current), spread, changes, odd)
