"""``vlmbench compare``: run B against run A, per (model, scenario, cache-bust mode), paired by prompt.

**Pairing.** A run measures the same prompts (at batch B > 1: the same batches) in every
repeat, so the two runs are compared prompt by prompt: per unit (report/stability.py) the
median over its warm repeats in A and in B, and ``d = ln(B_unit / A_unit)``. Only units both
runs measured are compared (a warning lists the others).

- ``ratio`` = ``exp(mean d)``: the geometric mean of the per-prompt ratios B/A;
- ``worse_pct`` = ``(ratio - 1) x 100`` for times (TTFT, TPOT, E2E: lower is better) and
  ``(1 - ratio) x 100`` for rates (decode tokens/s: higher is better); negative means B is better;
- ``p_value``: the within-run test that the change is consistent. With enough prompts for the
  paired test to reach ``alpha`` (n >= 6 at 0.05: the smallest sign-flip p is ``2 / 2^n``), the
  paired two-sided sign-flip test on the ``d`` (statistics.paired_sign_flip_p), ``test`` =
  ``paired``. With fewer prompts, the per-request samples within prompts: the k-th warm request
  of a prompt in B against the k-th in A (repeat order), ``ln(B/A)`` per request pair, the same
  sign-flip test over those pairs (4 prompts x 3 repeats: 12 pairs, best p 2/4096; ``test`` =
  ``within-prompt``). Under no change the repeats of a prompt are exchangeable, so the pairing by
  repeat order is as valid as any and keeps a drift within the runs out of the differences. Within-run p-values say the change is
  consistent in this pair of runs, not that it exceeds what a second run of unchanged code
  would show: that is the between-run noise below;
- ``median_a`` / ``median_b``: medians of the warm rows of the common units.

**Between-run noise** (``noise_pct``): how far two runs of unchanged code drift apart. From an
archive's history of run medians (``--archive DIR``: ``vlmbench.archive.noise``), stated by the
user (``--between-run-noise PCT``), or, with two runs alone (or too little history), **assumed**:
a between-run spread of ``ASSUMED_BETWEEN_RUN_PCT`` (10 %) per run, as the gate assumes when its
history is short, marked ``assumed`` on every verdict line. The allowance is the 95 % band of the
difference of two run medians, ``exp(1.96 sqrt(2) sigma) - 1`` (30.5 % for the assumed 10 %).

**Verdicts**, the first that applies:

1. ``NOT JUDGED`` with the reason: no values in common, or too few prompts for the paired test
   and too few request pairs within prompts (fewer than 6 at alpha 0.05);
2. ``not significant``: ``p >= alpha``;
3. ``below min effect``: ``|worse_pct| < min_effect_pct`` (default 5 %);
4. ``within between-run noise``: ``|worse_pct| <= noise_pct``;
5. ``regression`` / ``improvement``.

``--fail-above PCT`` fails on any ``regression`` whose ``worse_pct`` exceeds PCT and prints
every NOT JUDGED metric with its reason; it never says "no regression" about a metric it did
not judge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pandas as pd

from vlmbench.analysis.statistics import min_sign_flip_p, paired_sign_flip_p
from vlmbench.errors import UsageError
from vlmbench.report.fingerprints import environment_differences, setting_differences
from vlmbench.report.groups import RequestGroup, cache_label, group_requests
from vlmbench.report.markdown import md_cell
from vlmbench.report.runs import RunData
from vlmbench.report.stability import units
from vlmbench.vocab.metrics import ASSUMED_BETWEEN_RUN_PCT, Metric, metrics

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_EFFECT_PCT = 5.0

REGRESSION = "regression"
IMPROVEMENT = "improvement"
BELOW_THRESHOLD = "below min effect"
NOT_SIGNIFICANT = "not significant"
NOT_JUDGED = "NOT JUDGED"
WITHIN_NOISE = "within between-run noise"
VERDICTS: tuple[str, ...] = (REGRESSION, IMPROVEMENT, BELOW_THRESHOLD, NOT_SIGNIFICANT, NOT_JUDGED, WITHIN_NOISE)
PAIRED = "paired"
WITHIN_PROMPT = "within-prompt"
ASSUMED = "assumed"
Z_95 = 1.96  # two-sided 95 % for the difference of two runs' log medians

HOW_TO_MEASURE_NOISE = (
    "measure it: repeat runs of unchanged code on this machine, publish them to an archive "
    "(`vlmbench publish RUN... --archive DIR`), then `vlmbench compare A B --archive DIR` or `vlmbench gate B "
    "--archive DIR`; or state a measured value with --between-run-noise PCT"
)


ComparedMetric = Metric  # the registry's entry (vlmbench.vocab.metrics)
COMPARED_METRICS: tuple[Metric, ...] = metrics("ttft_user_ms", "ttft_ms", "tpot_ms", "e2e_ms", "decode_tps")

# (group A, group B, metric) -> (allowance in percent, where it comes from), or None when unknown.
NoiseLookup = Callable[[RequestGroup, RequestGroup, ComparedMetric], Optional[tuple[float, str]]]


def fixed_noise(pct: float) -> NoiseLookup:
    """The same stated between-run noise for every cell."""
    return lambda a, b, metric: (pct, "--between-run-noise")


def allowance_pct(sigma: float) -> float:
    """The 95 % band of the difference of two run medians whose log has between-run sigma ``sigma``."""
    return 100.0 * math.expm1(Z_95 * math.sqrt(2.0) * sigma)


ASSUMED_ALLOWANCE_PCT = allowance_pct(math.log1p(ASSUMED_BETWEEN_RUN_PCT / 100.0))


def assumed_noise(a: RequestGroup, b: RequestGroup, metric: Metric) -> tuple[float, str]:
    return ASSUMED_ALLOWANCE_PCT, ASSUMED


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
    n_pairs: int = 0
    paired_ratio: Optional[float] = None
    noise_pct: Optional[float] = None
    noise_source: str = ""
    cache_bust: Optional[bool] = None
    test: str = ""
    reason: str = ""  # why NOT JUDGED

    @property
    def ratio(self) -> Optional[float]:
        """Geometric mean of the per-prompt ratios B/A (ratio of medians where nothing pairs)."""
        return self.paired_ratio if self.paired_ratio is not None else median_ratio(self.median_a, self.median_b)

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


def judge(worse: Optional[float], p_value: Optional[float], alpha: float, min_effect_pct: float,
          noise_pct: float) -> str:
    """The verdict of a metric that could be tested (module docstring, rules 2-5)."""
    if worse is None or p_value is None:
        return NOT_JUDGED
    if p_value >= alpha:
        return NOT_SIGNIFICANT
    if abs(worse) < min_effect_pct:
        return BELOW_THRESHOLD
    if abs(worse) <= noise_pct:
        return WITHIN_NOISE
    return REGRESSION if worse > 0 else IMPROVEMENT


def request_pairs(a_logs: dict, b_logs: dict) -> np.ndarray:
    """ln(B) - ln(A) of the per-request samples within prompts: the k-th warm request of a prompt
    in B against the k-th in A (repeat order), for every prompt both runs measured."""
    out = []
    for unit in sorted(a_logs.keys() & b_logs.keys(), key=str):
        x, y = a_logs[unit], b_logs[unit]
        k = min(len(x), len(y))
        out.extend(np.asarray(y[:k], float) - np.asarray(x[:k], float))
    return np.asarray(out, dtype=float)


def unit_medians(group: RequestGroup, column: str) -> pd.Series:
    """Median of ``column`` over each unit's warm rows (index: unit)."""
    warm = group.warm
    values = pd.to_numeric(warm[column], errors="coerce").astype("float64")
    frame = pd.DataFrame({"unit": units(warm), "value": values}).dropna()
    return frame.groupby("unit")["value"].median()


