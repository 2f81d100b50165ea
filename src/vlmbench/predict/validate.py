"""``vlmbench predict --validate RUN_DIR... --profile P``: the predictor's error on measured rows.

Per stage (preprocess, vision, prefill, TTFT, TPOT, E2E, peak memory), with the relative error
``e = (predicted - measured) / measured`` of each row: the median and 90th percentile of ``|e|``,
the signed bias (median ``e``), and the share of rows with ``|e| <= 10 %`` and ``<= 25 %``.

Blocks of the report:

- ``profile``: the profile as given (in-sample when it was calibrated on these rows);
- ``lomo``: leave-one-model-out, when the profile was calibrated on (some of) these models: each
  model's rows predicted by parameters refitted, from the profile's starting point, on the other
  models' rows only;
- ``base``: the starting point of a calibrated profile (e.g. micro-benchmarks only);
- ``roofline``: the plain roofline baseline: every op at ``max(FLOPs / peak, bytes / peak bandwidth)``
  with the profile's peak figures, no efficiency curves, no host or per-step costs, no calibration.
"""

from __future__ import annotations

import copy
from typing import Any, Optional, Sequence

import numpy as np

from vlmbench.predict.fit import Sample, calibrated_models, fit_params, samples
from vlmbench.predict.measured import MEASURED, memory_mb, stack_key
from vlmbench.predict.predictor import CountCache
from vlmbench.predict.profiles.schema import Params, Profile
from vlmbench.predict.timing import Times, predict_times

STAGES = ("preprocess", "vision", "prefill", "ttft", "tpot", "e2e", "peak_memory")


def _measured(row: dict[str, Any], stage: str) -> Optional[float]:
    v = memory_mb(row) if stage == "peak_memory" else row.get(MEASURED[stage])
    return float(v) if v not in (None, "") and float(v) > 0 else None


def _predicted(t: Times, stage: str) -> Optional[float]:
    v = getattr(t, "peak_memory_mb" if stage == "peak_memory" else f"{stage}_ms")
    return float(v) if v is not None and np.isfinite(v) and v > 0 else None


def stats(errors: Sequence[float]) -> dict[str, Any]:
    if not errors:
        return {"n": 0}
    e = np.array(errors, dtype=float)
    a = np.abs(e)
    return {"n": int(e.size), "median_abs": float(np.median(a)), "p90_abs": float(np.percentile(a, 90)),
            "bias": float(np.median(e)), "within_10": float(np.mean(a <= 0.10)), "within_25": float(np.mean(a <= 0.25))}


def _errors(pairs: list[tuple[Sample, Times]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {s: [] for s in STAGES}
    for s, t in pairs:
        for stage in STAGES:
            m, p = _measured(s.row, stage), _predicted(t, stage)
            if m and p:
                out[stage].append((p - m) / m)
    return out


def _predict(profile: Profile, params: Params, data: Sequence[Sample], roofline: bool = False) -> list[tuple[Sample, Times]]:
    return [(s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, params, roofline=roofline))
            for s in data]


def lomo_pairs(start: Profile, data: Sequence[Sample]) -> list[tuple[Sample, Times]]:
    """Each model's samples predicted with parameters fitted on the other models' samples (per stack)."""
    models = sorted({s.row["model_id"] for s in data})
    pairs = []
    for m in models:
        train = [s for s in data if s.row["model_id"] != m]
        test = [s for s in data if s.row["model_id"] == m]
        if not train:
            continue
        by_stack: dict[str, list[Sample]] = {}
        for s in train:
            by_stack.setdefault(stack_key(s.row), []).append(s)
        fitted = {k: fit_params(start, v, start.params) for k, v in by_stack.items()}
        fallback = fitted[max(by_stack, key=lambda k: len(by_stack[k]))]
        for s in test:
            p = fitted.get(stack_key(s.row), fallback)
            pairs.append((s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, start, p)))
    return pairs


def validate(profile: Profile, rows: Sequence[dict[str, Any]], cache: Optional[CountCache] = None) -> dict[str, Any]:
    cache = cache or CountCache()
    data = samples(rows, cache)
    models = sorted({r["model_id"] for r in rows})
    plain = []
    for s in data:
        p = profile.params_for(stack_key(s.row))
        plain.append((s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, p)))
    start = Profile.from_json(copy.deepcopy(profile.base)) if profile.kind == "calibrated" and profile.base else profile
    report: dict[str, Any] = {
        "device": profile.device, "profile": profile.name, "kind": profile.kind, "rows": len(rows), "models": models,
        "blocks": {},
    }
    report["blocks"]["profile"] = {k: stats(v) for k, v in _errors(plain).items()}
    seen = calibrated_models(profile)
    if profile.kind == "calibrated" and seen & set(models) and len(models) >= 2:
        report["blocks"]["lomo"] = {k: stats(v) for k, v in _errors(lomo_pairs(start, data)).items()}
    if start is not profile:
        report["blocks"]["base"] = {k: stats(v) for k, v in _errors(_predict(start, start.params, data)).items()}
    report["blocks"]["roofline"] = {k: stats(v) for k, v in _errors(_predict(start, Params(), data, roofline=True)).items()}
    report["per_row"] = [
        {"model_id": s.row["model_id"], "prompt_id": s.row["prompt_id"], "batch_size": s.row["batch_size"],
         **{f"{st}_measured": _measured(s.row, st) for st in STAGES},
         **{f"{st}_predicted": _predicted(t, st) for st in STAGES}}
        for s, t in plain
    ]
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"predictor error on {report['rows']} measured rows of {len(report['models'])} models "
             f"({', '.join(report['models'])}); profile {report['profile']} ({report['kind']}), device {report['device']}"]
    header = f"{'block':<10} {'stage':<12} {'n':>3} {'median|e|':>10} {'p90|e|':>8} {'bias':>8} {'<=10%':>6} {'<=25%':>6}"
    lines.append(header)
    lines.append("-" * len(header))
    for block, table in report["blocks"].items():
        for stage in STAGES:
            s = table.get(stage, {"n": 0})
            if not s.get("n"):
                lines.append(f"{block:<10} {stage:<12} {0:>3} {'-':>10}")
                continue
            lines.append(f"{block:<10} {stage:<12} {s['n']:>3} {s['median_abs']:>9.1%} {s['p90_abs']:>8.1%} "
                         f"{s['bias']:>+8.1%} {s['within_10']:>6.0%} {s['within_25']:>6.0%}")
    return "\n".join(lines)
