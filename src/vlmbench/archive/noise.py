"""Between-run spread: how much a cell's run median moves from one run to the next when nothing
changed but the machine's state. Per-request samples of one run cannot measure it (they share
that run's conditions), so it is learned from the archive's own series of run medians.

For a cell (``keys``) and a metric, with run medians ``m_1..m_k`` in time order:

- differences of consecutive runs ``d_i = ln m_{i+1} - ln m_i``;
- robust sigma of one run's log median: ``s = 1.4826 * median(|d_i|) / sqrt(2)`` (the MAD of
  first differences: a level shift, e.g. a real regression, moves only one difference, so it
  barely changes the estimate; an outlier run moves two);
- pooled sigma ``s_pool``: the same formula over the differences of every cell sharing the
  ``pool_by`` columns (by default the hardware), else over all cells;
- the cell's sigma shrinks its own estimate towards the pool by the number of differences it
  has: ``s^2 = (k_d s_cell^2 + K0 s_pool^2) / (k_d + K0)``, ``K0 = PRIOR_DIFFS`` (a cell with no
  history gets the pool's value, one with many gets mostly its own), and is never below the
  pool's (a noisier cell keeps its own; a cell that looks quieter by chance from a handful of
  differences does not make the gate cry wolf: measured in ``bench/gate_power.py``);
- where fewer than ``MIN_POOLED_DIFFS`` differences exist in the pool, the spread is unknown
  and ``ASSUMED_SIGMA`` (ln 1.10, i.e. 10 %) is used, marked ``assumed``.

**Outlier runs are left out first** (:func:`outlier_runs`). A single slow run moves two
consecutive differences, and a noisy neighbour slows every cell of its run at once: in a 5-run
history it moves half of the pool's differences, the MAD breaks down, and the gate caught +25 %
in only 48 % of such archives. So each run is judged against the spread its pool shows
**without it** (leave that run out of every cell of the pool: its two differences per cell are
replaced by the one that bridges it): a run more than ``OUTLIER_Z`` (4) of those sigmas from the
median of up to 3 runs on each side it has (the history's outlier rule,
:func:`vlmbench.archive.changepoints.is_outlier`) is an outlier of that cell; a run whose median
gap over the pool's cells is beyond it (a noisy neighbour: every cell a little slow, some by
less than 4 sigma) is an outlier of all of them. Outliers are left out of the differences;
``outlier_runs`` counts them per cell.

``spread_pct = 100 (exp(s) - 1)``: the typical run-to-run change of one cell's median in percent.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from vlmbench.archive.changepoints import OUTLIER_Z, outlier_gap
from vlmbench.archive.series import CONFIG, METRICS, SERIES_KEYS, run_medians, warm_rows, with_config
from vlmbench.vocab.metrics import ASSUMED_BETWEEN_RUN_PCT

MAD_TO_SIGMA = 1.4826
PRIOR_DIFFS = 4
MIN_POOLED_DIFFS = 3
ASSUMED_SIGMA = math.log1p(ASSUMED_BETWEEN_RUN_PCT / 100.0)
MIN_SIGMA = math.log(1.002)  # floor, so a series of identical copies never yields a zero spread


def _robust_sigma(abs_diffs: pd.Series) -> float:
    values = abs_diffs.dropna()
    return float(MAD_TO_SIGMA * values.median() / math.sqrt(2.0)) if len(values) else float("nan")


def _ordered_logs(medians: pd.DataFrame, keys: Sequence[str], metric: str) -> tuple[pd.DataFrame, pd.Series]:
    ordered = medians.sort_values(list(keys) + ["run_time", "run_id"], kind="mergesort")
    values = pd.to_numeric(ordered[metric], errors="coerce").astype(float)
    return ordered, np.log(values.where(values > 0))


def _pool_outliers(series: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list:
    """Index labels of the outlier runs of one pool: ``series`` holds per cell (ln medians, run ids,
    index labels), finite values in time order (module doc)."""
    base = [np.abs(np.diff(x)) for x, _, _ in series]
    offsets = np.cumsum([0] + [len(d) for d in base])
    flat = np.concatenate(base) if base else np.empty(0)
    where: dict = {}  # run id -> [(cell, position)]
    for c, (_, runs, _) in enumerate(series):
        for i, r in enumerate(runs):
            where.setdefault(r, []).append((c, i))
    out = []
    for places in where.values():
        keep = np.ones(len(flat), dtype=bool)
        bridges = []
        for c, i in places:
            x = series[c][0]
            for j in (i - 1, i):
                if 0 <= j < len(x) - 1:
                    keep[offsets[c] + j] = False
            if 0 < i < len(x) - 1:
                bridges.append(abs(x[i + 1] - x[i - 1]))
        rest = np.concatenate([flat[keep], bridges])
        if len(rest) < MIN_POOLED_DIFFS:
            continue
        sigma = max(MAD_TO_SIGMA * float(np.median(rest)) / math.sqrt(2.0), MIN_SIGMA)
        gaps = np.array([outlier_gap(series[c][0], i, sigma) for c, i in places])
        run_wide = np.isfinite(gaps).sum() >= 2 and abs(float(np.nanmedian(gaps))) > OUTLIER_Z
        out.extend(series[c][2][i] for (c, i), g in zip(places, gaps)
                   if abs(g) > OUTLIER_Z or (run_wide and math.isfinite(g)))
    return out


def outlier_runs(medians: pd.DataFrame, keys: Sequence[str], metric: str,
                 pool_by: Sequence[str] = ("hardware",)) -> pd.Series:
    """True for the run medians (rows of ``medians``) that are outliers of their cell's series for
    ``metric``, judged against their pool's spread without that run (module doc)."""
    keys, pool_by = list(keys), [k for k in pool_by if k in keys]
    ordered, logs = _ordered_logs(medians, keys, metric)
    ok = np.isfinite(logs)
    ordered, logs = ordered[ok], logs[ok]
    cells = ordered.groupby(keys, dropna=False, sort=False).indices
    pools: dict = {}
    for cell, pos in cells.items():
        cell = cell if isinstance(cell, tuple) else (cell,)
        pool = tuple(cell[keys.index(k)] for k in pool_by)
        pools.setdefault(pool, []).append((logs.to_numpy()[pos], ordered["run_id"].to_numpy()[pos],
                                           ordered.index.to_numpy()[pos]))
    everything = [s for series in pools.values() for s in series]
    flagged = pd.Series(False, index=medians.index)
    for series in pools.values():
        thin = sum(max(len(x) - 1, 0) for x, _, _ in series) < MIN_POOLED_DIFFS
        found = _pool_outliers(everything if thin else series)
        mine = {label for _, _, labels in series for label in labels}
        flagged.loc[[label for label in found if label in mine]] = True
    return flagged


