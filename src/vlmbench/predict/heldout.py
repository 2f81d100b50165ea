"""Leave-one-model-out predictions ("held out by model, same machine"): each model's measured rows
predicted by parameters fitted, from a profile's starting point, on the other models' rows only.

"Held out" here means a held-out *model* measured on the *same machine* as the models the fit saw:
it says how well the predictor carries to an unseen architecture on a calibrated machine, not to
another machine. :mod:`validate` reports its errors, :mod:`intervals` turns them into intervals.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional, Sequence

import numpy as np

from vlmbench.predict.fit import Sample, fit_params
from vlmbench.predict.measured import MEASURED, stack_key
from vlmbench.predict.profiles.schema import STAGES, Profile
from vlmbench.predict.timing import Times, predict_times
from vlmbench.results.selection import allocated_memory_mb

__all__ = ["STAGES", "held_out_fits", "lomo_pairs", "measured", "predicted"]


def measured(row: dict[str, Any], stage: str) -> Optional[float]:
    v = allocated_memory_mb(row) if stage == "peak_memory" else row.get(MEASURED[stage])
    return float(v) if v not in (None, "") and float(v) > 0 else None


def predicted(t: Times, stage: str) -> Optional[float]:
    v = getattr(t, "peak_allocated_mb" if stage == "peak_memory" else f"{stage}_ms")
    return float(v) if v is not None and np.isfinite(v) and v > 0 else None


def held_out_fits(start: Profile, data: Sequence[Sample]) -> Iterator[tuple[list[Sample], list[tuple[Sample, Times]]]]:
    """Per model (sorted): (the other models' samples, this model's samples predicted with
    parameters fitted on those, per stack)."""
    for m in sorted({s.row["model_id"] for s in data}):
        train = [s for s in data if s.row["model_id"] != m]
        test = [s for s in data if s.row["model_id"] == m]
        if not train:
            continue
        by_stack: dict[str, list[Sample]] = {}
        for s in train:
            by_stack.setdefault(stack_key(s.row), []).append(s)
        fitted = {k: fit_params(start, v, start.params) for k, v in by_stack.items()}
        fallback = fitted[max(by_stack, key=lambda k: len(by_stack[k]))]
        yield train, [(s, predict_times(s.case.counts, s.n_out, s.case.in_pixels, start,
                                        fitted.get(stack_key(s.row), fallback))) for s in test]


def lomo_pairs(start: Profile, data: Sequence[Sample]) -> list[tuple[Sample, Times]]:
    """Each model's samples predicted with parameters fitted on the other models' samples (per stack)."""
    return [pair for _, pairs in held_out_fits(start, data) for pair in pairs]
