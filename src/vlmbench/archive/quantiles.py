"""Student's t quantile, for the gate's between-run term (the spread is estimated from a finite
number of run-to-run differences). scipy's where installed; elsewhere (a GPU machine where
nothing can be installed) the Cornish-Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5),
within 1.5 % of the exact value for df >= 4 at the levels the gate uses (tested)."""

from __future__ import annotations

import math
from statistics import NormalDist


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (normal for df = inf)."""
    if not math.isfinite(df):
        return NormalDist().inv_cdf(p)
    try:
        from scipy.stats import t
    except ImportError:
        return t_quantile_expansion(p, df)
    return float(t.ppf(p, df))


def t_quantile_expansion(p: float, df: float) -> float:
    z = NormalDist().inv_cdf(p)
    g1 = (z ** 3 + z) / 4
    g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96
    g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384
    g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160
    return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4
