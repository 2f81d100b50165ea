"""Stability of repeated measurements: is the spread small, and had the warmup really ended?

Two flags per metric of one (run, model, scenario) group, on its warm rows in the order they
were measured (``started_at``; rows of one batch share it):

- **high CV**: ``CV = s / m`` (sample standard deviation over mean, see
  :mod:`vlmbench.report.statistics`) above ``HIGH_CV`` (0.25).
- **drift**: the values, in measurement order, are split into a first and a second half (the
  middle value is left out when n is odd). Flagged when the two medians differ by more than
  ``DRIFT_RELATIVE`` (10 %) of the first half's median, and, where each half has at least
  ``MW_MIN_PER_HALF`` (5) values, the two-sided Mann-Whitney U test also gives
  ``p < DRIFT_P`` (0.05). With fewer values no test can reach that level (3 against 3: the
  smallest possible p is 0.1), so the relative rule decides alone, and the flag says so.
  Needs ``MIN_N_FOR_DRIFT`` (6) values. A first half slower than the second means the warmup
  was too short (allocator growth, kernel selection, clocks still ramping up); a second half
  slower means the machine changed during the run (thermal throttling, another job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from vlmbench.report.statistics import HIGH_CV, clean, coefficient_of_variation, mann_whitney_p, percentile

DRIFT_RELATIVE = 0.10
DRIFT_P = 0.05
MW_MIN_PER_HALF = 5
MIN_N_FOR_DRIFT = 6


@dataclass(frozen=True)
class Drift:
    """First-half and second-half medians of a series, their relative change, and the
    Mann-Whitney p-value (None where the halves are too small to test)."""

    n: int
    first_median: float
    second_median: float
    relative: float  # (second - first) / first
    p: Optional[float]

    @property
    def flagged(self) -> bool:
        if abs(self.relative) <= DRIFT_RELATIVE:
            return False
        return self.p is None or self.p < DRIFT_P


def in_measurement_order(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by ``started_at`` (ISO 8601 UTC sorts as text); ties keep their order."""
    return sorted(rows, key=lambda r: str(r.get("started_at") or ""))


def drift(values: Sequence[float]) -> Optional[Drift]:
    """Compare the first and second half of ``values`` (in measurement order); None when
    there are fewer than MIN_N_FOR_DRIFT values or the first half's median is 0."""
    vals = clean(values)
    n = len(vals)
    if n < MIN_N_FOR_DRIFT:
        return None
    half = n // 2
    first, second = vals[:half], vals[n - half:]
    m1, m2 = percentile(first, 50), percentile(second, 50)
    if not m1:
        return None
    p = mann_whitney_p(first, second) if half >= MW_MIN_PER_HALF else None
    return Drift(n, m1, m2, (m2 - m1) / m1, p)


def cv_flag(metric: str, values: Sequence[float]) -> Optional[str]:
    cv = coefficient_of_variation(clean(values))
    if cv is not None and cv > HIGH_CV:
        return f"high CV {metric}={cv:.2f} (>{HIGH_CV:g})"
    return None


def drift_flag(metric: str, values: Sequence[float]) -> Optional[str]:
    d = drift(values)
    if d is None or not d.flagged:
        return None
    test = f"Mann-Whitney p={d.p:.3f}" if d.p is not None else f"too few values to test, >{DRIFT_RELATIVE:.0%} rule"
    return (f"drift {metric}: median {d.first_median:.4g} -> {d.second_median:.4g} ({d.relative:+.0%}) "
            f"from first to second half of {d.n} warm rows ({test}): warmup too short or machine changed")


def stability_flags(warm_rows: Iterable[dict[str, Any]], metrics: Sequence[str]) -> list[str]:
    """High-CV and drift flags of each metric over a group's warm rows."""
    ordered = in_measurement_order(warm_rows)
    flags = []
    for metric in metrics:
        values = [r.get(metric) for r in ordered]
        for flag in (cv_flag(metric, clean(values)), drift_flag(metric, values)):
            if flag:
                flags.append(flag)
    return flags
