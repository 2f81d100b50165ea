"""The regression gate: each cell (model x hardware x scenario x prompt-set version x configuration)
of a new run against the last ``K`` archived runs of the same cell that started before it.

The question is one-sided (did it get slower?) and the answer must hold for the whole run, so:

1. **Family**: per cell one metric of each redundant pair (:mod:`vlmbench.vocab.metrics`): TTFT
   user (TTFT where the rows have no TTFT user) and TPOT. Tokens/s is 1000 / TPOT per request and
   TTFT is TTFT user less preprocessing: testing both halves of a pair would only spend the level.
2. **Statistic**: ``d = ln(m_new) - median_i ln(m_i)``: the new run's median against the median of
   the baseline runs' medians (one slow run in the baseline does not move it), oriented as a cost
   (``d > 0`` is slower; the sign flips for a rate); ``ratio = exp(d)``.
3. **Noise**: the cell's between-run sigma ``s`` of ln(run median) (:mod:`vlmbench.archive.noise`),
   learned **only from archived runs that started before the new one** (the new run never counts
   in the noise it is tested against), with outlier runs (one-off slow runs) left out, so one
   slow run in the baseline does not inflate it; the count is shown beside the spread. The
   assumption is then Gaussian run-to-run noise: a new run that is itself a one-off slow run
   fails the gate alone, which is what ``--confirm`` is for. A run median already carries its own within-run sampling
   noise (every run measures the same prompts and repeats), so ``s`` learned from run medians
   holds the within-run term: it is not added again. Where ``s`` is assumed (too little history:
   10 %), the within-run term of the new run's median (its bootstrap CI, resampling observations
   within each prompt) is added in quadrature, since nothing measured stands behind the assumption.
   ``se = s sqrt(1 + c_k / k)``, ``c_k`` the variance factor of a median of ``k`` runs (1 for
   k <= 2, pi/2 beyond).
4. **Level**: the run's ``m`` tests share one exit code: each at ``alpha / m`` one-sided
   (Bonferroni, ``alpha`` = 0.05), quantile ``q = t(1 - alpha/m, df)``, ``df`` the effective degrees
   of freedom of the MAD-based ``s`` (``MAD_EFFICIENCY`` x the differences behind it; normal when assumed).
5. **Verdict**: REGRESSION when ``d > q se`` (significant) **and** ``ratio > 1 + threshold``
   (large enough to matter); IMPROVEMENT symmetrically; else PASS. The threshold is applied to the
   estimate, not to the bound, so it does not stack on top of the noise allowance.
6. **Power**: every check carries its minimum detectable slowdown ``mds_pct``: the slowdown this
   cell catches with probability ``POWER`` (80 %): ``exp(max(q se, ln(1 + threshold)) + z_POWER se) - 1``.

A cell whose configuration (:data:`vlmbench.archive.series.CONFIG_COLUMNS`) differs from every
archived run of it is CONFIG CHANGED ("configuration changed: KEY old -> new; no baseline"), not
compared; a cell without archived history is NEW. The gate fails (exit 1) when any cell has a
REGRESSION. ``confirm`` combines a gate with the gate of a re-measurement of the failing cells:
a cell fails only where both do. The measured power of this procedure is ``bench/gate_power.py``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from vlmbench.analysis.statistics import CONFIDENCE
from vlmbench.archive.environment import changes, manifest_environment
from vlmbench.archive.noise import spread_for, spread_from_medians
from vlmbench.archive.quantiles import t_quantile
from vlmbench.archive.series import CELL_KEYS, CONFIG, SERIES_KEYS, config_changes, run_medians
from vlmbench.results.archive_index import is_archive
from vlmbench.results.frame import empty_frame, load
from vlmbench.vocab.metrics import metric as registry_metric

REGRESSION = "REGRESSION"
IMPROVEMENT = "IMPROVEMENT"
PASS = "PASS"
NEW = "NEW"
CONFIG_CHANGED = "CONFIG CHANGED"
NOT_CONFIRMED = "NOT CONFIRMED"
DEFAULT_THRESHOLD_PCT = 5.0
DEFAULT_LAST_K = 5
ALPHA = 1.0 - CONFIDENCE
POWER = 0.80
MAD_EFFICIENCY = 0.37  # asymptotic efficiency of the MAD against the standard deviation (normal data)
# One metric of each redundant pair: (preferred, fallback where the preferred has no values).
GATE_FAMILY: tuple[tuple[str, ...], ...] = (("ttft_user_ms", "ttft_ms"), ("tpot_ms",))


@dataclass
class CellCheck:
    cell: dict
    metric: str
    label: str
    unit: str
    verdict: str
    old_p50: Optional[float] = None  # the baseline: median of the baseline runs' medians
    new_p50: Optional[float] = None
    ratio: Optional[float] = None  # cost ratio: > 1 is slower
    lower: Optional[float] = None  # one-sided bounds of the cost ratio at the level
    upper: Optional[float] = None
    sigma: Optional[float] = None
    spread_source: str = ""
    baseline_runs: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    level: float = CONFIDENCE
    mds_pct: Optional[float] = None  # minimum detectable slowdown (80 % power), percent
    within_pct: Optional[float] = None  # within-run term added (assumed spread only), percent
    outlier_runs: int = 0  # this cell's archived runs left out of its spread as outliers
    note: str = ""

    @property
    def spread_pct(self) -> Optional[float]:
        return None if self.sigma is None else 100.0 * math.expm1(self.sigma)

    def cell_name(self) -> str:
        return " / ".join(str(self.cell[k]) for k in CELL_KEYS)

    def detail(self, threshold_pct: float) -> str:
        within = f" + within-run {self.within_pct:.1f}%" if self.within_pct is not None else ""
        odd = f"; {self.outlier_runs} outlier run(s) left out" if self.outlier_runs else ""
        return (f"{self.label} p50 {self.old_p50:.4g} -> {self.new_p50:.4g} {self.unit} (cost x{self.ratio:.3f}; "
                f"one-sided {100 * self.level:.2f}% bounds x{self.lower:.3f}-x{self.upper:.3f}; between-run spread "
                f"{self.spread_pct:.1f}% [{self.spread_source}{odd}]{within}; baseline median of "
                f"{len(self.baseline_runs)} run(s); limit x{1 + threshold_pct / 100:.3f}; "
                f"detects >= +{self.mds_pct:.0f}%)")

    def line(self, threshold_pct: float) -> str:
        if self.verdict == NEW:
            return f"{NEW}: {self.cell_name()}: no archived run of this cell before this one"
        if self.verdict == CONFIG_CHANGED:
            return f"{CONFIG_CHANGED}: {self.cell_name()}: {self.note}"
        if self.verdict == PASS:
            return f"PASS; this cell detects >= +{self.mds_pct:.0f}%: {self.cell_name()}: {self.detail(threshold_pct)}"
        suffix = f"; {self.note}" if self.note else ""
        return f"{self.verdict}: {self.cell_name()}: {self.detail(threshold_pct)}{suffix}"

    def record(self) -> dict:
        out = asdict(self)
        out["spread_pct"] = self.spread_pct
        return out


@dataclass
class GateResult:
    run_id: str
    threshold_pct: float
    checks: list[CellCheck]
    confirmed_by: Optional[str] = None

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
        return {cell_key(c.cell) for c in self.regressions}

    def record(self) -> dict:
        return {"run_id": self.run_id, "threshold_pct": self.threshold_pct, "passed": self.passed,
                "confirmed_by": self.confirmed_by, "checks": [c.record() for c in self.checks]}


def cell_key(cell: dict) -> tuple:
    return tuple(cell.get(k) for k in SERIES_KEYS)


def median_variance_factor(k: int) -> float:
    """Var(median of k normal draws) / (sigma^2 / k): 1 for k <= 2 (a mean), pi/2 beyond (asymptotic,
    within 10 % of the exact value from k = 3 on)."""
    return 1.0 if k <= 2 else math.pi / 2


def effective_df(pool_diffs: int, assumed: bool) -> float:
    return math.inf if assumed else max(1.0, MAD_EFFICIENCY * pool_diffs)


def decide(d: float, se: float, q: float, threshold_pct: float) -> tuple[str, float]:
    """(verdict, minimum detectable slowdown in percent) of a cost log ratio ``d`` with standard
    error ``se`` at quantile ``q`` and ``threshold_pct``."""
    limit = math.log1p(threshold_pct / 100.0)
    bar = max(q * se, limit)
    verdict = REGRESSION if d > bar else IMPROVEMENT if d < -bar else PASS
    return verdict, 100.0 * math.expm1(bar + NormalDist().inv_cdf(POWER) * se)


def _keys_filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty key cells (e.g. no prompt-set version on an endpoint row) as "", so cells compare equal."""
    out = frame.copy()
    for k in CELL_KEYS:
        out[k] = out[k].astype("string").fillna("")
    return out


