"""Prediction intervals and what they claim.

A calibrated profile's interval of a stage is ``[q10, q90]`` of ``measured / predicted`` over the
held-out-model predictions (:mod:`heldout`), widened to contain 1 and by 5 % on each side (few
rows): nominally an 80 % interval from held-out models on the calibration machine. With fewer
than 3 models (or fewer than 3 ratios of a stage) the priors are kept: spec-sheet and
micro-benchmark priors whose coverage nobody measured. What an interval rests on is recorded in
the profile (``interval_basis``) and stated beside every prediction (:mod:`claims`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vlmbench.predict.fit import Sample
from vlmbench.predict.claims import interval_claim, validation_claim  # noqa: F401 - re-exported
from vlmbench.predict.heldout import STAGES, lomo_pairs, measured, predicted
from vlmbench.predict.profiles.schema import HELD_OUT_LEVEL, MIN_HELD_OUT_MODELS, Profile

MIN_MODELS = MIN_HELD_OUT_MODELS
MIN_RATIOS = 3
WIDEN = 0.05


def interval_from_ratios(ratios: Sequence[float]) -> list[float]:
    """``[q10, q90]`` of ``measured / predicted`` widened to contain 1 and by 5 % on each side."""
    tail = (1.0 - HELD_OUT_LEVEL) / 2.0 * 100.0
    lo, hi = np.percentile(ratios, tail), np.percentile(ratios, 100.0 - tail)
    return [float(min(lo, 1.0) * (1.0 - WIDEN)), float(max(hi, 1.0) * (1.0 + WIDEN))]


def lomo_intervals(start: Profile, data: Sequence[Sample]) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """(interval per stage, interval basis) for a profile calibrated on ``data`` from ``start``."""
    models = {s.row["model_id"] for s in data}
    if len(models) < MIN_MODELS:
        return dict(start.interval), {}
    ratios: dict[str, list[float]] = {s: [] for s in STAGES}
    for s, t in lomo_pairs(start, data):
        for stage in STAGES:
            m, p = measured(s.row, stage), predicted(t, stage)
            if m and p:
                ratios[stage].append(m / p)
    out = dict(start.interval)
    held = [stage for stage, r in ratios.items() if len(r) >= MIN_RATIOS]
    for stage in held:
        out[stage] = interval_from_ratios(ratios[stage])
    basis = {"held_out": "model", "level": HELD_OUT_LEVEL, "models": len(models), "stages": held} if held else {}
    return out, basis
