"""Measured rows the predictor can be calibrated and validated on.

From the run folders' ``requests.csv`` (read by the results reader, which refuses what it does not
understand): in-process rows (``backend=hf``) with ``status=ok`` of catalog models. Warm rows are
preferred; a (model, prompt, batch, dtype, output length) measured only cold (``--warmup 0`` runs of
slow real-size models) uses its cold rows. Peak memory is ``peak_cuda_allocated_mb`` on GPUs and
``peak_rss_mb`` on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from vlmbench.backends import capabilities
from vlmbench.catalog import has
from vlmbench.errors import UsageError

MEASURED = {"preprocess": "preprocess_ms", "vision": "vision_ms", "prefill": "prefill_ms", "ttft": "ttft_ms",
            "tpot": "tpot_ms", "e2e": "e2e_ms"}


def stack_key(row: dict[str, Any]) -> str:
    return f"attn={row.get('attn') or 'default'},compile={'true' if row.get('compile') else 'false'}"


def memory_mb(row: dict[str, Any]) -> Any:
    if str(row.get("device") or "").startswith("cuda"):
        return row.get("peak_cuda_allocated_mb")
    return row.get("peak_rss_mb")


def load_rows(run_dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    from vlmbench.results.reader import read_rows

    rows: list[dict[str, Any]] = []
    for d in run_dirs:
        p = Path(d)
        f = p / "requests.csv" if p.is_dir() else p
        if not f.exists():
            raise UsageError(f"--runs {str(d)!r}: no requests.csv there")
        rows.extend(read_rows(f))
    usable = [r for r in rows if r.get("status") == "ok" and capabilities(r.get("backend")).in_process
              and r.get("model_id") and has(r["model_id"]) and r.get("ttft_ms") is not None]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in usable:
        key = (r["model_id"], r["prompt_id"], r["batch_size"], r["dtype"], r["n_output_tokens"], r.get("device"))
        groups.setdefault(key, []).append(r)
    out = []
    for g in groups.values():
        warm = [r for r in g if not r.get("cold")]
        out.extend(warm or g)
    return out
