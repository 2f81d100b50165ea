"""``vlmbench calibrate --profile P.json --runs RUN_DIR... -o P2.json``: fit a few interpretable
parameters (:class:`~vlmbench.predict.profiles.schema.Params`) to measured rows, per stack
(attention implementation, compile).

Least squares on log(predicted / measured) over every measured stage of every row (vision,
prefill, TPOT, preprocess), with a weak prior pulling each multiplier to 1 and ``step_ms`` to 0 (so a parameter
the rows cannot see stays at the profile's figure): ``gemm``, ``gemv``, ``attention``, ``bandwidth``,
``dispatch``, ``vision``, ``host`` as log-multipliers, ``step_ms`` additive. The memory overhead
is the median of measured minus predicted allocated memory (``results.selection.allocated_memory_mb``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Optional, Sequence

import numpy as np
from scipy.optimize import least_squares

from vlmbench.predict.predictor import Case, CountCache
from vlmbench.predict.profiles.schema import Params, Profile
from vlmbench.predict.timing import predict_times
from vlmbench.results.selection import allocated_memory_mb
from vlmbench.predict.measured import stack_key

LOG_PARAMS = ("gemm", "gemv", "attention", "bandwidth", "dispatch", "vision", "host")
FIT_STAGES = (("vision", "vision_ms", "vision_ms"), ("prefill", "prefill_ms", "prefill_ms"),
              ("tpot", "tpot_ms", "tpot_ms"), ("preprocess", "preprocess_ms", "preprocess_ms"))
PRIOR_WEIGHT = 0.05
DISPATCH_STARTS = (0.0, 3.0, 6.0)  # log-multiplier starts for ``dispatch``
LOG_BOUND = 8.0  # multipliers within exp(+-8): a shared, oversubscribed host can make per-op costs 100x a quiet one


@dataclass
class Sample:
    case: Case
    row: dict[str, Any]

    @property
    def n_out(self) -> int:
        return int(self.row.get("n_output_tokens") or self.row.get("max_new_tokens") or 2)


def samples(rows: Sequence[dict[str, Any]], cache: CountCache) -> list[Sample]:
    return [Sample(cache.case(r["model_id"], r["prompt_id"], int(r["batch_size"]), r["dtype"]), r) for r in rows]


def _params(x: np.ndarray, base: Params) -> Params:
    values = {k: float(math.exp(v)) for k, v in zip(LOG_PARAMS, x[: len(LOG_PARAMS)])}
    return replace(base, step_ms=float(x[len(LOG_PARAMS)]), **values)


def fit_params(profile: Profile, data: Sequence[Sample], base: Optional[Params] = None) -> Params:
    base = base or Params()
    x0 = np.array([math.log(getattr(base, k)) for k in LOG_PARAMS] + [base.step_ms])
    lo = np.array([-LOG_BOUND] * len(LOG_PARAMS) + [-profile.step_overhead_ms])
    hi = np.array([LOG_BOUND] * len(LOG_PARAMS) + [10_000.0])

    step_scale = max(1.0, profile.step_overhead_ms)  # step_ms is pulled towards 0 in units of the profile's

    def residuals(x: np.ndarray) -> np.ndarray:
        p = _params(x, base)
        res = []
        for s in data:
            t = predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, p)
            for _stage, attr, col in FIT_STAGES:
                meas, pred = s.row.get(col), getattr(t, attr)
                if meas and pred and meas > 0 and pred > 0:
                    res.append(math.log(pred / meas))
        res.extend(PRIOR_WEIGHT * x[: len(LOG_PARAMS)])
        res.append(PRIOR_WEIGHT * x[len(LOG_PARAMS)] / step_scale)
        return np.array(res)

    # several starts for the host-cost multiplier: where per-op costs are tiny at the start, their
    # gradient is too, and a single start would never find a host-bound regime
    best = None
    d = LOG_PARAMS.index("dispatch")
    for start_dispatch in DISPATCH_STARTS:
        x = x0.copy()
        x[d] = math.log(getattr(base, "dispatch")) + start_dispatch
        x = np.clip(x, lo + 1e-9, hi - 1e-9)
        sol = least_squares(residuals, x, bounds=(lo, hi), x_scale="jac")
        if best is None or sol.cost < best.cost:
            best = sol
    params = _params(best.x, base)
    gaps = []
    for s in data:
        m = allocated_memory_mb(s.row)
        if m:
            t = predict_times(s.case.counts, s.n_out, s.case.in_pixels, profile, replace(params, memory_overhead_mb=0.0))
            gaps.append(m - t.peak_allocated_mb)
    params.memory_overhead_mb = float(np.median(gaps)) if gaps else 0.0
    return params


def calibrate_on_rows(profile: Profile, rows: Sequence[dict[str, Any]], run_dirs: Sequence[str],
                      cache: Optional[CountCache] = None) -> Profile:
    cache = cache or CountCache()
    by_stack: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_stack.setdefault(stack_key(r), []).append(r)
    base_json = profile.base if profile.kind == "calibrated" and profile.base else profile.to_json()
    start = Profile.from_json(copy.deepcopy(base_json))
    out = copy.deepcopy(start)
    out.kind = "calibrated"
    out.name = f"{start.name}-calibrated" if not start.name.endswith("-calibrated") else start.name
    out.base = base_json
    out.stacks = {}
    for key, rs in sorted(by_stack.items(), key=lambda kv: -len(kv[1])):
        out.stacks[key] = asdict(fit_params(start, samples(rs, cache), start.params))
    default = max(by_stack, key=lambda k: len(by_stack[k]))
    out.params = Params.from_json(out.stacks[default])
    out.calibrated_on = [{"run": str(d)} for d in run_dirs] + [
        {"models": sorted({r["model_id"] for r in rows}), "rows": len(rows), "default_stack": default}]
    out.sources = dict(out.sources, calibration=f"fitted to {len(rows)} measured rows of "
                                                f"{len({r['model_id'] for r in rows})} models")
    out.notes = "calibrated profile: micro-benchmark or spec figures x fitted multipliers"
    return out


def calibrated_models(profile: Profile) -> set[str]:
    models: set[str] = set()
    for item in profile.calibrated_on:
        models.update(item.get("models", []))
    return models
