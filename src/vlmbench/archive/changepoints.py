"""Change points in a series of run medians: PELT (Killick, Fearnhead & Eckley 2012) with the
least-squares (``l2``) cost on ln(run median), penalty ``PENALTY_FACTOR * sigma^2 * ln(n)`` per
change (``PENALTY_FACTOR`` chosen by simulation, ``bench/gate_power.py --changepoints``: the
smallest factor with at most 5 % of unchanged series showing a change), segments of at least
``MIN_SIZE`` (3) runs.

**Outliers first**: a single run far from its neighbours on every side it has (more than
``OUTLIER_Z`` sigma from the median of up to ``OUTLIER_SPAN`` runs before it and, where there are
any, the same after it, in the same direction) is an outlier (a noisy neighbour, a one-off
stall): it is reported as such and left out of the change-point search, so it is never a change.
Before / after / shift of a change are the medians of the two segments the detector compared. ``sigma`` is the series' between-run spread (:mod:`vlmbench.archive.noise`), so a change
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
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

MIN_SIZE = 3
PENALTY_FACTOR = 4.0
DEFAULT_MIN_SHIFT_PCT = 5.0
OUTLIER_Z = 4.0
OUTLIER_SPAN = 3


@dataclass(frozen=True)
class Change:
    """A change point in original run indices: the level moves at ``index``; the segments the
    detector compared are runs ``[start, index)`` and ``[index, end)`` (outliers left out)."""

    index: int
    start: int
    end: int
    before: float  # median of the log values of the segment before (outliers left out)
    after: float

    @property
    def shift_pct(self) -> float:
        return 100.0 * math.expm1(self.after - self.before)


def outlier_gap(x: np.ndarray, i: int, sigma: float) -> float:
    """How far run ``i`` of the series ``x`` (ln run medians) stands from its neighbours, in
    ``sigma``: its distance from the median of up to ``OUTLIER_SPAN`` runs on each side it has, the
    smaller one where the sides agree in direction, 0 where they do not; NaN with fewer than two
    neighbours (module doc)."""
    if len(x) < 3 or not math.isfinite(sigma) or sigma <= 0 or not math.isfinite(x[i]):
        return math.nan
    sides = [x[max(0, i - OUTLIER_SPAN):i], x[i + 1:i + 1 + OUTLIER_SPAN]]
    sides = [side[np.isfinite(side)] for side in sides if np.isfinite(side).sum() >= 1]
    if not sides or sum(len(side) for side in sides) < 2:
        return math.nan
    gaps = [(x[i] - float(np.median(side))) / sigma for side in sides]
    return min(gaps) if min(gaps) > 0 else max(gaps) if max(gaps) < 0 else 0.0


def is_outlier(x: np.ndarray, i: int, sigma: float) -> bool:
    """Whether run ``i`` is a single run more than ``OUTLIER_Z`` sigma from its neighbours on every
    side it has, in the same direction (module doc)."""
    return abs(outlier_gap(x, i, sigma)) > OUTLIER_Z


def outliers(log_values: Sequence[float], sigma: float) -> list[int]:
    """Indices of single runs far from their neighbours on every side they have (module doc)."""
    x = np.asarray(log_values, dtype=float)
    return [i for i in range(len(x)) if is_outlier(x, i, sigma)]


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


def changes(log_values: Sequence[float], sigma: float, min_shift_pct: float = DEFAULT_MIN_SHIFT_PCT,
            use_ruptures: bool = True) -> list[Change]:
    """Change points of a series of ln(run medians), outliers left out (module doc)."""
    x = np.asarray([v for v in log_values], dtype=float)
    if not np.isfinite(x).all():
        return []
    kept_idx = np.asarray([i for i in range(len(x)) if i not in set(outliers(x, sigma))], dtype=int)
    y = x[kept_idx]
    if len(y) < 2 * MIN_SIZE:
        return []
    pen = penalty(sigma, len(y))
    found = pelt_ruptures(y, pen) if use_ruptures else None
    if found is None:
        found = pelt_numpy(y, pen)
    bounds = [0] + found + [len(y)]
    out = []
    for i, point in enumerate(found, start=1):
        before, after = float(np.median(y[bounds[i - 1]:point])), float(np.median(y[point:bounds[i + 1]]))
        if abs(math.expm1(after - before)) * 100.0 >= min_shift_pct:
            end = int(kept_idx[bounds[i + 1] - 1]) + 1
            out.append(Change(int(kept_idx[point]), int(kept_idx[bounds[i - 1]]), end, before, after))
    return out


def detect(log_values: Sequence[float], sigma: float, min_shift_pct: float = DEFAULT_MIN_SHIFT_PCT,
           use_ruptures: bool = True) -> list[int]:
    """Change points (indices of the first run of a new level) of a series of ln(run medians)."""
    return [c.index for c in changes(log_values, sigma, min_shift_pct, use_ruptures)]