def _family(cell_new: pd.Series, base: pd.DataFrame) -> list[str]:
    """The family's metrics this cell can test: the first of each pair both sides measured."""
    out = []
    for choices in GATE_FAMILY:
        for column in choices:
            if pd.notna(cell_new.get(column)) and base[column].notna().any():
                out.append(column)
                break
    return out


def gate_frames(new: pd.DataFrame, archive: pd.DataFrame, threshold_pct: float = DEFAULT_THRESHOLD_PCT,
                last_k: int = DEFAULT_LAST_K, new_env: Optional[dict] = None,
                env_of: Callable[[str], dict] = manifest_environment) -> GateResult:
    """The gate of the rows ``new`` (one run) against the rows ``archive`` (see the module doc).
    ``env_of``: a run folder's fingerprint (to list software changes beside the cells)."""
    keys = list(SERIES_KEYS)
    run_ids = sorted(set(new["run_id"].dropna().astype(str)))
    new_medians = run_medians(_keys_filled(new), ci=False)
    arch_medians = run_medians(_keys_filled(archive), ci=False)
    if new_medians.empty:
        return GateResult(", ".join(run_ids), threshold_pct, [])
    started = new_medians["run_time"].min()
    # the new run never counts in the noise it is tested against, nor in its own baseline
    before = arch_medians[(arch_medians["run_time"] < started) & ~arch_medians["run_id"].astype(str).isin(run_ids)]
    spread = spread_from_medians(before, metrics=[c for choices in GATE_FAMILY for c in choices])
    known = {(cell_key(row), row["metric"]): (float(row["sigma"]), str(row["source"]), int(row["pool_diffs"]))
             for row in spread.to_dict("records")}
    left_out = {(cell_key(row), row["metric"]): int(row["outlier_runs"]) for row in spread.to_dict("records")}

    def spread_of(cell: dict, column: str) -> tuple[float, str, int]:
        found = known.get((cell_key(cell), column))
        return found if found is not None else spread_for(spread, cell, column)
    checks: list[CellCheck] = []
    pending = []
    for _, cell_new in new_medians.iterrows():
        cell = {k: cell_new[k] for k in keys}
        same_cell = before
        for k in CELL_KEYS:
            same_cell = same_cell[same_cell[k] == cell[k]]
        base = same_cell[same_cell[CONFIG] == cell[CONFIG]].tail(last_k)
        if base.empty and not same_cell.empty:
            last = same_cell.iloc[-1]
            what = "; ".join(config_changes(last[CONFIG], cell[CONFIG]))
            checks.append(CellCheck(cell, "", "", "", CONFIG_CHANGED,
                                    note=f"configuration changed: {what}; no baseline (last run {last['run_id']})"))
            continue
        if base.empty:
            checks.append(CellCheck(cell, "", "", "", NEW))
            continue
        changed = []
        if new_env:
            changed = changes(env_of(str(base["run_dir"].iloc[-1])), new_env)
        pending.extend((cell, cell_new, base, column, changed) for column in _family(cell_new, base))
    if any(spread_of(p[0], p[3])[1] == "assumed" for p in pending):  # the within-run term is needed
        with_ci = run_medians(_keys_filled(new), ci=True).set_index(keys)
        pending = [(cell, with_ci.loc[cell_key(cell)] if cell_key(cell) in with_ci.index else cell_new, base, column,
                    changed) for cell, cell_new, base, column, changed in pending]
    m = max(len(pending), 1)
    alpha = ALPHA / m
    for cell, cell_new, base, column, changed in pending:
        metric = registry_metric(column)
        sigma, source, pool_diffs = spread_of(cell, column)
        assumed = source == "assumed"
        logs = np.log(base[column].dropna().to_numpy(dtype=float))
        k = len(logs)
        sign = -1.0 if metric.higher_is_better else 1.0
        d = sign * (math.log(float(cell_new[column])) - float(np.median(logs)))
        within = None
        s = sigma
        if assumed:
            lo, hi = cell_new.get(f"{column}_lo"), cell_new.get(f"{column}_hi")
            if pd.notna(lo) and pd.notna(hi) and lo > 0:
                within = math.log(hi / lo) / (2 * NormalDist().inv_cdf(1 - ALPHA / 2))
                s = math.hypot(sigma, within)
        se = s * math.sqrt(1.0 + median_variance_factor(k) / k)
        q = t_quantile(1 - alpha, effective_df(pool_diffs, assumed))
        verdict, mds = decide(d, se, q, threshold_pct)
        checks.append(CellCheck(
            cell, column, metric.label, metric.unit, verdict, float(np.exp(np.median(logs))), float(cell_new[column]),
            math.exp(d), math.exp(d - q * se), math.exp(d + q * se), sigma, source, list(base["run_id"].astype(str)),
            changed, level=1 - alpha, mds_pct=mds, within_pct=None if within is None else 100 * math.expm1(within),
            outlier_runs=left_out.get((cell_key(cell), column), 0)))
    return GateResult(", ".join(run_ids), threshold_pct, checks)


