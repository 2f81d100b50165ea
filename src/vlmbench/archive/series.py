"""History: the series of run medians per model x hardware x scenario x prompt-set version, and
the current value of each series. pandas throughout (groupby, rolling, quantiles).

- Rows used: the warm ok rows of :mod:`vlmbench.results.selection`, as everywhere in the reports.
- Run median of a metric: the median of that run's warm rows of the cell, with the percentile
  bootstrap CI of :func:`vlmbench.analysis.statistics.bootstrap_median_ci` **stratified by prompt**:
  a history compares runs of the same prompts, so the CI says how far this prompt set's median
  moves when the same prompts are measured again: each resample redraws every prompt's repeats
  (observations, :func:`vlmbench.analysis.observations.observation_labels`: the rows of one
  batched call together) within that prompt (:func:`~vlmbench.analysis.observations.observation_strata`),
  never one prompt in another's place. The single-run report's CI resamples across prompts (the
  typical request of the prompt set), which here added the spread between prompts that is the
  same in every run. No CI from a single observation, nor where each prompt was measured once
  (the reason is shown instead). Peak memory is the run's maximum over its ok rows instead, the cold
  one included (a peak, not a distribution; ``results.selection``), without CI.
- Run time: the run's ``started_at`` from its manifest (``run_started_at``, archives), else the
  earliest row's ``started_at``.
- Current value: the median of the series' last ``last_n`` run medians, or of the run medians of
  the last ``days`` days before the newest run when ``days`` is given; shown with its spread (min,
  max, and the between-run spread of :mod:`vlmbench.archive.noise`).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Optional

import numpy as np
import pandas as pd

from vlmbench.analysis.observations import observation_labels, observation_strata
from vlmbench.analysis.statistics import bootstrap_median_ci, ci_missing_reason
from vlmbench.results.selection import PEAK_MEMORY, ok_mask, warm_ok, with_peak_memory
from vlmbench.vocab.metrics import Metric, metrics

CELL_KEYS: tuple[str, ...] = ("model_id", "hardware", "scenario", "promptset_version")
# Everything else that changes the numbers: a run differing in any of these starts a new series
# (the gate says "configuration changed: KEY old -> new; no baseline"). The scenario already
# holds the batch size, output length and load mode (concurrency or rate); ``device`` is the
# endpoint's host for endpoint runs; ``prompts`` is a hash of the cell's prompt subset (the
# prompt-set version pins each prompt's content: its images are sha256-checked at load).
CONFIG_COLUMNS: tuple[str, ...] = ("backend", "device", "dtype", "attn", "cache", "compile", "weights",
                                   "processor_kind", "cache_bust", "length_enforced", "stack")
CONFIG = "config"
SERIES_KEYS: tuple[str, ...] = CELL_KEYS + (CONFIG,)
DEFAULT_LAST_N = 5


METRICS: tuple[Metric, ...] = metrics("ttft_ms", "ttft_user_ms", "tpot_ms", "decode_tps", PEAK_MEMORY)
METRIC_BY_COLUMN = {m.column: m for m in METRICS}


def warm_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The warm ok rows (``results.selection``) with each row's headline ``peak_memory_mb``."""
    return with_peak_memory(warm_ok(frame))


# In-process rows written before schema version 3 carry no stack; they were ``hf``: the same series.
_SAME_AS_EMPTY = {"stack": "hf"}


