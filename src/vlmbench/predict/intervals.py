"""Prediction intervals of a calibrated profile: the spread of held-out errors.

For each stage, ``[q10, q90]`` of ``measured / predicted`` over leave-one-model-out predictions,
widened to contain 1 and by 5 % on each side (few rows). With fewer than 3 models the
micro-benchmark priors are kept.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from vlmbench.predict.fit import Sample
from vlmbench.predict.profiles.schema import Profile
from vlmbench.predict.validate import STAGES, _measured, _predicted, lomo_pairs

MIN_MODELS = 3


def lomo_intervals(start: Profile, data: Sequence[Sample]) -> dict[str, list[float]]:
    if len({s.row["model_id"] for s in data}) < MIN_MODELS:
        return dict(start.interval)
    ratios: dict[str, list[float]] = {s: [] for s in STAGES}
    for s, t in lomo_pairs(start, data):
        for stage in STAGES:
            m, p = _measured(s.row, stage), _predicted(t, stage)
            if m and p:
                ratios[stage].append(m / p)
    out = dict(start.interval)
    for stage, r in ratios.items():
        if len(r) >= 3:
            lo, hi = np.percentile(r, 10), np.percentile(r, 90)
            out[stage] = [float(min(lo, 1.0) * 0.95), float(max(hi, 1.0) * 1.05)]
    return out
