"""What a visual token costs: per model x hardware x stack (x cache state), vision-encoder time,
prefill time and TTFT fitted against the request's visual tokens (``n_image_tokens``).

Method (METRICS.md, "Visual-token cost"):

- rows: ``ok``, not the cold first request, batch size 1 (a batched call's times are shared),
  with ``n_image_tokens`` and the metric measured;
- fit: ordinary least squares ``y = a + b x`` (x = visual tokens), and ``y = a + b x + c x^2``;
  the quadratic term is kept only where it shows: at least 3 distinct token counts and the
  bootstrap CI of ``c`` excluding 0 (attention's quadratic share);
- CI: percentile bootstrap (95 %, fixed seed) over the independent units the rest of the
  report resamples (a row alone, a batched call's rows together: ``window_id`` at batch 1 is the
  row); each resample is refitted;
- published: ``ms_per_1k_tokens`` = 1000 b (the linear fit's slope; with a kept quadratic term
  the slope at the mean token count, b + 2 c x_mean), ``intercept_ms`` = a, each with its CI, R^2,
  n rows and n distinct token counts. Fewer than 2 distinct token counts or 3 units: not fitted,
  with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pandas as pd

from vlmbench.analysis.statistics import BOOTSTRAP_SEED, CONFIDENCE

METRICS = ("vision_ms", "prefill_ms", "ttft_ms")
# A fit per model x hardware x stack x cache state (rows of other stacks never share a fit).
STACK_KEYS = ("model_id", "hardware", "backend", "device", "dtype", "attn", "compile", "cache_state")
RESAMPLES = 1000
MIN_DISTINCT = 2
MIN_UNITS = 3


@dataclass
class Fit:
    """One fitted metric of one stack. Times in ms; ``c`` per token squared."""

    key: dict[str, Any]
    metric: str
    n_rows: int
    n_tokens: int  # distinct visual-token counts
    a: Optional[float] = None
    b: Optional[float] = None
    c: Optional[float] = None  # kept quadratic coefficient, else None
    a_ci: Optional[tuple[float, float]] = None
    b_ci: Optional[tuple[float, float]] = None
    c_ci: Optional[tuple[float, float]] = None
    slope_ci: Optional[tuple[float, float]] = None
    r2: Optional[float] = None
    x_mean: Optional[float] = None
    reason: str = ""  # why not fitted
    points: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def fitted(self) -> bool:
        return self.a is not None

    @property
    def ms_per_1k(self) -> Optional[float]:
        if self.b is None:
            return None
        return 1000.0 * (self.b + (2 * self.c * self.x_mean if self.c is not None else 0.0))

    def predict(self, x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        return self.a + self.b * x + (self.c * x * x if self.c is not None else 0.0)

    def row(self) -> dict[str, Any]:
        """The published record (visual_token_cost.csv)."""
        def lo_hi(ci: Optional[tuple[float, float]], scale: float = 1.0) -> tuple[Optional[float], Optional[float]]:
            return (ci[0] * scale, ci[1] * scale) if ci else (None, None)

        slope_lo, slope_hi = lo_hi(self.slope_ci, 1000.0)
        a_lo, a_hi = lo_hi(self.a_ci)
        c_lo, c_hi = lo_hi(self.c_ci, 1e6)
        return {**self.key, "metric": self.metric, "n_rows": self.n_rows, "n_token_counts": self.n_tokens,
                "ms_per_1k_tokens": self.ms_per_1k, "ms_per_1k_tokens_ci_low": slope_lo,
                "ms_per_1k_tokens_ci_high": slope_hi, "intercept_ms": self.a, "intercept_ms_ci_low": a_lo,
                "intercept_ms_ci_high": a_hi,
                "quadratic_ms_per_1k_tokens_sq": None if self.c is None else self.c * 1e6,
                "quadratic_ci_low": c_lo, "quadratic_ci_high": c_hi, "r2": self.r2, "not_fitted": self.reason or None}


def _design(x: np.ndarray, quadratic: bool) -> np.ndarray:
    cols = [np.ones_like(x), x] + ([x * x] if quadratic else [])
    return np.column_stack(cols)


def _ols(x: np.ndarray, y: np.ndarray, quadratic: bool) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(_design(x, quadratic), y, rcond=None)
    return coef


def fit_metric(frame: pd.DataFrame, metric: str, key: dict[str, Any]) -> Fit:
    """Fit one metric over one stack's rows (already selected)."""
    data = frame[["n_image_tokens", metric, "window_id"]].dropna(subset=["n_image_tokens", metric])
    x = data["n_image_tokens"].to_numpy(dtype=float)
    y = data[metric].to_numpy(dtype=float)
    fit = Fit(key, metric, len(data), int(len(np.unique(x))), points=list(zip(x.tolist(), y.tolist())))
    units = data["window_id"].fillna(pd.Series(range(len(data)), index=data.index).astype(str)).to_numpy()
    unit_ids, unit_of = np.unique(units, return_inverse=True)
    if fit.n_tokens < MIN_DISTINCT:
        fit.reason = f"{fit.n_tokens} distinct visual-token count(s): needs {MIN_DISTINCT}"
        return fit
    if len(unit_ids) < MIN_UNITS:
        fit.reason = f"{len(unit_ids)} independent request(s): needs {MIN_UNITS}"
        return fit
    rng = np.random.Generator(np.random.PCG64(BOOTSTRAP_SEED))
    members = [np.flatnonzero(unit_of == u) for u in range(len(unit_ids))]
    draws_lin, draws_quad = [], []
    for _ in range(RESAMPLES):
        pick = np.concatenate([members[u] for u in rng.integers(len(members), size=len(members))])
        xs, ys = x[pick], y[pick]
        distinct = len(np.unique(xs))
        if distinct >= 2:
            draws_lin.append(_ols(xs, ys, False))
        if distinct >= 3:
            draws_quad.append(_ols(xs, ys, True))
    alpha = (1 - CONFIDENCE) / 2 * 100

    def ci(draws: list, index: int) -> Optional[tuple[float, float]]:
        if len(draws) < RESAMPLES // 2:
            return None
        values = np.asarray([d[index] for d in draws])
        return float(np.percentile(values, alpha)), float(np.percentile(values, 100 - alpha))

    fit.x_mean = float(x.mean())
    quad = _ols(x, y, True) if fit.n_tokens >= 3 else None
    c_ci = ci(draws_quad, 2) if quad is not None else None
    keep_quad = quad is not None and c_ci is not None and (c_ci[0] > 0 or c_ci[1] < 0)
    if keep_quad:
        fit.a, fit.b, fit.c = (float(v) for v in quad)
        fit.a_ci, fit.b_ci, fit.c_ci = ci(draws_quad, 0), ci(draws_quad, 1), c_ci
        slopes = [d[1] + 2 * d[2] * fit.x_mean for d in draws_quad]
        fit.slope_ci = (float(np.percentile(slopes, alpha)), float(np.percentile(slopes, 100 - alpha)))
    else:
        fit.a, fit.b = (float(v) for v in _ols(x, y, False))
        fit.a_ci, fit.b_ci = ci(draws_lin, 0), ci(draws_lin, 1)
        fit.slope_ci = fit.b_ci
    residual = y - fit.predict(x)
    total = ((y - y.mean()) ** 2).sum()
    fit.r2 = float(1 - (residual ** 2).sum() / total) if total > 0 else None
    return fit


def cost_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a fit uses: ok, warm, batch 1, with visual tokens counted."""
    if frame.empty or "n_image_tokens" not in frame:
        return frame.iloc[0:0]
    ok = frame[(frame["status"] == "ok") & ~frame["cold"].fillna(False).astype(bool)]
    ok = ok[ok["batch_size"].fillna(1) == 1]
    return ok[ok["n_image_tokens"].notna()]


def fit_all(frame: pd.DataFrame, metrics: tuple[str, ...] = METRICS) -> list[Fit]:
    """Every stack's fit of every metric it measured (a metric never measured is left out)."""
    rows = cost_rows(frame)
    fits: list[Fit] = []
    if rows.empty:
        return fits
    keys = [k for k in STACK_KEYS if k in rows]
    for values, group in rows.groupby(keys, dropna=False, sort=True):
        key = {k: (None if pd.isna(v) else v) for k, v in zip(keys, values)}
        for metric in metrics:
            if metric in group and group[metric].notna().any():
                fits.append(fit_metric(group, metric, key))
    return fits
