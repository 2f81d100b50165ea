"""Measured rows the predictor can be calibrated and validated on.

From the run folders' ``requests.csv`` (read by the results reader, which refuses what it does not
understand): the warm ok rows (``results.selection``) of in-process runs (``backend=hf``) of
catalog models; a case measured only cold is left out (its time holds the first request's one-time
costs). The memory the predictor is calibrated and validated on is the allocated memory
(``results.selection.allocated_memory_mb``: CUDA allocated on GPUs, peak RSS on the CPU).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from vlmbench.backends import capabilities
from vlmbench.catalog import has
from vlmbench.errors import UsageError
from vlmbench.results.selection import is_warm_ok

MEASURED = {"preprocess": "preprocess_ms", "vision": "vision_ms", "prefill": "prefill_ms", "ttft": "ttft_ms",
            "tpot": "tpot_ms", "e2e": "e2e_ms"}


def stack_key(row: dict[str, Any]) -> str:
    return f"attn={row.get('attn') or 'default'},compile={'true' if row.get('compile') else 'false'}"


def load_rows(run_dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    from vlmbench.results.reader import read_rows

    rows: list[dict[str, Any]] = []
    for d in run_dirs:
        p = Path(d)
        f = p / "requests.csv" if p.is_dir() else p
        if not f.exists():
            raise UsageError(f"--runs {str(d)!r}: no requests.csv there")
        rows.extend(read_rows(f))
    return [r for r in rows if is_warm_ok(r) and capabilities(r.get("backend")).in_process
            and r.get("model_id") and has(r["model_id"]) and r.get("ttft_ms") is not None]
