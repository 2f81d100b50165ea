"""Stability of repeated measurements, per prompt across repeats: is the spread small, and had
the warmup really ended?

Prompts differ (image size, text length, so token counts and times differ) and a run measures
every prompt ``--repeats`` times. Spread *between* prompts is not noise, and the first and
second half of a run in time order are different prompts when ``--repeats`` is 1. So both
flags compare a prompt with itself:

- the *unit* is a prompt (at batch 1 and for endpoint rows); at batch B > 1 it is the batch's
  set of prompts (the B rows of one generate call share their timings: one observation, the
  median of its rows); the same units are measured in every repeat;
- one *observation* per (unit, repeat): the median of its warm rows.

**Repeat CV** (``<metric>_repeat_cv``): pooled within-unit coefficient of variation,
``sqrt(sum((x_ur / mean_u - 1)^2) / (N - K))`` over the N observations of the K units measured
at least twice. It is 0 on a perfectly stable machine, whatever the prompts' sizes. Flagged
above ``HIGH_CV`` (0.25). Undefined (empty, no flag) with one repeat.

**Drift** (``<metric>_drift_pct``, ``<metric>_drift_p``): for each unit with at least two
repeats, ``d_u = ln(median of its later repeats / median of its earlier repeats)`` (the first
and the last ``floor(R/2)`` repeats; the middle one is left out when R is odd). Drift =
``exp(median_u d_u) - 1``; the paired two-sided sign-flip test on the ``d_u``
(:func:`vlmbench.analysis.statistics.paired_sign_flip_p`) gives its p-value. Flagged when
``|drift| > DRIFT_RELATIVE`` (10 %) and ``p < DRIFT_P`` (0.05). With fewer than
``MIN_UNITS_FOR_DRIFT`` (6) units no sign pattern reaches p < 0.05, so drift is not tested (no
flag; the p column says how far it got). Later repeats faster: the first repeat still paid
one-time costs (the warmup was too short, or did not cover every input shape); later repeats
slower: the machine changed during the run (throttling, another job). Either way the rows stand;
the flag says the repeats disagree by more than the threshold. On a shared virtual machine whose
speed moves by 10-30 % from one second to the next (as measured with a fixed workload on the
2-core machines this project is developed on), short passes (tiny models: about a second per
repeat) are flagged for that alone: the flag is then a true statement about the machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from vlmbench.analysis.statistics import HIGH_CV, paired_sign_flip_p

DRIFT_RELATIVE = 0.10
DRIFT_P = 0.05
MIN_UNITS_FOR_DRIFT = 6

Rows = Union[pd.DataFrame, Iterable[dict[str, Any]]]


def as_frame(rows: Rows) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def units(warm: Rows) -> pd.Series:
    """Each row's unit: its prompt, or at batch > 1 the '+'-joined prompts of its window."""
    frame = as_frame(warm)
    if frame.empty:
        return pd.Series([], dtype="object")
    prompt = frame.get("prompt_id", pd.Series([None] * len(frame), index=frame.index))
    unit = prompt.astype("object").where(prompt.notna(), frame.get("request_id"))
    batch = pd.to_numeric(frame.get("batch_size", pd.Series(1, index=frame.index)), errors="coerce").fillna(1)
    if (batch > 1).any() and "window_id" in frame:
        batched = frame[batch > 1]
        joined = batched.groupby(batched["window_id"].astype("object"), dropna=False)["prompt_id"].transform(
            lambda s: "+".join(sorted(str(p) for p in s)))
        unit = unit.copy()
        unit.loc[batched.index] = joined
    return unit.astype("object")


