"""Descriptive statistics and tests used by every report. Pure functions on lists of floats.

Conventions (stated on the methodology page):

- Percentile ``p_q``: linear interpolation between closest ranks (Hyndman & Fan type 7, numpy's
  default): with sorted values ``x_0..x_{n-1}``, ``h = (n - 1) q / 100``,
  ``p_q = x_floor(h) + (h - floor(h)) (x_ceil(h) - x_floor(h))``.
- Bootstrap CI of the median: ``B`` resamples drawn with replacement with a fixed-seed PCG64
  generator; the CI is the 2.5th and 97.5th percentile of the B medians (percentile bootstrap).
  What is resampled is the *independent unit*: the generate window (``window_id``). The B rows
  of one batch share their timings, so resampling rows would count one observation B times and
  give an interval far too narrow (nominal 95 % covering 46 % at batch 8); a resample draws
  whole windows (as many as there are) and takes the median of all their rows. At batch 1 a
  window is one row. Same input, same seed -> same interval.
  **Stratified** (``strata``): where the question is how far the median of *this* prompt set
  moves when the same prompts are measured again (an archive's run medians over time: every run
  measures the same prompts), the prompts are fixed, not sampled: each resample draws, per
  stratum (the prompts an observation measured), as many of that stratum's observations as it
  has. Resampling across prompts instead adds the spread *between* prompts, which is the same
  in every run (2-3x too wide). Strata measured once are resampled together as one stratum (a
  prompt with one repeat cannot vary on its own); with none measured twice there is no CI. A
  resample of k draws varies only (k - 1) / k as much as k new ones, which matters at 3
  repeats: the interval is widened about the median by ``sqrt(k / (k - 1))``, k the harmonic
  mean of the strata's sizes (coverage of a nominal 95 % interval with 18 prompts x 3 repeats:
  87-90 %, 81-84 % unwidened; tests/test_history_archive.py, METRICS.md).
- Paired sign-flip test (:func:`paired_sign_flip_p`): for paired differences ``d_i`` (here log
  ratios per prompt), the two-sided p-value of ``|mean(d)|`` under the null that each ``d_i`` is
  as likely negative as positive: exact over all ``2^n`` sign patterns up to n = 16, else
  ``SIGN_FLIP_RESAMPLES`` random patterns (fixed seed). The smallest p it can give is
  ``2 / 2^n``: fewer than 6 pairs can never reach p < 0.05.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240611
CONFIDENCE = 0.95

# Smallest n for which a percentile is more than a rename of the maximum.
MIN_N_FOR_PERCENTILE: dict[int, int] = {50: 1, 90: 10, 99: 100}
# A bootstrap CI resamples independent observations: from one there is nothing to resample (the
# "interval" would be the value itself, e.g. [1601-1601]), so fewer than this gives no interval.
MIN_UNITS_FOR_CI = 2
HIGH_CV = 0.25


def clean(values: Iterable[Optional[float]]) -> list[float]:
    """Drop missing (None) and non-finite values: an empty cell is 'not measured', never 0."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0..100), linear interpolation (type 7); None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def bootstrap_median_ci(values: Sequence[float], confidence: float = CONFIDENCE,
                        resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                        clusters: Optional[Sequence[object]] = None,
                        strata: Optional[Sequence[object]] = None) -> Optional[tuple[float, float]]:
    """Percentile-bootstrap confidence interval of the median; None for fewer than
    :data:`MIN_UNITS_FOR_CI` independent units (no values, or one observation: see
    :func:`ci_missing_reason`).

    ``clusters`` (parallel to ``values``, e.g. the rows' ``window_id``) names the independent
    unit: a resample draws whole clusters with replacement (as many as there are) and takes the
    median of all the values they hold. Without ``clusters`` every value is its own unit.
    Missing or non-finite values are dropped with their cluster label. Deterministic: a fixed
    seed, so the same values always give the same interval.

    ``strata`` (parallel to ``values``; one stratum per cluster): clusters are drawn within their
    stratum (module doc); None when no stratum holds two clusters.
    """
    raw = [None if v is None else float(v) for v in values]
    labels = list(range(len(raw))) if clusters is None else list(clusters)
    if len(labels) != len(raw) or (strata is not None and len(strata) != len(raw)):
        raise ValueError("values, clusters and strata differ in length")
    keep = [i for i, v in enumerate(raw) if v is not None and math.isfinite(v)]
    if not keep:
        return None
    vals = np.asarray([raw[i] for i in keep], dtype=float)
    _, cluster_of = np.unique(np.asarray([str(labels[i]) for i in keep]), return_inverse=True)
    if int(cluster_of.max()) + 1 < MIN_UNITS_FOR_CI:
        return None
    stratum_of = None
    if strata is not None:
        stratum_of = cluster_strata(cluster_of, [str(strata[i]) for i in keep])
        if stratum_of is None:
            return None
    medians = cluster_bootstrap_medians(vals, cluster_of, resamples, np.random.Generator(np.random.PCG64(seed)),
                                        stratum_of)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(medians, [tail, 100.0 - tail])
    if stratum_of is not None:  # a resample of k draws varies (k - 1) / k as much as a new sample
        sizes = np.bincount(stratum_of)
        sizes = sizes[sizes >= 2]
        k = len(sizes) / float(np.sum(1.0 / sizes))  # harmonic mean of the strata's sizes
        widen, centre = math.sqrt(k / (k - 1.0)), float(np.median(vals))
        low, high = centre - widen * (centre - low), centre + widen * (high - centre)
    return float(low), float(high)