def _unit_logs(group: RequestGroup, column: str) -> dict:
    """ln(value) of each unit's warm rows in repeat order (per-request samples within prompts)."""
    warm = group.warm
    values = pd.to_numeric(warm[column], errors="coerce").astype("float64")
    frame = pd.DataFrame({"unit": units(warm), "repeat": pd.to_numeric(warm["repeat"], errors="coerce"),
                          "value": values}).dropna()
    frame = frame[frame["value"] > 0].sort_values(["unit", "repeat"], kind="mergesort")
    return {u: np.log(g.to_numpy(float)) for u, g in frame.groupby("unit")["value"]}


def compare_metric(a: RequestGroup, b: RequestGroup, metric: Metric, alpha: float,
                   min_effect_pct: float, noise: Optional[NoiseLookup] = None) -> MetricComparison:
    ua, ub = unit_medians(a, metric.column), unit_medians(b, metric.column)
    common = ua.index.intersection(ub.index)
    pa, pb = ua.loc[common], ub.loc[common]
    positive = (pa > 0) & (pb > 0)
    d = np.log(pb[positive].to_numpy(float) / pa[positive].to_numpy(float))
    n_pairs = int(d.size)
    paired = float(math.exp(d.mean())) if n_pairs else None
    p_value, test, reason = None, "", ""
    if n_pairs and min_sign_flip_p(n_pairs) < alpha:
        p_value, test = paired_sign_flip_p(d.tolist()), PAIRED
    elif n_pairs:
        requests = request_pairs(_unit_logs(a, metric.column), _unit_logs(b, metric.column))
        if min_sign_flip_p(requests.size) < alpha:
            p_value, test = paired_sign_flip_p(requests.tolist()), WITHIN_PROMPT
        else:
            reason = (f"{n_pairs} prompt(s): the paired test cannot reach p < {alpha:g} (best "
                      f"{min_sign_flip_p(n_pairs):.3g}), nor can the {requests.size} request pair(s) within prompts "
                      f"(best {min_sign_flip_p(requests.size):.3g})")
    else:
        reason = "no values in common"
    wa = _values_in(a, metric.column, common)
    wb = _values_in(b, metric.column, common)
    median_a = float(np.median(wa)) if len(wa) else None
    median_b = float(np.median(wb)) if len(wb) else None
    allowance = noise(a, b, metric) if noise is not None else None
    noise_pct, source = allowance if allowance is not None else assumed_noise(a, b, metric)
    verdict = NOT_JUDGED if reason else judge(worse_pct(metric, paired), p_value, alpha, min_effect_pct, noise_pct)
    return MetricComparison(a.model_id, a.scenario, metric, len(a.warm_values(metric.column)),
                            len(b.warm_values(metric.column)), median_a, median_b, p_value, verdict, n_pairs, paired,
                            noise_pct, source, b.cache_bust, test, reason)


