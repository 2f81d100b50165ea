"""The regression gate: each cell (model x hardware x scenario x prompt-set version) of a new run
against the last ``K`` archived runs of the same cell that started before it.

Per cell and metric (TTFT, TTFT user, TPOT, tokens/s):

1. ``r`` = p50 of the new run's warm requests / p50 of the baseline runs' warm requests (pooled),
   oriented as a cost (old/new for tokens/s), so ``r > 1`` is always "slower";
2. the level: the run's ``m`` checks (cells x metrics) share one exit code, so each is tested at
   ``1 - alpha/m`` (Bonferroni, ``alpha`` = 0.05): the chance that an unchanged run fails
   anywhere stays at most ``alpha``, however many cells it has;
3. within-run interval: percentile bootstrap of ``r`` on the per-request samples at that level
   (:mod:`vlmbench.archive.ratio`): ``[lo, hi]``;
4. between-run noise: the cell's between-run sigma ``s`` of ln(run median)
   (:mod:`vlmbench.archive.noise`), estimated from ``d`` run-to-run differences; comparing one
   run with the median of ``k`` runs adds ``b = q s sqrt(1 + 1/k)`` on the log scale, ``q`` the
   Student t quantile ``t(1 - alpha/(2m), d)`` (normal when the spread is assumed);
5. combined interval: ``lower = r exp(-sqrt(ln(r/lo)^2 + b^2))``,
   ``upper = r exp(+sqrt(ln(hi/r)^2 + b^2))``;
6. REGRESSION when ``lower > 1 + threshold``; IMPROVEMENT when ``upper < 1 / (1 + threshold)``;
   otherwise PASS (within noise and threshold). A cell without archived history is NEW.

The gate fails (exit 1) when any cell has a REGRESSION. Fingerprint changes (software, driver,
hardware fields, git commit) between the newest baseline run and the new run are listed beside
the cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import pandas as pd

from vlmbench.archive.environment import changes, manifest_environment
from vlmbench.archive.noise import spread_for, spread_from_medians
from vlmbench.archive.quantiles import t_quantile
from vlmbench.archive.ratio import median_ratio_ci
from vlmbench.archive.series import METRICS, SERIES_KEYS, run_medians, warm_rows
from vlmbench.report.observations import observation_labels
from vlmbench.report.statistics import CONFIDENCE
from vlmbench.results.frame import load

REGRESSION = "REGRESSION"
IMPROVEMENT = "IMPROVEMENT"
PASS = "PASS"
NEW = "NEW"
DEFAULT_THRESHOLD_PCT = 5.0
DEFAULT_LAST_K = 5
GATE_METRICS = tuple(m for m in METRICS if m.distribution)


@dataclass
class CellCheck:
    cell: dict
    metric: str
    label: str
    unit: str
    verdict: str
    old_p50: Optional[float] = None
    new_p50: Optional[float] = None
    ratio: Optional[float] = None  # cost ratio: > 1 is slower
    ci_lo: Optional[float] = None
    ci_hi: Optional[float] = None
    lower: Optional[float] = None
    upper: Optional[float] = None
    sigma: Optional[float] = None
    spread_source: str = ""
    baseline_runs: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    level: float = CONFIDENCE

    @property
    def spread_pct(self) -> Optional[float]:
        return None if self.sigma is None else 100.0 * math.expm1(self.sigma)

    def cell_name(self) -> str:
        return " / ".join(str(self.cell[k]) for k in SERIES_KEYS)

    def line(self, threshold_pct: float) -> str:
        if self.verdict == NEW:
            return f"{NEW}: {self.cell_name()}: no archived run of this cell before this one"
        return (f"{self.verdict}: {self.cell_name()}: {self.label} p50 {self.old_p50:.4g} -> {self.new_p50:.4g} "
                f"{self.unit} (cost x{self.ratio:.3f}; request-level {100 * self.level:.2f}% CI x{self.ci_lo:.3f}-"
                f"x{self.ci_hi:.3f}; "
                f"with between-run spread {self.spread_pct:.1f}% [{self.spread_source}]: "
                f"x{self.lower:.3f}-x{self.upper:.3f}; limit x{1 + threshold_pct / 100:.3f}; "
                f"baseline {len(self.baseline_runs)} run(s))")


@dataclass
class GateResult:
    run_id: str
    threshold_pct: float
    checks: list[CellCheck]

    @property
    def regressions(self) -> list[CellCheck]:
        return [c for c in self.checks if c.verdict == REGRESSION]

    @property
    def improvements(self) -> list[CellCheck]:
        return [c for c in self.checks if c.verdict == IMPROVEMENT]

    @property
    def passed(self) -> bool:
        return not self.regressions

    def failed_cells(self) -> set[tuple]:
        return {tuple(c.cell[k] for k in SERIES_KEYS) for c in self.regressions}


ALPHA = 1.0 - CONFIDENCE


def check_cell(old: pd.Series, new: pd.Series, metric, sigma: float, k: int, threshold_pct: float,
               checks: int = 1, df: float = math.inf):
    """(verdict, old p50, new p50, r, lo, hi, lower, upper) of one cell and metric, tested at the
    level ``1 - ALPHA / checks``; ``df``: differences behind ``sigma`` (inf when assumed)."""
    alpha = ALPHA / max(checks, 1)
    ci = (median_ratio_ci(new, old, confidence=1 - alpha, old_clusters=_windows(new), new_clusters=_windows(old))
          if metric.higher_is_better
          else median_ratio_ci(old, new, confidence=1 - alpha, old_clusters=_windows(old), new_clusters=_windows(new)))
    if ci is None:
        return None
    r, lo, hi = ci
    b = t_quantile(1 - alpha / 2, df) * sigma * math.sqrt(1.0 + 1.0 / max(k, 1))
    lower = r * math.exp(-math.hypot(math.log(r / lo), b))
    upper = r * math.exp(math.hypot(math.log(hi / r), b))
    limit = 1.0 + threshold_pct / 100.0
    verdict = REGRESSION if lower > limit else IMPROVEMENT if upper < 1.0 / limit else PASS
    return verdict, float(old.median()), float(new.median()), r, lo, hi, lower, upper


def _indexed_by_window(rows: pd.DataFrame, column: str) -> pd.Series:
    """The column's values, indexed by their observation (:func:`observation_labels`: the rows of
    one batched generate call share it and are resampled together)."""
    return pd.Series(rows[column].to_numpy(), index=observation_labels(rows).to_numpy()).dropna()


def _windows(values: pd.Series) -> Optional[list[str]]:
    """Cluster labels of a sample built by :func:`_indexed_by_window` (None for a plain sample)."""
    return None if pd.api.types.is_integer_dtype(values.index) else [str(i) for i in values.index]


def _baselines(archive_medians: pd.DataFrame, new_medians: pd.DataFrame, last_k: int) -> pd.DataFrame:
    """Per cell of the new run: the last ``last_k`` archived runs of that cell that started before it."""
    keys = list(SERIES_KEYS)
    pairs = new_medians[keys + ["run_id", "run_time"]].merge(
        archive_medians[keys + ["run_id", "run_time", "run_dir"]], on=keys, suffixes=("_new", ""))
    pairs = pairs[(pairs["run_id"] != pairs["run_id_new"]) & (pairs["run_time"] < pairs["run_time_new"])]
    pairs = pairs.sort_values(keys + ["run_time", "run_id"], kind="mergesort")
    return pairs.groupby(keys, dropna=False, sort=False).tail(last_k)


def _keys_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty key cells (e.g. no prompt-set version on an endpoint row) as "", so cells compare equal."""
    out = frame.copy()
    for k in SERIES_KEYS:
        out[k] = out[k].astype("string").fillna("")
    return out