def with_config(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a ``config`` column: ``key=value; ...`` over :data:`CONFIG_COLUMNS` and the
    hash of the prompt subset of the row's (run, cell), the same on every row of one run's cell."""
    out = rows.copy()
    if out.empty:
        out[CONFIG] = pd.Series([], dtype="object")
        return out
    config = None
    for c in CONFIG_COLUMNS:
        value = out[c].astype("string").fillna("") if c in out.columns else ""
        if c in _SAME_AS_EMPTY and c in out.columns:
            value = value.where(value != _SAME_AS_EMPTY[c], "")
        part = f"{c}=" + value
        config = part if config is None else config + "; " + part
    if "prompt_id" in out.columns:
        by = [out[k].astype("string").fillna("") for k in (*CELL_KEYS, "run_id") if k in out.columns]
        groups = out["prompt_id"].astype("string").fillna("").groupby(by, dropna=False, sort=False)
        hashes = groups.agg(lambda s: hashlib.sha256("\n".join(sorted(set(s))).encode()).hexdigest()[:10])
        subset = hashes.to_numpy()[groups.ngroup().to_numpy()]
        config = config + "; prompts=" + pd.Series(subset, index=out.index, dtype="string")
    out[CONFIG] = config.astype(str).astype("object")
    return out


def parse_config(config: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in str(config).split("; ") if "=" in part)


UNKNOWN_STACK = "not recorded"


def stack_of(config: str) -> str:
    """A series' serving stack, from its configuration: ``hf`` (in-process; rows before schema version 3
    carry none), an engine's ``<name>-<version>+<recipe>``, ``endpoint:<kind>``; endpoint rows before schema
    version 3 did not record it."""
    parts = parse_config(config)
    return parts.get("stack") or ("hf" if parts.get("backend") == "hf" else UNKNOWN_STACK)


def with_stack(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (series rows with a ``config`` column) with a ``stack`` column: stacks are an axis of the
    leaderboard, never pooled (they are already apart in the series keys, through ``config``)."""
    out = frame.copy()
    out["stack"] = [stack_of(c) for c in out[CONFIG]] if len(out) else pd.Series([], dtype="object")
    return out


def config_changes(old: str, new: str) -> list[str]:
    """``KEY old -> new`` for each configuration field that differs between two ``config`` values."""
    a, b = parse_config(old), parse_config(new)
    return [f"{k} {a.get(k) or '–'} -> {b.get(k) or '–'}" for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]


def _ci(values: pd.Series, units: pd.Series, strata: pd.Series) -> tuple[float, float]:
    """Bootstrap CI of the median, resampling observations (a batched call's rows together) within
    each prompt."""
    ci = bootstrap_median_ci(values.tolist(), clusters=units.tolist(), strata=strata.tolist())
    return ci if ci is not None else (np.nan, np.nan)


def run_medians(frame: pd.DataFrame, keys: tuple[str, ...] = SERIES_KEYS, ci: bool = True) -> pd.DataFrame:
    """One row per (cell, run): ``run_time``, ``n`` warm rows, ``observations`` (independent units
    among them), ``size_class`` (tiny | real | empty, schema v2), and per metric its run median with
    ``<metric>_lo``/``<metric>_hi`` (bootstrap CI; empty from a single observation, or with
    ``ci=False``), sorted by cell then time."""
    ok = warm_rows(frame)
    if CONFIG in keys:
        ok = with_config(ok)
    by = list(keys) + ["run_id"]
    if ok.empty:
        return pd.DataFrame(columns=by + ["run_time", "n", "observations", "most_per_prompt", "size_class", "partial"]
                            + [f"{m.column}{s}" for m in METRICS for s in ("", "_lo", "_hi")])
    ok = ok.assign(_unit=observation_labels(ok), _stratum=observation_strata(ok))
    groups = ok.groupby(by, dropna=False, sort=False)
    out = groups[[m.column for m in METRICS if m.distribution]].median()
    # a run's peak memory is the maximum over its ok rows, the cold one included (results.selection);
    # the configuration is one per (cell, run), so the peaks are matched on the cell and the run
    peak_by = [k for k in by if k != CONFIG]
    peaks = with_peak_memory(frame[ok_mask(frame)]).groupby(peak_by, dropna=False, sort=False)[PEAK_MEMORY].max()
    out[PEAK_MEMORY] = peaks.reindex(out.index.droplevel(CONFIG) if CONFIG in keys else out.index).to_numpy()
    for m in METRICS:
        if m.distribution and not ci:
            out[f"{m.column}_lo"] = out[f"{m.column}_hi"] = np.nan
        elif m.distribution:  # groups iterate in the order of the medians above (sort=False)
            ci = [_ci(pd.to_numeric(g[m.column], errors="coerce"), g["_unit"], g["_stratum"]) for _, g in groups]
            out[f"{m.column}_lo"] = np.asarray([c[0] for c in ci], dtype="float64")
            out[f"{m.column}_hi"] = np.asarray([c[1] for c in ci], dtype="float64")
        else:
            out[f"{m.column}_lo"] = out[f"{m.column}_hi"] = np.nan  # a peak, not a median: no CI
    started = pd.to_datetime(groups["started_at"].min(), utc=True)
    if "run_started_at" in ok.columns:
        started = groups["run_started_at"].first().fillna(started)
    out["run_time"] = started
    out["n"] = groups.size()
    out["observations"] = groups["_unit"].nunique()  # independent units: fewer than 2 gives no CI
    # the most observations of one prompt: 1 (each prompt measured once) gives no within-prompt CI
    out["most_per_prompt"] = ok.groupby(by + ["_stratum"], dropna=False, sort=False)["_unit"].nunique() \
        .groupby(level=list(range(len(by))), dropna=False, sort=False).max()
    out["size_class"] = groups["size_class"].first() if "size_class" in ok.columns else None
    out["partial"] = groups["partial"].first().fillna(False).astype(bool) if "partial" in ok.columns else False
    out["run_dir"] = groups["run_dir"].first()
    return out.reset_index().sort_values(list(keys) + ["run_time", "run_id"], kind="mergesort",
                                          ignore_index=True)