def _values_in(group: RequestGroup, column: str, keep: pd.Index) -> np.ndarray:
    warm = group.warm
    values = pd.to_numeric(warm[column], errors="coerce").astype("float64")
    mask = units(warm).isin(keep) & values.notna() if len(warm) else values.notna()
    return values[mask].to_numpy(float)


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
    noise_known: bool = False
    noise_note: str = ""

    def regressions(self, fail_above_pct: float) -> list[MetricComparison]:
        """Regressions (significant, beyond min effect and between-run noise) worse than ``fail_above_pct``."""
        return [r for r in self.rows if r.verdict == REGRESSION and r.worse_pct is not None
                and r.worse_pct > fail_above_pct]

    def not_judged(self) -> list[MetricComparison]:
        return [r for r in self.rows if r.verdict == NOT_JUDGED]


def _label(g: RequestGroup) -> str:
    mode = cache_label(g.cache_bust)
    return f"{g.model_id} / {g.scenario}" + (f" ({mode})" if mode else "")


def _match(groups_a: list[RequestGroup], groups_b: list[RequestGroup]) -> tuple[
        list[tuple[RequestGroup, RequestGroup]], list[RequestGroup], list[RequestGroup]]:
    """Pairs on (model, scenario, cache-bust mode); left-overs that share (model, scenario) but
    not the cache mode are paired too (and warned about by the caller)."""
    key = lambda g: (g.model_id, g.scenario, g.cache_bust)  # noqa: E731
    by_b = {key(g): g for g in groups_b}
    pairs, left_a = [], []
    for g in groups_a:
        if key(g) in by_b:
            pairs.append((g, by_b.pop(key(g))))
        else:
            left_a.append(g)
    left_b = list(by_b.values())
    still_a = []
    for g in left_a:
        other = next((x for x in left_b if (x.model_id, x.scenario) == (g.model_id, g.scenario)), None)
        if other is None:
            still_a.append(g)
        else:
            left_b.remove(other)
            pairs.append((g, other))
    return pairs, still_a, left_b


def pairing_warnings(a: RequestGroup, b: RequestGroup) -> list[str]:
    """Differences that make the per-prompt pairing compare unlike with unlike."""
    out = []
    label = _label(b)
    if a.cache_bust != b.cache_bust:
        out.append(f"{label}: cache-bust differs: A {cache_label(a.cache_bust) or 'n/a'}, B "
                   f"{cache_label(b.cache_bust) or 'n/a'}: cached and uncached costs are compared")
    ua, ub = set(units(a.warm)), set(units(b.warm))
    if ua != ub:
        only_a, only_b = sorted(map(str, ua - ub)), sorted(map(str, ub - ua))
        out.append(f"{label}: prompt subsets differ (only in A: {', '.join(only_a) or 'none'}; only in B: "
                   f"{', '.join(only_b) or 'none'}): only the {len(ua & ub)} common prompts are compared")
    ra, rb = a.warm["repeat"].nunique(), b.warm["repeat"].nunique()
    if ra != rb:
        out.append(f"{label}: repeats differ (A {ra}, B {rb}): per-prompt medians rest on different counts")
    return out


