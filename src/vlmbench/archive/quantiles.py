"""Student's t quantile, for the gate's between-run term (the spread is estimated from a finite
number of run-to-run differences)."""

from __future__ import annotations

import math
from statistics import NormalDist

from scipy.stats import t


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (normal for df = inf)."""
    if not math.isfinite(df):
        return NormalDist().inv_cdf(p)
    return float(t.ppf(p, df))