def gate_run(new_run: str | Path, archive: str | Path, threshold_pct: float = DEFAULT_THRESHOLD_PCT,
             last_k: int = DEFAULT_LAST_K, archive_frame: Optional[pd.DataFrame] = None) -> GateResult:
    keys = list(SERIES_KEYS)
    arch = _keys_filled(archive_frame if archive_frame is not None else load(archive))
    new = _keys_filled(load(new_run))
    run_ids = sorted(set(new["run_id"].dropna()))
    new_medians = run_medians(new)
    arch_medians = run_medians(arch)
    spread = spread_from_medians(arch_medians)
    base = _baselines(arch_medians, new_medians, last_k)
    arch_warm, new_warm = warm_rows(arch), warm_rows(new)
    new_env = manifest_environment(Path(new_run) if (Path(new_run) / "manifest.json").exists()
                                   else Path(str(new["run_dir"].iloc[0])))
    checks: list[CellCheck] = []
    pending = []  # (cell, baseline, old rows, new rows, changes): tested once the number of checks is known
    for cell_values, new_rows in new_warm.groupby(keys, dropna=False, sort=True):
        cell = dict(zip(keys, cell_values))
        cell_base = base
        for k in keys:
            cell_base = cell_base[cell_base[k] == cell[k]]
        if cell_base.empty:
            checks.append(CellCheck(cell, "", "", "", NEW))
            continue
        old_rows = arch_warm.merge(cell_base[keys + ["run_id"]], on=keys + ["run_id"])
        newest_dir = str(cell_base["run_dir"].iloc[-1])
        pending.append((cell, cell_base, old_rows, new_rows, changes(manifest_environment(newest_dir), new_env)))
    tests = [(p, m) for p in pending for m in GATE_METRICS
             if p[2][m.column].notna().any() and p[3][m.column].notna().any()]
    for (cell, cell_base, old_rows, new_rows, changed), metric in tests:
        sigma, source, diffs = spread_for(spread, cell, metric.column)
        df = math.inf if source == "assumed" else max(diffs, 1)
        result = check_cell(_indexed_by_window(old_rows, metric.column), _indexed_by_window(new_rows, metric.column), metric,
                            sigma, len(cell_base), threshold_pct, checks=len(tests), df=df)
        if result is None:
            continue
        verdict, old_p50, new_p50, r, lo, hi, lower, upper = result
        checks.append(CellCheck(cell, metric.column, metric.label, metric.unit, verdict, old_p50, new_p50, r,
                                lo, hi, lower, upper, sigma, source, list(cell_base["run_id"]), changed,
                                level=1 - ALPHA / len(tests)))
    return GateResult(", ".join(run_ids), threshold_pct, checks)


