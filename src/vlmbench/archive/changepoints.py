"""Change points in a series of run medians: PELT (Killick, Fearnhead & Eckley 2012) with the
least-squares (``l2``) cost on ln(run median), penalty ``PENALTY_FACTOR * sigma^2 * ln(n)`` per
change (the BIC penalty for a shift in mean with noise sigma), segments of at least ``MIN_SIZE``
runs. ``sigma`` is the series' between-run spread (:mod:`vlmbench.archive.noise`), so a change
point means "a level shift larger than run-to-run noise explains". A change point whose segment
medians differ by less than ``min_shift_pct`` is dropped (a real but too small shift).

Why a fallback: ``ruptures`` (the ``[changepoints]`` extra) is used when installed, but the
machines vlmbench runs on (GPU hosts set up for the benchmark, CI images) often cannot install
anything beyond the core dependencies, and a history page must not lose its change points there.
The fallback is the same exact PELT recursion written in numpy (a few lines for series of tens
to thousands of runs); tests check that both give the same change points.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

MIN_SIZE = 2
PENALTY_FACTOR = 2.0
DEFAULT_MIN_SHIFT_PCT = 5.0


def penalty(sigma: float, n: int) -> float:
    return PENALTY_FACTOR * sigma ** 2 * math.log(max(n, 2))


def pelt_numpy(signal: Sequence[float], pen: float, min_size: int = MIN_SIZE) -> list[int]:
    """Exact PELT with the l2 cost; returns the indices where a new segment starts."""
    x = np.asarray(signal, dtype=float)
    n = len(x)
    if n < 2 * min_size:
        return []
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def cost(a: np.ndarray, b: int) -> np.ndarray:  # cost of segments x[a:b] for an array of starts a
        length = b - a
        return (s2[b] - s2[a]) - (s1[b] - s1[a]) ** 2 / length

    best = np.full(n + 1, np.inf)
    best[0] = -pen
    last = np.zeros(n + 1, dtype=int)
    candidates = np.array([0])
    for t in range(min_size, n + 1):
        admissible = candidates[t - candidates >= min_size]
        if admissible.size:
            totals = best[admissible] + cost(admissible, t) + pen
            k = int(np.argmin(totals))
            best[t], last[t] = totals[k], admissible[k]
            # pruning: a start that cannot win now never wins later (the l2 cost is additive)
            keep = best[admissible] + cost(admissible, t) <= best[t]
            candidates = np.concatenate([candidates[t - candidates < min_size], admissible[keep]])
        if t <= n - min_size:  # t can start a segment of min_size runs
            candidates = np.append(candidates, t)
    points = []
    t = n
    while t > 0:
        t = int(last[t])
        if t > 0:
            points.append(t)
    return sorted(points)


def pelt_ruptures(signal: Sequence[float], pen: float, min_size: int = MIN_SIZE) -> Optional[list[int]]:
    """The same with ruptures' Pelt; None when ruptures is not installed."""
    try:
        import ruptures
    except ImportError:
        return None
    x = np.asarray(signal, dtype=float).reshape(-1, 1)
    if len(x) < 2 * min_size:
        return []
    return [int(b) for b in ruptures.Pelt(model="l2", min_size=min_size, jump=1).fit(x).predict(pen=pen)[:-1]]


def detect(log_values: Sequence[float], sigma: float, min_shift_pct: float = DEFAULT_MIN_SHIFT_PCT,
           use_ruptures: bool = True) -> list[int]:
    """Change points (indices of the first run of a new level) of a series of ln(run medians)."""
    x = np.asarray([v for v in log_values], dtype=float)
    if len(x) < 2 * MIN_SIZE or not np.isfinite(x).all():
        return []
    pen = penalty(sigma, len(x))
    found = pelt_ruptures(x, pen) if use_ruptures else None
    if found is None:
        found = pelt_numpy(x, pen)
    bounds = [0] + found + [len(x)]
    kept = []
    for i, point in enumerate(found, start=1):
        before, after = np.median(x[bounds[i - 1]:point]), np.median(x[point:bounds[i + 1]])
        if abs(math.expm1(after - before)) * 100.0 >= min_shift_pct:
            kept.append(point)
    return kept