def compare_runs(run_a: RunData, run_b: RunData, alpha: float = DEFAULT_ALPHA,
                 min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT, noise: Optional[NoiseLookup] = None,
                 noise_note: str = "") -> Comparison:
    """Match (model, scenario, cache mode) between the runs and compare each metric per prompt.
    Raises UsageError when the runs have nothing in common."""
    pairs, left_a, left_b = _match(group_requests([run_a]), group_requests([run_b]))
    if not pairs:
        raise UsageError(f"{run_a.run_dir} and {run_b.run_dir}: no (model, scenario) in common to compare")
    result = Comparison(run_a, run_b, alpha, min_effect_pct, noise_known=noise is not None, noise_note=noise_note)
    result.only_in_a = [_label(g) for g in left_a]
    result.only_in_b = [_label(g) for g in left_b]
    result.warnings = environment_differences(run_a, run_b)
    for a, b in pairs:
        result.warnings += setting_differences(a, b)
        result.warnings += pairing_warnings(a, b)
        failed_a, failed_b = a.n_failed, b.n_failed
        if failed_b > failed_a:
            result.warnings.append(f"{a.model_id} / {a.scenario}: {failed_b} failed requests in B (A: {failed_a}); "
                                   "failed requests carry no timings and are not compared")
        result.rows += [compare_metric(a, b, m, alpha, min_effect_pct, noise) for m in COMPARED_METRICS]
    return result


COMPARISON_COLUMNS: tuple[str, ...] = (
    "model_id", "scenario", "cache_bust", "metric", "unit", "n_a", "n_b", "n_prompts", "median_a", "median_b",
    "ratio_b_over_a", "worse_pct", "p_value", "test", "between_run_noise_pct", "noise_source", "verdict", "reason",
)


def comparison_records(comparison: Comparison) -> list[dict[str, object]]:
    """Rows for the comparison CSV (keys = COMPARISON_COLUMNS)."""
    return [{
        "model_id": r.model_id, "scenario": r.scenario, "cache_bust": r.cache_bust, "metric": r.metric.label,
        "unit": r.metric.unit, "n_a": r.n_a, "n_b": r.n_b, "n_prompts": r.n_pairs, "median_a": r.median_a,
        "median_b": r.median_b, "ratio_b_over_a": r.ratio, "worse_pct": r.worse_pct, "p_value": r.p_value,
        "test": r.test or None, "between_run_noise_pct": r.noise_pct, "noise_source": r.noise_source or None,
        "verdict": r.verdict, "reason": r.reason or None,
    } for r in comparison.rows]


def _num(value: Optional[float], fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def noise_statement(comparison: Comparison) -> str:
    """The plain sentence about between-run noise that heads the comparison."""
    if comparison.noise_known:
        return (f"Between-run noise: {comparison.noise_note or 'stated'}; a change counts only beyond it "
                "(column 'noise'; cells without enough history use the assumed value, marked 'assumed').")
    return (f"Between-run noise: ASSUMED {ASSUMED_BETWEEN_RUN_PCT:g}% per run (two runs cannot measure it; the gate "
            f"assumes the same with a short history): a change counts only beyond ±{ASSUMED_ALLOWANCE_PCT:.1f}%, "
            f"marked 'assumed' on every line. For a measured value, {HOW_TO_MEASURE_NOISE}.")


def comparison_text(comparison: Comparison) -> str:
    """Plain-text (Markdown) table of the comparison, followed by warnings and unmatched models."""
    lines = [
        f"B = {md_cell(comparison.run_b.run_id)} over A = {md_cell(comparison.run_a.run_id)} "
        f"(paired by prompt: geometric mean of per-prompt ratios; within-run test: paired sign-flip over prompts, "
        f"or within-prompt t with fewer prompts; alpha {comparison.alpha:g}, min effect {comparison.min_effect_pct:g}%)",
        noise_statement(comparison),
        "",
        "| model | scenario | metric | A p50 | B p50 | B/A | worse by | p (within-run) | test | prompts | noise | n A/B "
        "| verdict |",
        "|:---|:---|:---|---:|---:|---:|---:|---:|:---|---:|---:|---:|:---|",
    ]
    for r in comparison.rows:
        worse = "–" if r.worse_pct is None else f"{r.worse_pct:+.1f}%"
        noise = f"±{r.noise_pct:.1f}%" + (f" ({ASSUMED})" if r.noise_source == ASSUMED else "")
        scenario = r.scenario + (f" ({cache_label(r.cache_bust)})" if r.cache_bust is not None else "")
        lines.append(
            f"| {md_cell(r.model_id)} | {md_cell(scenario)} | {r.metric.label} ({r.metric.unit}) | "
            f"{_num(r.median_a, '.2f')} | {_num(r.median_b, '.2f')} | {_num(r.ratio, '.3f')} | {worse} | "
            f"{_num(r.p_value, '.3g')} | {r.test or '–'} | {r.n_pairs} | {md_cell(noise)} | {r.n_a}/{r.n_b} | "
            f"{md_cell(r.verdict + (': ' + r.reason if r.reason else ''))} |"
        )
    for w in comparison.warnings:
        lines.append(f"warning: {w}")
    if comparison.only_in_a:
        lines.append("only in A (not compared): " + ", ".join(comparison.only_in_a))
    if comparison.only_in_b:
        lines.append("only in B (not compared): " + ", ".join(comparison.only_in_b))
    return "\n".join(lines)