def archive_rows(archive: str | Path) -> pd.DataFrame:
    """The archive's rows; none yet for a folder that holds no archive (a first cycle)."""
    return load(archive) if is_archive(archive) else empty_frame()


def gate_run(new_run: str | Path, archive: str | Path, threshold_pct: float = DEFAULT_THRESHOLD_PCT,
             last_k: int = DEFAULT_LAST_K, archive_frame: Optional[pd.DataFrame] = None) -> GateResult:
    new = load(new_run)
    new_dir = Path(new_run) if (Path(new_run) / "manifest.json").exists() else Path(str(new["run_dir"].iloc[0]))
    return gate_frames(new, archive_frame if archive_frame is not None else archive_rows(archive), threshold_pct, last_k,
                       new_env=manifest_environment(new_dir))


def gate_runs(new_runs: Sequence[str | Path], archive: str | Path, threshold_pct: float = DEFAULT_THRESHOLD_PCT,
              last_k: int = DEFAULT_LAST_K) -> list[GateResult]:
    frame = archive_rows(archive)
    return [gate_run(r, archive, threshold_pct, last_k, archive_frame=frame) for r in new_runs]


def confirm(first: GateResult, again: GateResult) -> GateResult:
    """``first`` with each REGRESSION kept only where the re-measurement ``again`` fails the same
    cell too (by cell: a re-run may test the other metric of the family); the others become
    NOT CONFIRMED (a one-off slow run, not a regression)."""
    failing_again = again.failed_cells()
    checks = []
    for c in first.checks:
        if c.verdict == REGRESSION and cell_key(c.cell) not in failing_again:
            c = CellCheck(**{**c.__dict__, "verdict": NOT_CONFIRMED,
                             "note": f"the re-measurement (run {again.run_id}) did not reproduce it"})
        elif c.verdict == REGRESSION:
            c = CellCheck(**{**c.__dict__, "note": f"confirmed by the re-measurement (run {again.run_id})"})
        checks.append(c)
    return GateResult(first.run_id, first.threshold_pct, checks, confirmed_by=again.run_id)


