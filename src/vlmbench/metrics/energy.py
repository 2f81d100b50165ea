"""Per-request energy metrics, from the energy of the window (one ``generate`` call) a request
was served in. One class per metric, formula in its docstring (see METRICS.md, "Energy").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# A window must span at least this many update periods of the counter: the counter moves in
# steps, so a window can be off by up to one period; five keep that error at or below 20 %
# for the shortest window accepted, and much less for typical ones.
MIN_COUNTER_UPDATES = 5


@dataclass(frozen=True)
class EnergyWindow:
    """The energy of one window of work.

    ``joules``             counter delta over the window (whole device), None when not measured
    ``duration_ms``        host time of the same window
    ``batch_size``         requests served by the window (the batch of the ``generate`` call)
    ``counter_update_ms``  measured update period of the counter (None when unknown: then no
                           window is usable, since its error cannot be bounded)
    """

    joules: Optional[float]
    duration_ms: Optional[float]
    batch_size: int
    counter_update_ms: Optional[float] = None

    @property
    def usable(self) -> bool:
        """A positive delta over a window at least MIN_COUNTER_UPDATES known update periods long
        (an unknown period fails closed)."""
        if self.joules is None or self.joules <= 0 or self.batch_size < 1:
            return False
        if not self.counter_update_ms or self.duration_ms is None:
            return False
        return self.duration_ms >= MIN_COUNTER_UPDATES * self.counter_update_ms


class EnergyPerRequest:
    """Energy of one request: ``energy_j = E_window / B``. J.

    ``E_window`` = (total-energy counter at the end of the ``generate`` call - at its start)
    / 1000, for the whole device; ``B`` = requests in that call. Every request of a batch runs
    the same forward passes (outputs are forced to the same length), so each row carries an
    equal share, and the ``energy_j`` of a window's rows add up to ``E_window``. At batch 1,
    ``energy_j = E_window``. Empty (never 0) without a counter, for a delta that is not
    positive, for a window shorter than MIN_COUNTER_UPDATES counter update periods, or for
    every window when the update period could not be measured.
    """

    column = "energy_j"
    unit = "J"

    def compute(self, w: EnergyWindow, row: dict[str, Any]) -> Optional[float]:
        return w.joules / w.batch_size if w.usable else None  # type: ignore[operator]


class TokensPerJoule:
    """Output tokens per joule: ``tokens_per_j = n_output_tokens / energy_j``. tokens/J.

    Inside a batch every row has the same tokens and the same share, so this equals the
    window's ``sum(n_output_tokens) / E_window``. Empty when ``energy_j`` is.
    """

    column = "tokens_per_j"
    unit = "tokens/J"

    def compute(self, w: EnergyWindow, row: dict[str, Any]) -> Optional[float]:
        energy, tokens = row.get("energy_j"), row.get("n_output_tokens")
        if not energy or tokens is None:
            return None
        return tokens / energy


ENERGY_METRICS = (EnergyPerRequest(), TokensPerJoule())


def compute_energy_metrics(w: EnergyWindow, row: dict[str, Any]) -> dict[str, Any]:
    """The energy columns of one row; ``row`` must already hold ``n_output_tokens``."""
    out: dict[str, Any] = {}
    for metric in ENERGY_METRICS:
        out[metric.column] = metric.compute(w, {**row, **out})
    return out