def log_differences(medians: pd.DataFrame, keys: Sequence[str], metric: str) -> pd.DataFrame:
    """Per run (after a cell's first): ``absdiff`` = |ln m - ln m_previous| of its cell."""
    ordered, logs = _ordered_logs(medians, keys, metric)
    diffs = logs.groupby([ordered[k] for k in keys], dropna=False, sort=False).diff()
    return ordered[list(keys)].assign(absdiff=diffs.abs())


def spread_from_medians(medians: pd.DataFrame, keys: Sequence[str] = SERIES_KEYS,
                        pool_by: Sequence[str] = ("hardware",),
                        metrics: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Between-run spread per cell and metric from a frame of run medians (see the module doc).

    Columns: the keys, ``metric``, ``runs``, ``outlier_runs`` (the cell's runs left out as
    outliers), ``diffs`` (the cell's own), ``pool_diffs`` (behind the pool's estimate; 0 when
    assumed), ``sigma`` (of ln run median), ``spread_pct``, ``source`` (``cell+pool`` | ``pool`` |
    ``assumed``)."""
    keys = list(keys)
    pool_by = [k for k in pool_by if k in keys]
    parts = []
    for metric in metrics or [m.column for m in METRICS]:
        odd = outlier_runs(medians, keys, metric, pool_by)
        d = log_differences(medians[~odd], keys, metric)
        cell = d.groupby(keys, dropna=False, sort=True).agg(diffs=("absdiff", "count"), sigma_cell=("absdiff", "median"))
        cell["sigma_cell"] = cell["sigma_cell"] * MAD_TO_SIGMA / math.sqrt(2.0)
        cell["runs"] = medians.groupby(keys, dropna=False, sort=True).size()
        cell["outlier_runs"] = odd.groupby([medians[k] for k in keys], dropna=False, sort=True).sum()
        cell["outlier_runs"] = cell["outlier_runs"].fillna(0).astype(int)
        all_pool = _robust_sigma(d["absdiff"])
        all_n = int(d["absdiff"].count())
        if pool_by:
            pool = d.groupby(pool_by, dropna=False).agg(pool_n=("absdiff", "count"), sigma_pool=("absdiff", "median"))
            pool["sigma_pool"] = pool["sigma_pool"] * MAD_TO_SIGMA / math.sqrt(2.0)
            cell = cell.join(pool, on=pool_by)
            thin = cell["pool_n"] < MIN_POOLED_DIFFS
            cell.loc[thin, "sigma_pool"] = all_pool
            cell.loc[thin, "pool_n"] = all_n
        else:
            cell["sigma_pool"], cell["pool_n"] = all_pool, all_n
        known = cell["pool_n"] >= MIN_POOLED_DIFFS
        w = cell["diffs"] / (cell["diffs"] + PRIOR_DIFFS)
        sigma_cell = cell["sigma_cell"].fillna(0.0)
        # never quieter than its pool: a cell's own few differences can underestimate it by chance,
        # and the gate's quantile assumes the pool's degrees of freedom (bench/gate_power.py)
        shrunk = np.maximum(np.sqrt(w * sigma_cell ** 2 + (1 - w) * cell["sigma_pool"] ** 2), cell["sigma_pool"])
        cell["sigma"] = shrunk.where(known, ASSUMED_SIGMA).clip(lower=MIN_SIGMA)
        cell["source"] = np.where(~known, "assumed", np.where(cell["diffs"] > 0, "cell+pool", "pool"))
        cell["spread_pct"] = 100.0 * np.expm1(cell["sigma"])
        cell["pool_diffs"] = cell["pool_n"].where(known, 0).astype(int)
        cell["metric"] = metric
        parts.append(cell.reset_index()[keys + ["metric", "runs", "outlier_runs", "diffs", "pool_diffs", "sigma",
                                                "spread_pct", "source"]])
    return pd.concat(parts, ignore_index=True)


def between_run_spread(frame: pd.DataFrame, keys: Sequence[str] = SERIES_KEYS,
                       pool_by: Sequence[str] = ("hardware",),
                       metrics: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """Between-run spread per cell and metric of the rows in ``frame`` (e.g.
    ``vlmbench.results.load(archive)``); see :func:`spread_from_medians` for the columns.

    The public entry point for ``compare`` and the gate: one row per (cell, metric). ``metrics``:
    row columns (default: the history's TTFT, TTFT user, TPOT, tokens/s, peak memory); a column
    the history does not track (e.g. ``e2e_ms``) gets its run medians computed here."""
    medians = run_medians(frame, tuple(keys))
    extra = [m for m in (metrics or []) if m not in medians.columns]
    if extra and len(medians):
        ok = warm_rows(frame)
        if CONFIG in keys:
            ok = with_config(ok)
        more = ok.groupby(list(keys) + ["run_id"], dropna=False, sort=False)[extra].median().reset_index()
        medians = medians.merge(more, on=list(keys) + ["run_id"], how="left")
    return spread_from_medians(medians, keys, pool_by, metrics)


def spread_for(spread: pd.DataFrame, cell: dict, metric: str,
               keys: Sequence[str] = SERIES_KEYS) -> tuple[float, str, int]:
    """(sigma, source, pool_diffs) of one cell and metric; a cell absent from ``spread`` gets the
    median sigma of its hardware's cells, else the assumed one (``pool_diffs`` 0)."""
    rows = spread[spread["metric"] == metric]
    match = rows
    for k in keys:
        value = cell.get(k)
        match = match[match[k].astype("string").fillna("") == ("" if value is None or value is pd.NA else str(value))]
    if len(match):
        row = match.iloc[0]
        return float(row["sigma"]), str(row["source"]), int(row.get("pool_diffs", 0) or 0)
    same_hw = rows[rows["hardware"].astype("string").fillna("") == str(cell.get("hardware") or "")]
    known = same_hw[same_hw["source"] != "assumed"]
    if len(known):
        return float(known["sigma"].median()), "pool", int(known["pool_diffs"].max())
    return ASSUMED_SIGMA, "assumed", 0


def sigma_for(spread: pd.DataFrame, cell: dict, metric: str, keys: Sequence[str] = SERIES_KEYS) -> tuple[float, str]:
    """(sigma, source) of one cell and metric: :func:`spread_for` without the count."""
    sigma, source, _ = spread_for(spread, cell, metric, keys)
    return sigma, source