def ci_missing_reason(units: int, most_per_stratum: Optional[int] = None) -> str:
    """Why a median has no bootstrap CI, from its count of independent observations and, for a
    stratified CI, the most observations of any one stratum ('' when it has one)."""
    if units == 0:
        return "no values"
    if units < MIN_UNITS_FOR_CI:
        return f"no CI: {units} observation (a bootstrap CI needs >= {MIN_UNITS_FOR_CI})"
    if most_per_stratum is not None and most_per_stratum < MIN_UNITS_FOR_CI:
        return f"no CI: each prompt measured once (a within-prompt CI needs >= {MIN_UNITS_FOR_CI} repeats)"
    return ""


def cluster_strata(cluster_of: np.ndarray, strata: Sequence[str]) -> Optional[np.ndarray]:
    """Per cluster (0..K-1) its stratum index, strata with a single cluster merged into one; None
    when no stratum holds two clusters (nothing can vary: no CI)."""
    k = int(cluster_of.max()) + 1
    first = np.zeros(k, dtype=int)
    first[cluster_of[::-1]] = np.arange(len(cluster_of))[::-1]  # a value of each cluster
    names = np.asarray([strata[i] for i in first], dtype=object)
    sizes = {name: int((names == name).sum()) for name in set(names)}
    if max(sizes.values()) < 2:
        return None
    names = np.asarray([n if sizes[n] >= 2 else "\0singles" for n in names], dtype=object)
    _, stratum_of = np.unique(names.astype(str), return_inverse=True)
    return stratum_of


def cluster_bootstrap_medians(values: np.ndarray, cluster_of: np.ndarray, resamples: int,
                              rng: np.random.Generator, stratum_of: Optional[np.ndarray] = None) -> np.ndarray:
    """``resamples`` medians, each of the values of K clusters drawn with replacement from the K
    clusters (``cluster_of[i]`` in 0..K-1 is value i's cluster); with ``stratum_of`` (per cluster)
    the clusters of each stratum are drawn from that stratum only, as many as it has. Vectorised:
    a resample is a count per cluster; the median of the pooled values is read off the sorted
    values weighted by those counts (the mean of the two middle elements when the pooled count
    is even, as ``np.median`` does)."""
    k = int(cluster_of.max()) + 1
    order = np.argsort(values, kind="mergesort")
    sorted_vals, sorted_cluster = values[order], cluster_of[order]
    offsets = (np.arange(resamples) * k)[:, None]
    if stratum_of is None:
        picks = rng.integers(0, k, size=(resamples, k))
    else:
        picks = np.empty((resamples, k), dtype=np.int64)
        for members in (np.flatnonzero(stratum_of == s) for s in range(int(stratum_of.max()) + 1)):
            picks[:, members] = members[rng.integers(0, len(members), size=(resamples, len(members)))]
    counts = np.bincount((picks + offsets).ravel(), minlength=resamples * k).reshape(resamples, k)
    cum = np.cumsum(counts[:, sorted_cluster].astype(np.int32), axis=1)  # (resamples, n)
    total = cum[:, -1]
    lo_pos, hi_pos = (total - 1) // 2, total // 2
    lo = np.argmax(cum > lo_pos[:, None], axis=1)
    hi = np.argmax(cum > hi_pos[:, None], axis=1)
    return (sorted_vals[lo] + sorted_vals[hi]) / 2.0


SIGN_FLIP_EXACT_MAX = 16
SIGN_FLIP_RESAMPLES = 20000


def min_sign_flip_p(n: int) -> float:
    """The smallest two-sided p-value the sign-flip test can give with n pairs: 2 / 2^n."""
    return 1.0 if n <= 0 else min(1.0, 2.0 / 2.0 ** n)


def paired_sign_flip_p(differences: Sequence[float], seed: int = BOOTSTRAP_SEED) -> Optional[float]:
    """Two-sided sign-flip (permutation) p-value of ``|mean(d)|``; None for fewer than 2 pairs.

    Exact over every sign pattern for n <= SIGN_FLIP_EXACT_MAX, else SIGN_FLIP_RESAMPLES
    random patterns (fixed seed; the observed pattern counts once, so p > 0)."""
    d = np.asarray(clean(differences), dtype=float)
    n = d.size
    if n < 2:
        return None
    if not np.any(d):
        return 1.0
    observed = abs(d.mean())
    if n <= SIGN_FLIP_EXACT_MAX:
        patterns = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1) * 2 - 1
        means = np.abs(patterns @ d) / n
        return float(np.mean(means >= observed - 1e-12 * max(1.0, observed)))
    rng = np.random.Generator(np.random.PCG64(seed))
    signs = rng.integers(0, 2, size=(SIGN_FLIP_RESAMPLES, n)) * 2 - 1
    means = np.abs(signs @ d) / n
    return float((1 + np.sum(means >= observed - 1e-12 * max(1.0, observed))) / (SIGN_FLIP_RESAMPLES + 1))


def percentile_supported(q: int, n: int) -> bool:
    """True when n is large enough for the q-th percentile to mean something (see MIN_N_FOR_PERCENTILE)."""
    return n >= MIN_N_FOR_PERCENTILE.get(q, 1)


def percentile_note() -> str:
    """Why a percentile cell can be empty, said once per table (header, caption or legend)."""
    needs = " and ".join(f"p{q} at least {n}" for q, n in MIN_N_FOR_PERCENTILE.items() if n > 1)
    return f"Percentiles need enough warm rows ({needs}); with fewer the cell is left empty."


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points (x = latency, lower is better; y = rate, higher is better) no other point dominates.

    Point j dominates i when x_j <= x_i and y_j >= y_i with at least one strict.
    """
    front = []
    for i, (xi, yi) in enumerate(points):
        dominated = any(
            (xj <= xi and yj >= yi) and (xj < xi or yj > yi)
            for j, (xj, yj) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return front
