"""Axes for values of very different sizes: separate panels for real-size and tiny models, and a
log axis where the values of one panel still span too much.

A linear axis that holds a 5 s row squeezes a 10 ms row onto 0. Where the values a chart draws
span more than ``SPAN_LIMIT`` (largest / smallest positive value), the models are split by their
rows' ``size_class`` ("real" panel first, then "tiny", then models of unknown class), each panel
with its own axis; a panel whose values still span more than ``SPAN_LIMIT`` (or a chart whose
models are all of one class) gets a log axis. Within ``SPAN_LIMIT`` nothing changes: one panel,
linear axis from 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

SPAN_LIMIT = 20.0
SIZE_CLASS_PANELS: tuple[tuple[str, str], ...] = (("real", "real-size models"), ("tiny", "tiny models"),
                                                  ("", "models of unknown size class"))
LOG_NOTE = " (log scale)"


def span(values: Iterable[Any]) -> float:
    """Largest / smallest positive finite value (1.0 with fewer than two)."""
    positive = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    return max(positive) / min(positive) if len(positive) > 1 else 1.0


def wide(values: Iterable[Any]) -> bool:
    """True where a linear axis from 0 would squeeze the smallest values onto 0."""
    return span(values) > SPAN_LIMIT


def size_class(group: Any) -> str:
    """The group's ``size_class`` ("real" / "tiny"), "" when unknown (endpoints, schema v1)."""
    value = group.size_class
    return value if value in ("real", "tiny") else ""


@dataclass(frozen=True)
class Panel:
    """Rows ``indices`` (positions in the chart's groups) on one axis; ``name`` is "" for a single panel."""

    name: str
    indices: tuple[int, ...]
    log: bool


def panels(groups: Sequence[Any], values: Sequence[Sequence[Any]], allow_log: bool = True) -> list[Panel]:
    """Split ``groups`` (``values[i]``: every value drawn for groups[i]) as the module docstring says.
    ``allow_log=False`` (stacked bars, whose segments a log axis would distort): panels only."""
    everything = [v for vs in values for v in vs]
    every_index = tuple(range(len(groups)))
    if not wide(everything):
        return [Panel("", every_index, False)]
    by_class = {key: tuple(i for i, g in enumerate(groups) if size_class(g) == key) for key, _ in SIZE_CLASS_PANELS}
    present = [(name, idx) for (key, name), idx in zip(SIZE_CLASS_PANELS, by_class.values()) if idx]
    if len(present) < 2:
        return [Panel("", every_index, allow_log)]
    return [Panel(name, idx, allow_log and wide(v for i in idx for v in values[i])) for name, idx in present]


def log_floor(values: Iterable[Any]) -> float:
    """Left end of a log axis: the power of ten at or below the smallest positive value."""
    positive = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    return 10.0 ** math.floor(math.log10(min(positive))) if positive else 1.0