def report_lines(result: GateResult, verbose: bool = False) -> list[str]:
    """Regressions and improvements (every check with ``verbose``), each cell's fingerprint changes
    beside it, and a last line with the verdict."""
    lines = []
    by_cell: dict[tuple, list[CellCheck]] = {}
    for check in result.checks:
        by_cell.setdefault(tuple(check.cell[k] for k in SERIES_KEYS), []).append(check)
    for checks in by_cell.values():
        shown = [c for c in checks if verbose or c.verdict in (REGRESSION, IMPROVEMENT, NEW)]
        lines.extend(c.line(result.threshold_pct) for c in shown)
        first = checks[0]
        if first.changes:
            lines.append(f"    {first.cell_name()}: changed since run {first.baseline_runs[-1]}: "
                         + "; ".join(first.changes))
    if result.regressions:
        lines.append(f"gate: FAIL: run {result.run_id}: {len(result.failed_cells())} of {len(by_cell)} cell(s) "
                     f"slower than +{result.threshold_pct:g}% beyond the between-run spread")
    else:
        lines.append(f"gate: PASS: run {result.run_id}: {len(by_cell)} cell(s), none slower than "
                     f"+{result.threshold_pct:g}% beyond the between-run spread"
                     + (f"; {len(result.improvements)} improvement(s)" if result.improvements else ""))
    return lines


def gate_runs(new_runs: Sequence[str | Path], archive: str | Path, threshold_pct: float = DEFAULT_THRESHOLD_PCT,
              last_k: int = DEFAULT_LAST_K) -> list[GateResult]:
    frame = load(archive)
    return [gate_run(r, archive, threshold_pct, last_k, archive_frame=frame) for r in new_runs]