def observations(warm: Rows, metric: str) -> pd.DataFrame:
    """One row per (unit, repeat): columns ``unit``, ``repeat``, ``value`` (median of its rows)."""
    frame = as_frame(warm)
    if frame.empty or metric not in frame:
        return pd.DataFrame(columns=["unit", "repeat", "value"])
    data = pd.DataFrame({
        "unit": units(frame),
        "repeat": pd.to_numeric(frame.get("repeat", pd.Series(0, index=frame.index)), errors="coerce").fillna(0),
        "value": pd.to_numeric(frame[metric], errors="coerce"),
    })
    data = data[np.isfinite(data["value"].astype(float))]
    return data.groupby(["unit", "repeat"], as_index=False, sort=True)["value"].median()


def repeat_cv(obs: pd.DataFrame) -> Optional[float]:
    """Pooled within-unit CV over units measured at least twice; None when there are none."""
    if obs.empty:
        return None
    counts = obs.groupby("unit")["value"].transform("size")
    repeated = obs[counts >= 2]
    if repeated.empty:
        return None
    means = repeated.groupby("unit")["value"].transform("mean")
    if (means <= 0).any():
        return None
    residual = repeated["value"] / means - 1.0
    dof = len(repeated) - repeated["unit"].nunique()
    return float(math.sqrt(float((residual ** 2).sum()) / dof)) if dof > 0 else None


@dataclass(frozen=True)
class Drift:
    """Per-unit drift from earlier to later repeats: units compared, median change, p-value."""

    n_units: int
    relative: float  # exp(median ln(later / earlier)) - 1
    p: Optional[float]

    @property
    def tested(self) -> bool:
        return self.n_units >= MIN_UNITS_FOR_DRIFT and self.p is not None

    @property
    def flagged(self) -> bool:
        return self.tested and abs(self.relative) > DRIFT_RELATIVE and self.p < DRIFT_P


def unit_log_ratios(obs: pd.DataFrame) -> list[float]:
    """``ln(median(later repeats) / median(earlier repeats))`` per unit with >= 2 positive repeats."""
    out = []
    for _, sub in obs[obs["value"] > 0].groupby("unit", sort=True):
        values = sub.sort_values("repeat")["value"].to_numpy(dtype=float)
        half = len(values) // 2
        if half < 1:
            continue
        out.append(math.log(float(np.median(values[-half:])) / float(np.median(values[:half]))))
    return out


def drift(obs: pd.DataFrame) -> Optional[Drift]:
    """Drift of one metric's observations; None when no unit was measured twice."""
    d = unit_log_ratios(obs)
    if not d:
        return None
    return Drift(len(d), math.expm1(float(np.median(d))), paired_sign_flip_p(d) if len(d) >= 2 else None)


def cv_flag(metric: str, cv: Optional[float]) -> Optional[str]:
    if cv is not None and cv > HIGH_CV:
        return f"high CV {metric}={cv:.2f} (>{HIGH_CV:g}) across repeats of the same prompt"
    return None


def drift_flag(metric: str, d: Optional[Drift]) -> Optional[str]:
    if d is None or not d.flagged:
        return None
    cause = ("the first repeat still paid one-time costs (warmup too short or not covering every input shape), "
             "or the machine ran faster later" if d.relative < 0
             else "the machine changed during the run (throttling, another job)")
    return (f"drift {metric}: later repeats {d.relative:+.0%} against the first, median over {d.n_units} prompts "
            f"(paired sign-flip p={d.p:.3f}): {cause}")


@dataclass(frozen=True)
class Stability:
    metric: str
    repeat_cv: Optional[float]
    drift: Optional[Drift]

    @property
    def flags(self) -> list[str]:
        return [f for f in (cv_flag(self.metric, self.repeat_cv), drift_flag(self.metric, self.drift)) if f]


def stability(warm: Rows, metric: str) -> Stability:
    obs = observations(warm, metric)
    return Stability(metric, repeat_cv(obs), drift(obs))


def stability_flags(warm: Rows, metrics: Sequence[str]) -> list[str]:
    """Repeat-CV and drift flags of each metric over a group's warm rows."""
    frame = as_frame(warm)
    return [flag for metric in metrics for flag in stability(frame, metric).flags]
