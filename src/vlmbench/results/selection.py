"""Which rows a statistic is taken over, and which memory figure is which: one definition each,
used by report, archive (series, gate, site) and predict.

- **Warm ok rows**: ``status == ok``, not ``cold`` (the first measured request after the model
  load) and not a load window's ramp or drain row (``window_edge``, schema v3: it ran at a load
  other than the window's own; kept in the rows and counted). Every latency, throughput, energy
  and stability statistic is taken over them. Cold rows are reported apart and never stand in for warm ones: a group
  measured only cold has no warm statistics (the report flags "no warm ok rows", the run's
  closing table shows "-", the predictor neither calibrates nor validates on it).
- **Peak memory** (the headline figure: report tables, leaderboard, archive series and gate):
  per row, the device memory where it was measured -- NVML per-process, else CUDA reserved,
  else CUDA allocated -- else the worker's peak RSS; of a group or a run, the maximum over its
  ok rows, the cold one included (a peak is a peak, and the first request's is real).
- **Allocated memory** (what the predictor predicts and is calibrated on, ``peak_allocated_mb``
  in predictions.csv): the torch allocator's peak on CUDA (``peak_cuda_allocated_mb``), the
  worker's peak RSS on the CPU. It is not the headline peak memory: NVML and the CUDA reserve
  add the allocator's cache and the CUDA context on top.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pandas as pd

from vlmbench.results.schema import Status
from vlmbench.vocab.metrics import PEAK_MEMORY

__all__ = ["PEAK_MEMORY", "PEAK_MEMORY_SOURCES", "allocated_memory_mb", "cold_mask", "edge_mask",
           "headline_peak_memory", "is_warm_ok", "ok_mask", "warm_ok", "with_peak_memory"]
# Headline peak memory: the first of these a row measured, in this order (column, what it is).
PEAK_MEMORY_SOURCES: tuple[tuple[str, str], ...] = (
    ("peak_nvml_mb", "NVML device memory"),
    ("peak_cuda_reserved_mb", "CUDA reserved"),
    ("peak_cuda_allocated_mb", "CUDA allocated"),
    ("peak_rss_mb", "process RSS"),
)


def ok_mask(frame: pd.DataFrame) -> pd.Series:
    return frame["status"] == Status.OK.value


def cold_mask(frame: pd.DataFrame) -> pd.Series:
    return frame["cold"].fillna(False).astype(bool)


def edge_mask(frame: pd.DataFrame) -> pd.Series:
    """Per row (same index): True for a load window's ramp or drain row (``window_edge`` set)."""
    if "window_edge" not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame["window_edge"].astype("string").fillna("") != ""


def warm_ok(frame: pd.DataFrame) -> pd.DataFrame:
    """The warm ok rows of a frame (see the module docstring)."""
    return frame[ok_mask(frame) & ~cold_mask(frame) & ~edge_mask(frame)]


def is_warm_ok(row: Mapping[str, Any]) -> bool:
    """The same selection for one row as a mapping (rows read by ``results.reader.read_rows``)."""
    return row.get("status") == Status.OK.value and not row.get("cold") and not row.get("window_edge")


def with_peak_memory(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with a ``peak_memory_mb`` column: each row's headline peak memory."""
    out = frame.copy()
    sources = [column for column, _ in PEAK_MEMORY_SOURCES]
    out[PEAK_MEMORY] = out[sources].bfill(axis=1).iloc[:, 0].astype("float64")
    return out


def headline_peak_memory(maxima: Mapping[str, Any], suffix: str = "_max") -> tuple[Optional[float], str]:
    """The headline peak memory (MiB) from per-source maxima (``<source><suffix>``, e.g. a report
    summary row's ``peak_nvml_mb_max``) and what it is; (None, "") where nothing was measured."""
    for column, label in PEAK_MEMORY_SOURCES:
        value = maxima.get(f"{column}{suffix}")
        if value is not None:
            return value, label
    return None, ""


def allocated_memory_mb(row: Mapping[str, Any]) -> Optional[float]:
    """The row's allocated memory: CUDA allocator peak on a CUDA device, peak RSS elsewhere."""
    if str(row.get("device") or "").startswith("cuda"):
        return row.get("peak_cuda_allocated_mb")
    return row.get("peak_rss_mb")
