"""``vlmbench predict --validate RUN_DIR... --profile P``: the predictor's error on measured rows.

Per stage (preprocess, vision, prefill, TTFT, TPOT, E2E, peak memory), with the relative error
``e = (predicted - measured) / measured`` of each row: the median and 90th percentile of ``|e|``
with a 95 % bootstrap interval of the median over *models* (scipy.stats.bootstrap resampling
models with replacement, pooling their rows: the rows of one model are not independent), the
signed bias (median ``e``), the share of rows with ``|e| <= 10 %`` and ``<= 25 %``, and the
coverage of the block's interval (share of rows whose measured value lies inside it) beside
the level that interval claims.

Blocks of the report:

- ``profile``: the profile as given (in-sample when it was calibrated on these rows);
- ``lomo``: held out by model, same machine (leave-one-model-out), when the profile was
  calibrated on (some of) these models: each model's rows predicted by parameters refitted, from
  the profile's starting point, on the other models' rows only; its interval coverage uses
  intervals from the other models only too (nested), so nothing of the held-out model is seen;
- ``base``: the starting point of a calibrated profile (e.g. micro-benchmarks only);
- ``roofline``: the plain roofline baseline: every op at ``max(FLOPs / peak, bytes / peak bandwidth)``
  with the profile's peak figures, no efficiency curves, no host or per-step costs, no calibration
  (no interval).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Optional, Sequence

import numpy as np
from scipy.stats import bootstrap

from vlmbench.predict.fit import Sample, calibrated_models, samples
from vlmbench.predict.claims import HELD_OUT, PRIOR, interval_claim
from vlmbench.predict.heldout import STAGES, held_out_fits, measured, predicted
from vlmbench.predict.intervals import lomo_intervals
from vlmbench.predict.measured import stack_key
from vlmbench.predict.predictor import CountCache
from vlmbench.predict.profiles.schema import Params, Profile
from vlmbench.predict.timing import Times, predict_times

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20240611
BLOCK_LABELS = {"profile": "the profile as given", "lomo": HELD_OUT, "base": "starting point (uncalibrated)",
                "roofline": "plain roofline baseline"}

# (sample, prediction, interval [lo, hi] multipliers or None) of one row
Pair = tuple[Sample, Times, Optional[dict[str, list[float]]]]


def median_ci_over_models(abs_errors: Sequence[float], models: Sequence[str]) -> Optional[list[float]]:
    """95 % percentile-bootstrap interval of the median |e|, resampling models (each model's rows
    together); None with fewer than 2 models (nothing to resample)."""
    names = sorted(set(models))
    if len(names) < 2:
        return None
    groups = [np.asarray([e for e, m in zip(abs_errors, models) if m == n], dtype=float) for n in names]

    def pooled_median(index: np.ndarray) -> float:
        return float(np.median(np.concatenate([groups[int(i)] for i in index])))

    res = bootstrap((np.arange(len(names)),), pooled_median, vectorized=False, n_resamples=RESAMPLES,
                    confidence_level=CONFIDENCE, method="percentile", rng=np.random.default_rng(SEED))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return [low, high] if np.isfinite(low) and np.isfinite(high) else None


def stats(errors: Sequence[float], models: Optional[Sequence[str]] = None,
          covered: Optional[Sequence[bool]] = None) -> dict[str, Any]:
    if not errors:
        return {"n": 0}
    e = np.array(errors, dtype=float)
    a = np.abs(e)
    out = {"n": int(e.size), "median_abs": float(np.median(a)), "p90_abs": float(np.percentile(a, 90)),
           "bias": float(np.median(e)), "within_10": float(np.mean(a <= 0.10)), "within_25": float(np.mean(a <= 0.25))}
    if models is not None:
        out["models"] = len(set(models))
        out["median_abs_ci"] = median_ci_over_models(a.tolist(), models)
    if covered is not None and len(covered):
        out["coverage"] = float(np.mean(covered))
    return out


def _block(pairs: Sequence[Pair]) -> dict[str, dict[str, Any]]:
    errors: dict[str, list[float]] = {s: [] for s in STAGES}
    models: dict[str, list[str]] = {s: [] for s in STAGES}
    covered: dict[str, list[bool]] = {s: [] for s in STAGES}
    for s, t, interval in pairs:
        for stage in STAGES:
            m, p = measured(s.row, stage), predicted(t, stage)
            if m and p:
                errors[stage].append((p - m) / m)
                models[stage].append(str(s.row["model_id"]))
                if interval is not None and stage in interval:
                    lo, hi = interval[stage]
                    covered[stage].append(p * lo <= m <= p * hi)
    return {st: stats(errors[st], models[st], covered[st] if covered[st] else None) for st in STAGES}


def predict_samples(profile: Profile, params: Params, data: Sequence[Sample], roofline: bool = False) -> list[tuple[Sample, Times]]:
    return [(s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, params, roofline=roofline))
            for s in data]


def _with(pairs: Sequence[tuple[Sample, Times]], interval: Optional[dict[str, list[float]]]) -> list[Pair]:
    return [(s, t, interval) for s, t in pairs]


def nested_lomo(start: Profile, data: Sequence[Sample]) -> tuple[list[Pair], str]:
    """Held-out predictions, each with the interval the *other* models give (their own held-out
    quantiles, or the starting point's priors with fewer than 3 other models), and the level those
    intervals claim."""
    out: list[Pair] = []
    claims = set()
    for train, pairs in held_out_fits(start, data):
        interval, basis = lomo_intervals(start, train)
        claims.add(interval_claim(replace(start, interval=interval, interval_basis=basis)))
        out += [(s, t, interval) for s, t in pairs]
    return out, " | ".join(sorted(claims)) or PRIOR


def validate(profile: Profile, rows: Sequence[dict[str, Any]], cache: Optional[CountCache] = None) -> dict[str, Any]:
    cache = cache or CountCache()
    data = samples(rows, cache)
    models = sorted({r["model_id"] for r in rows})
    plain = []
    for s in data:
        p = profile.params_for(stack_key(s.row))
        plain.append((s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, p)))
    start = Profile.from_json(copy.deepcopy(profile.base)) if profile.kind == "calibrated" and profile.base else profile
    seen = calibrated_models(profile)
    in_sample = profile.kind == "calibrated" and bool(seen & set(models))
    report: dict[str, Any] = {
        "device": profile.device, "profile": profile.name, "kind": profile.kind, "rows": len(rows), "models": models,
        "blocks": {}, "labels": {}, "interval_claims": {},
    }
    report["blocks"]["profile"] = _block(_with(plain, profile.interval))
    report["labels"]["profile"] = BLOCK_LABELS["profile"] + (" (in-sample: calibrated on these rows)" if in_sample else "")
    report["interval_claims"]["profile"] = interval_claim(profile) + (" (in-sample here)" if in_sample else "")
    if in_sample and len(models) >= 2:
        pairs, claim = nested_lomo(start, data)
        report["blocks"]["lomo"] = _block(pairs)
        report["labels"]["lomo"] = HELD_OUT + " (each model predicted from the other models' rows)"
        report["interval_claims"]["lomo"] = claim + " (from the other models only)"
    if start is not profile:
        report["blocks"]["base"] = _block(_with(predict_samples(start, start.params, data), start.interval))
        report["labels"]["base"] = BLOCK_LABELS["base"] + f" ({start.kind})"
        report["interval_claims"]["base"] = interval_claim(start)
    report["blocks"]["roofline"] = _block(_with(predict_samples(start, Params(), data, roofline=True), None))
    report["labels"]["roofline"] = BLOCK_LABELS["roofline"]
    report["interval_claims"]["roofline"] = "no interval"
    report["per_row"] = [
        {"model_id": s.row["model_id"], "prompt_id": s.row["prompt_id"], "batch_size": s.row["batch_size"],
         **{f"{st}_measured": measured(s.row, st) for st in STAGES},
         **{f"{st}_predicted": predicted(t, st) for st in STAGES}}
        for s, t in plain
    ]
    return report


def _ci(s: dict[str, Any]) -> str:
    ci = s.get("median_abs_ci")
    return f"[{ci[0]:.0%}-{ci[1]:.0%}]" if ci else "(1 model)"


def format_report(report: dict[str, Any]) -> str:
    lines = [f"predictor error on {report['rows']} measured rows of {len(report['models'])} models "
             f"({', '.join(report['models'])}); profile {report['profile']} ({report['kind']}), device {report['device']}",
             "median|e| with its 95 % bootstrap interval over models; coverage = share of rows inside the block's "
             "interval"]
    header = (f"{'stage':<12} {'n':>3} {'median|e|':>10} {'95% CI (models)':>16} {'p90|e|':>8} {'bias':>8} "
              f"{'<=10%':>6} {'<=25%':>6} {'coverage':>9}")
    for block, table in report["blocks"].items():
        lines += ["", f"{block}: {report.get('labels', {}).get(block, block)}",
                  f"  interval: {report.get('interval_claims', {}).get(block, '?')}", "  " + header,
                  "  " + "-" * len(header)]
        for stage in STAGES:
            s = table.get(stage, {"n": 0})
            if not s.get("n"):
                lines.append(f"  {stage:<12} {0:>3} {'-':>10}")
                continue
            cov = f"{s['coverage']:.0%}" if s.get("coverage") is not None else "-"
            lines.append(f"  {stage:<12} {s['n']:>3} {s['median_abs']:>9.1%} {_ci(s):>16} {s['p90_abs']:>8.1%} "
                         f"{s['bias']:>+8.1%} {s['within_10']:>6.0%} {s['within_25']:>6.0%} {cov:>9}")
    cover = report["blocks"].get("lomo") or report["blocks"]["profile"]
    block = "lomo" if "lomo" in report["blocks"] else "profile"
    lines += ["", f"coverage per stage ({block}: {report['interval_claims'][block]}):"]
    for stage in STAGES:
        s = cover.get(stage, {})
        if s.get("coverage") is not None:
            lines.append(f"  {stage:<12} {s['coverage']:.0%} of {s['n']} rows inside the interval")
        else:
            lines.append(f"  {stage:<12} -")
    return "\n".join(lines)
