"""Assemble complete rows: identity columns of a cell + backend columns + outcome."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from vlmbench.config import RunConfig
from vlmbench.promptset import PromptSet
from vlmbench.results.schema import Status
from vlmbench.vocab.cells import Cell


@lru_cache(maxsize=None)
def size_class(model_id: str, backend: str) -> Optional[str]:
    """"tiny" for a catalog tiny variant, "real" for a catalog entry with published shapes,
    None (empty) for an endpoint (a backend whose model ids are not catalog entries) or a model
    the catalog does not know."""
    from vlmbench.backends import capabilities
    from vlmbench.catalog import get, has

    if not capabilities(backend).catalog_models:
        return None

    if not has(model_id):
        return None
    return "tiny" if get(model_id).is_tiny else "real"


def identity(run_id: str, config: RunConfig, cell: Cell, slot: int, promptset: PromptSet) -> dict[str, Any]:
    item = promptset.get(cell.prompt_ids[slot])
    return {
        "run_id": run_id,
        "request_id": cell.request_id(slot),
        "model_id": cell.model_id,
        "weights": config.weights,
        "backend": config.backend,
        "scenario": cell.scenario.name,
        "promptset_version": promptset.version,
        "prompt_id": item.id,
        "image_width": item.width,
        "image_height": item.height,
        "repeat": cell.repeat,
        "batch_size": len(cell.prompt_ids),
        "batch_index": slot,
        "window_id": cell.window_id,
        "max_new_tokens": cell.scenario.max_new_tokens,
        "size_class": size_class(cell.model_id, config.backend),
        "image_source": item.origin,
        "n_images": item.n_images,
        "image_sha256": " ".join(part.sha256 for part in item.images),
        "cache_state": cell.scenario.cache_state or None,
    }


def failure_rows(
    run_id: str, config: RunConfig, cell: Cell, promptset: PromptSet, status: Status, error: str,
    constants: Optional[dict[str, Any]] = None, cold: bool = False,
) -> list[dict[str, Any]]:
    rows = []
    for slot in range(len(cell.prompt_ids)):
        row = dict(constants or {})
        row.update(identity(run_id, config, cell, slot, promptset))
        row.update(status=status.value, error=error, cold=cold)
        rows.append(row)
    return rows


def window_columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput of one generate call: sum of tokens (and requests) over its duration; its size."""
    ends = [r.get("e2e_ms") for r in rows]
    if not rows or any(e is None for e in ends):
        return {"window_output_tps": None, "window_rps": None, "window_requests": len(rows) or None}
    seconds = max(ends) / 1000.0
    tokens = sum(r.get("n_output_tokens") or 0 for r in rows)
    return {"window_output_tps": tokens / seconds, "window_rps": len(rows) / seconds, "window_requests": len(rows)}
