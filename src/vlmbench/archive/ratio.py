"""Bootstrap confidence interval of the ratio of two medians (new p50 / old p50), on per-request
samples: ``B`` resamples of each sample, drawn with replacement with the fixed-seed PCG64
generator and the resample count and level of :mod:`vlmbench.analysis.statistics`; the interval is
the percentile interval of the B ratios. Deterministic for the same input.

At batch > 1 the B rows of one generate window share their timings, so they are one
observation, not B: given cluster labels (run id + window id), whole windows are resampled
(:func:`vlmbench.analysis.statistics.cluster_bootstrap_medians`), as the reporter's CI does."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from vlmbench.analysis.statistics import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, clean,
                                        cluster_bootstrap_medians)


def median_ratio_ci(old: Sequence[float], new: Sequence[float], confidence: float = CONFIDENCE,
                    resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED, old_clusters: Optional[Sequence[object]] = None,
                    new_clusters: Optional[Sequence[object]] = None) -> Optional[tuple[float, float, float]]:
    """(ratio, low, high) of median(new) / median(old); None when a sample is empty or a median is 0.

    ``old_clusters`` / ``new_clusters``: optional labels parallel to the samples naming the
    independent unit (the generate window); rows sharing a label are resampled together."""
    a, a_cl = _with_clusters(old, old_clusters)
    b, b_cl = _with_clusters(new, new_clusters)
    if a.size == 0 or b.size == 0 or np.median(a) <= 0:
        return None
    rng = np.random.Generator(np.random.PCG64(seed))
    ma, mb = _resampled_medians(a, a_cl, resamples, rng), _resampled_medians(b, b_cl, resamples, rng)
    ratios = mb[ma > 0] / ma[ma > 0]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(np.median(b) / np.median(a)), float(low), float(high)


def _with_clusters(values: Sequence[float], clusters: Optional[Sequence[object]]) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Finite values and, where labels were given, each value's cluster index (0..K-1)."""
    if clusters is None:
        return np.asarray(clean(values), dtype=float), None
    pairs = [(float(v), str(c)) for v, c in zip(values, clusters) if v is not None and np.isfinite(float(v))]
    if not pairs:
        return np.asarray([], dtype=float), None
    _, cluster_of = np.unique(np.asarray([c for _, c in pairs]), return_inverse=True)
    return np.asarray([v for v, _ in pairs], dtype=float), cluster_of


def _resampled_medians(values: np.ndarray, cluster_of: Optional[np.ndarray], resamples: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Row resampling where every row is its own unit; whole clusters where rows share a window."""
    if cluster_of is None or int(cluster_of.max()) + 1 == values.size:
        return np.median(values[rng.integers(0, values.size, size=(resamples, values.size))], axis=1)
    return cluster_bootstrap_medians(values, cluster_of, resamples, rng)
