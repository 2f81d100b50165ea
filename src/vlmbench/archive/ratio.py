"""Bootstrap confidence interval of the ratio of two medians (new p50 / old p50), on per-request
samples: ``B`` resamples of each sample, drawn with replacement with the fixed-seed PCG64
generator and the resample count and level of :mod:`vlmbench.report.statistics`; the interval is
the percentile interval of the B ratios. Deterministic for the same input."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from vlmbench.report.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, clean


def median_ratio_ci(old: Sequence[float], new: Sequence[float], confidence: float = CONFIDENCE,
                    resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> Optional[tuple[float, float, float]]:
    """(ratio, low, high) of median(new) / median(old); None when a sample is empty or a median is 0."""
    a, b = np.asarray(clean(old), dtype=float), np.asarray(clean(new), dtype=float)
    if a.size == 0 or b.size == 0 or np.median(a) <= 0:
        return None
    rng = np.random.Generator(np.random.PCG64(seed))
    ma = np.median(a[rng.integers(0, a.size, size=(resamples, a.size))], axis=1)
    mb = np.median(b[rng.integers(0, b.size, size=(resamples, b.size))], axis=1)
    ratios = mb[ma > 0] / ma[ma > 0]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(np.median(b) / np.median(a)), float(low), float(high)
