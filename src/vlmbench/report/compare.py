"""``vlmbench compare``: run B against run A, per (model, scenario), from warm ok rows.

For each metric: ``ratio = median_B / median_A``. The change that hurts is
``worse_pct = (ratio - 1) x 100`` for times (TTFT, TPOT, E2E: lower is better) and
``worse_pct = (1 - ratio) x 100`` for rates (decode tokens/s: higher is better); negative means B
is better. Significance: two-sided Mann-Whitney U on the two samples of per-request values
(``p < alpha``, default 0.05). A significant change smaller than ``min_effect_pct`` (default 5 %)
is reported as below the threshold, not as a regression. ``--fail-above PCT`` fails on any
significant regression whose ``worse_pct`` exceeds PCT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from vlmbench.errors import UsageError
from vlmbench.report.fingerprints import environment_differences, setting_differences
from vlmbench.report.groups import RequestGroup, group_requests
from vlmbench.report.markdown import md_cell
from vlmbench.report.runs import RunData
from vlmbench.report.statistics import mann_whitney_p, percentile

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_EFFECT_PCT = 5.0

REGRESSION = "regression"
IMPROVEMENT = "improvement"
BELOW_THRESHOLD = "below min effect"
NOT_SIGNIFICANT = "not significant"
TOO_FEW = "too few rows"


@dataclass(frozen=True)
class ComparedMetric:
    column: str
    label: str
    unit: str
    higher_is_better: bool


COMPARED_METRICS: tuple[ComparedMetric, ...] = (
    ComparedMetric("ttft_ms", "TTFT", "ms", False),
    ComparedMetric("tpot_ms", "TPOT", "ms", False),
    ComparedMetric("e2e_ms", "E2E", "ms", False),
    ComparedMetric("decode_tps", "decode tok/s", "tokens/s", True),
)


@dataclass(frozen=True)
class MetricComparison:
    model_id: str
    scenario: str
    metric: ComparedMetric
    n_a: int
    n_b: int
    median_a: Optional[float]
    median_b: Optional[float]
    p_value: Optional[float]
    verdict: str

    @property
    def ratio(self) -> Optional[float]:
        return median_ratio(self.median_a, self.median_b)

    @property
    def worse_pct(self) -> Optional[float]:
        """How much worse B is than A, in percent of A (negative: B is better)."""
        return worse_pct(self.metric, self.ratio)


def median_ratio(median_a: Optional[float], median_b: Optional[float]) -> Optional[float]:
    """median_B / median_A; None when either is missing or A is 0."""
    if median_a is None or median_b is None or median_a == 0:
        return None
    return median_b / median_a


def worse_pct(metric: ComparedMetric, ratio: Optional[float]) -> Optional[float]:
    """(ratio - 1) x 100 for times, (1 - ratio) x 100 for rates: positive = B is worse."""
    if ratio is None:
        return None
    return (1.0 - ratio) * 100.0 if metric.higher_is_better else (ratio - 1.0) * 100.0


def judge(worse_pct: Optional[float], p_value: Optional[float], alpha: float, min_effect_pct: float) -> str:
    if worse_pct is None or p_value is None:
        return TOO_FEW
    if p_value >= alpha:
        return NOT_SIGNIFICANT
    if abs(worse_pct) < min_effect_pct:
        return BELOW_THRESHOLD
    return REGRESSION if worse_pct > 0 else IMPROVEMENT


def compare_metric(a: RequestGroup, b: RequestGroup, metric: ComparedMetric, alpha: float,
                   min_effect_pct: float) -> MetricComparison:
    va, vb = a.warm_values(metric.column), b.warm_values(metric.column)
    median_a, median_b, p_value = percentile(va, 50), percentile(vb, 50), mann_whitney_p(va, vb)
    verdict = judge(worse_pct(metric, median_ratio(median_a, median_b)), p_value, alpha, min_effect_pct)
    return MetricComparison(a.model_id, a.scenario, metric, len(va), len(vb), median_a, median_b, p_value, verdict)


@dataclass
class Comparison:
    run_a: RunData
    run_b: RunData
    alpha: float
    min_effect_pct: float
    rows: list[MetricComparison] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)

    def regressions(self, fail_above_pct: float) -> list[MetricComparison]:
        """Significant regressions (beyond min effect) worse than ``fail_above_pct`` percent."""
        return [r for r in self.rows if r.verdict == REGRESSION and r.worse_pct is not None
                and r.worse_pct > fail_above_pct]


def compare_runs(run_a: RunData, run_b: RunData, alpha: float = DEFAULT_ALPHA,
                 min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT) -> Comparison:
    """Match (model, scenario) between the runs and compare each metric. Raises UsageError when
    the runs have nothing in common."""
    groups_a = {(g.model_id, g.scenario): g for g in group_requests([run_a])}
    groups_b = {(g.model_id, g.scenario): g for g in group_requests([run_b])}
    common = [k for k in groups_a if k in groups_b]
    if not common:
        raise UsageError(f"{run_a.run_dir} and {run_b.run_dir}: no (model, scenario) in common to compare")
    result = Comparison(run_a, run_b, alpha, min_effect_pct)
    result.only_in_a = [f"{m} / {s}" for m, s in groups_a if (m, s) not in groups_b]
    result.only_in_b = [f"{m} / {s}" for m, s in groups_b if (m, s) not in groups_a]
    result.warnings = environment_differences(run_a, run_b)
    for key in common:
        a, b = groups_a[key], groups_b[key]
        result.warnings += setting_differences(a, b)
        failed_a, failed_b = len(a.rows) - len(a.ok_rows), len(b.rows) - len(b.ok_rows)
        if failed_b > failed_a:
            result.warnings.append(f"{a.model_id} / {a.scenario}: {failed_b} failed requests in B (A: {failed_a}); "
                                   "failed requests carry no timings and are not compared")
        result.rows += [compare_metric(a, b, m, alpha, min_effect_pct) for m in COMPARED_METRICS]
    return result


COMPARISON_COLUMNS: tuple[str, ...] = (
    "model_id", "scenario", "metric", "unit", "n_a", "n_b", "median_a", "median_b", "ratio_b_over_a",
    "worse_pct", "p_value", "verdict",
)


def comparison_records(comparison: Comparison) -> list[dict[str, object]]:
    """Rows for the comparison CSV (keys = COMPARISON_COLUMNS)."""
    return [{
        "model_id": r.model_id, "scenario": r.scenario, "metric": r.metric.label, "unit": r.metric.unit,
        "n_a": r.n_a, "n_b": r.n_b, "median_a": r.median_a, "median_b": r.median_b, "ratio_b_over_a": r.ratio,
        "worse_pct": r.worse_pct, "p_value": r.p_value, "verdict": r.verdict,
    } for r in comparison.rows]


def _num(value: Optional[float], fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def comparison_text(comparison: Comparison) -> str:
    """Plain-text (Markdown) table of the comparison, followed by warnings and unmatched models."""
    lines = [
        f"B = {md_cell(comparison.run_b.run_id)} over A = {md_cell(comparison.run_a.run_id)} "
        f"(medians of warm requests; Mann-Whitney U, alpha {comparison.alpha:g}, "
        f"min effect {comparison.min_effect_pct:g}%)",
        "",
        "| model | scenario | metric | A p50 | B p50 | B/A | worse by | p | n A/B | verdict |",
        "|:---|:---|:---|---:|---:|---:|---:|---:|---:|:---|",
    ]
    for r in comparison.rows:
        worse = "–" if r.worse_pct is None else f"{r.worse_pct:+.1f}%"
        lines.append(
            f"| {md_cell(r.model_id)} | {md_cell(r.scenario)} | {r.metric.label} ({r.metric.unit}) | "
            f"{_num(r.median_a, '.2f')} | {_num(r.median_b, '.2f')} | {_num(r.ratio, '.3f')} | {worse} | "
            f"{_num(r.p_value, '.3g')} | {r.n_a}/{r.n_b} | {r.verdict} |"
        )
    for w in comparison.warnings:
        lines.append(f"warning: {w}")
    if comparison.only_in_a:
        lines.append("only in A (not compared): " + ", ".join(comparison.only_in_a))
    if comparison.only_in_b:
        lines.append("only in B (not compared): " + ", ".join(comparison.only_in_b))
    return "\n".join(lines)
