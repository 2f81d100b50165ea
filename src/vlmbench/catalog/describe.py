"""Describe catalog entries for ``vlmbench models`` (parameters counted on the meta device)."""

from __future__ import annotations

import functools
from typing import Any

from vlmbench.catalog.entry import CatalogEntry
from vlmbench.catalog.materialise import count_parameters_meta


@functools.lru_cache(maxsize=None)
def parameter_count(entry_id: str) -> int:
    from vlmbench.catalog import get

    e = get(entry_id)
    return count_parameters_meta(e.model_class, e.build_config())


def describe(e: CatalogEntry) -> dict[str, Any]:
    res = e.reference_resolution
    return {
        "id": e.id,
        "system": e.system,
        "params": parameter_count(e.id),
        "reference_params": e.reference_params,
        "visual_tokens": e.visual_tokens,
        "resolution": f"{res[0]}x{res[1]}" if res else None,
        "vision_encoder": e.vision_encoder,
        "language_model": e.language_model,
        "construction": e.construction,
        "checkpoint": e.checkpoints[0] if e.checkpoints else None,
        "checkpoints": list(e.checkpoints),
        "weights_available": "hub: " + ", ".join(e.checkpoints) if e.checkpoints else "random only",
        "tiny_of": e.tiny_of,
        "assumed_shapes": e.assumed_shapes,
        "assumption": e.assumption or None,
        "provenance": {
            "shapes": e.provenance.shapes,
            "published_total": e.provenance.published_total,
            "approximations": e.provenance.approximations,
            "code": e.provenance.code or None,
        },
    }


def _human(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def table(rows: list[dict[str, Any]]) -> str:
    header = ("id", "system", "params", "vision encoder", "visual tokens", "language model", "construction", "weights")
    lines = [header]
    for r in rows:
        lines.append((
            r["id"], r["system"], _human(r["params"]), r["vision_encoder"],
            str(r["visual_tokens"] if r["visual_tokens"] is not None else "-"),
            r["language_model"], r["construction"],
            r["checkpoint"] or "random only",
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