def ci_text(row: pd.Series, column: str, fmt: Callable[[float], str] = lambda v: f"{v:.4g}") -> str:
    """A run median's CI as ``[lo-hi]``, or why it has none in brackets (a single observation,
    a peak); '' for no value."""
    value, lo, hi = row.get(column), row.get(f"{column}_lo"), row.get(f"{column}_hi")
    if value is None or value != value:
        return ""
    if lo is not None and lo == lo and hi is not None and hi == hi:
        return f"[{fmt(lo)}-{fmt(hi)}]"
    metric = METRIC_BY_COLUMN.get(column)
    if metric is not None and not metric.distribution:
        return "(a peak: no CI)"
    units, most = row.get("observations"), row.get("most_per_prompt")
    reason = ci_missing_reason(int(units), int(most) if most is not None and most == most else None) \
        if units is not None and units == units else ""
    return f"({reason or 'no CI'})"


def add_rolling(medians: pd.DataFrame, last_n: int = DEFAULT_LAST_N,
                keys: tuple[str, ...] = SERIES_KEYS) -> pd.DataFrame:
    """``<metric>_current``: at each run, the median of that run's and the previous runs' medians
    (``last_n`` at most) of its series (a rolling median)."""
    out = medians.copy()
    grouped = out.groupby(list(keys), dropna=False, sort=False)
    for m in METRICS:
        out[f"{m.column}_current"] = grouped[m.column].transform(
            lambda s: s.rolling(last_n, min_periods=1).median())
    return out


def recent(medians: pd.DataFrame, last_n: int = DEFAULT_LAST_N, days: Optional[float] = None,
           keys: tuple[str, ...] = SERIES_KEYS) -> pd.DataFrame:
    """The run medians the current value is taken from: the last ``last_n`` runs of each series,
    or (``days`` given) those within ``days`` days of the series' newest run."""
    grouped = medians.groupby(list(keys), dropna=False, sort=False)
    if days is None:
        return grouped.tail(last_n)
    newest = grouped["run_time"].transform("max")
    return medians[medians["run_time"] >= newest - pd.Timedelta(days=days)]


def current_values(medians: pd.DataFrame, last_n: int = DEFAULT_LAST_N, days: Optional[float] = None,
                   keys: tuple[str, ...] = SERIES_KEYS) -> pd.DataFrame:
    """One row per series: ``runs`` (in the window), ``first``/``last`` run time, ``last_run_id``,
    ``size_class`` (of its newest run),
    and per metric ``<m>`` (median of run medians), ``<m>_min``, ``<m>_max``, ``<m>_q25``, ``<m>_q75``."""
    window = recent(medians, last_n, days, keys)
    grouped = window.groupby(list(keys), dropna=False, sort=True)
    out = pd.DataFrame({"runs": grouped.size(), "first": grouped["run_time"].min(),
                        "last": grouped["run_time"].max(), "last_run_id": grouped["run_id"].last()})
    if "size_class" in window.columns:
        out["size_class"] = grouped["size_class"].last()
    for m in METRICS:
        col = grouped[m.column]
        out[m.column] = col.median()
        out[f"{m.column}_min"] = col.min()
        out[f"{m.column}_max"] = col.max()
        out[f"{m.column}_q25"] = col.quantile(0.25)
        out[f"{m.column}_q75"] = col.quantile(0.75)
    return out.reset_index()