def report_lines(result: GateResult, verbose: bool = False) -> list[str]:
    """Per cell: its regressions, improvements and unconfirmed failures, NEW / CONFIG CHANGED, and
    for a passing cell one line ``PASS; this cell detects >= +X%`` (every metric with ``verbose``);
    the cell's fingerprint changes beside it; a last line with the verdict."""
    lines = []
    by_cell: dict[tuple, list[CellCheck]] = {}
    for check in result.checks:
        by_cell.setdefault(cell_key(check.cell), []).append(check)
    for checks in by_cell.values():
        first = checks[0]
        loud = [c for c in checks if c.verdict not in (PASS,)]
        if verbose:
            lines.extend(c.line(result.threshold_pct) for c in checks)
        else:
            lines.extend(c.line(result.threshold_pct) for c in loud)
            passed = [c for c in checks if c.verdict == PASS]
            if passed and not loud:
                worst = max(c.mds_pct for c in passed)
                lines.append(f"PASS; this cell detects >= +{worst:.0f}%: {first.cell_name()} ("
                             + ", ".join(f"{c.label} +{c.mds_pct:.0f}%" for c in passed) + ")")
        if first.changes:
            lines.append(f"    {first.cell_name()}: changed since run {first.baseline_runs[-1]}: "
                         + "; ".join(first.changes))
    confirmed = f" (confirmed by re-run {result.confirmed_by})" if result.confirmed_by and result.regressions else ""
    if result.regressions:
        lines.append(f"gate: FAIL: run {result.run_id}: {len(result.failed_cells())} of {len(by_cell)} cell(s) "
                     f"slower than +{result.threshold_pct:g}% beyond the between-run spread{confirmed}")
    else:
        unconfirmed = [c for c in result.checks if c.verdict == NOT_CONFIRMED]
        lines.append(f"gate: PASS: run {result.run_id}: {len(by_cell)} cell(s), none slower than "
                     f"+{result.threshold_pct:g}% beyond the between-run spread"
                     + (f"; {len(result.improvements)} improvement(s)" if result.improvements else "")
                     + (f"; {len(unconfirmed)} failure(s) not reproduced by the re-run" if unconfirmed else ""))
    return lines
