"""Model size classes for filtering the leaderboard, from the parameter count in manifest.json."""

from __future__ import annotations

from typing import Optional

# (upper bound in parameters, label); the first bound above the count wins.
SIZE_CLASSES: tuple[tuple[float, str], ...] = (
    (1e8, "tiny (<100M)"),
    (3e9, "small (<3B)"),
    (1e10, "medium (3-10B)"),
    (float("inf"), "large (>=10B)"),
)
UNKNOWN_SIZE = "unknown size"


def size_class(parameters: Optional[int]) -> str:
    if parameters is None:
        return UNKNOWN_SIZE
    return next(label for bound, label in SIZE_CLASSES if parameters < bound)


def format_parameters(parameters: Optional[int]) -> str:
    """4336576 -> '4.3M', 7063427072 -> '7.06B'."""
    if parameters is None:
        return "?"
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{suffix}"
    return str(parameters)
