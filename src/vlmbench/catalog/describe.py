"""Describe catalog entries for ``vlmbench models`` (parameters counted on the meta device).

Counts go through a persistent cache (``param_cache``), so a second ``vlmbench models`` does not
instantiate anything; ``describe_all`` counts every entry with one cache read and one write.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from vlmbench.catalog.entry import CatalogEntry
from vlmbench.catalog.materialise import count_parameters_meta
from vlmbench.catalog.param_cache import ParameterCountCache

_default_cache: Optional[ParameterCountCache] = None


def default_cache() -> ParameterCountCache:
    global _default_cache
    if _default_cache is None:
        _default_cache = ParameterCountCache()
    return _default_cache


def parameter_count(entry_id: str, cache: Optional[ParameterCountCache] = None) -> int:
    """Exact parameter count of a catalog entry, built on the meta device (cached)."""
    from vlmbench.catalog import get

    e = get(entry_id)
    return (cache or default_cache()).count(e.model_class, e.build_config(), count_parameters_meta)


def describe_all(entries: Iterable[CatalogEntry], cache: Optional[ParameterCountCache] = None) -> list[dict[str, Any]]:
    """``describe`` every entry, then store any newly computed counts."""
    cache = cache or default_cache()
    rows = [describe(e, cache) for e in entries]
    cache.save()
    return rows


def describe(e: CatalogEntry, cache: Optional[ParameterCountCache] = None) -> dict[str, Any]:
    res = e.reference_resolution
    return {
        "id": e.id,
        "system": e.system,
        "params": parameter_count(e.id, cache),
        "reference_params": e.reference_params,
        "reference_params_not_built": e.reference_params_not_built,
        "visual_tokens": e.visual_tokens,
        "resolution": f"{res[0]}x{res[1]}" if res else None,
        "vision_encoder": e.vision_encoder,
        "language_model": e.language_model,
        "construction": e.construction,
        "checkpoint": e.checkpoints[0] if e.checkpoints else None,
        "checkpoints": list(e.checkpoints),
        "weights_available": weights_available(e),
        "trust_remote_code_checkpoint": e.trust_remote_code_checkpoint,
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


def weights_available(e: CatalogEntry) -> str:
    """'random only', or the hub ids of the published weights (noting when they need remote code)."""
    if not e.checkpoints:
        return "random only"
    note = " (remote code)" if e.trust_remote_code_checkpoint else ""
    return "hub: " + ", ".join(e.checkpoints) + note


def _human(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def table(rows: list[dict[str, Any]]) -> str:
    header = ("id", "system", "params", "vision encoder", "resolution", "visual tokens", "language model",
              "construction", "weights")
    lines = [header]
    for r in rows:
        weights = "random only"
        if r["checkpoint"]:
            weights = r["checkpoint"] + (" (remote code)" if r.get("trust_remote_code_checkpoint") else "")
        lines.append((
            r["id"], r["system"], _human(r["params"]), r["vision_encoder"], r["resolution"] or "-",
            str(r["visual_tokens"] if r["visual_tokens"] is not None else "-"),
            r["language_model"], r["construction"], weights,
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
