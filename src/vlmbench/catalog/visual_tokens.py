"""Visual tokens by image size, as a model's own processor counts them.

Every processor kind has its own rule (fixed resize, AnyRes pinpoints, HD crops, S2 scales,
pixel budgets, tiles); transformers processors publish theirs as
``_get_num_multimodal_tokens(image_sizes=[(h, w), ...])`` and vlmbench's stand-in
``ExpandingProcessor`` answers the same call from its ``tokens_per_image``. So the count here is
the processor's, whatever its kind: a new family whose processor answers that call needs
nothing here. A processor that cannot answer is reported by :class:`NoTokenRule`.

``reference_processor(model)`` is the catalog entry's stand-in processor (the real image
processor configuration), used for the grid (``--image-grid``) and for endpoint rows' expected
image tokens (input parity).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional, Sequence


class NoTokenRule(Exception):
    """The processor cannot say how many tokens an image size gives."""


def catalog_entry_for(model: str) -> Optional[Any]:
    """The catalog entry a model name means: its id, one of its checkpoints, or a local folder
    named after the id (a model saved from the catalog); None when none matches."""
    from vlmbench.catalog import all_entries, get, has

    name = Path(model).name
    for candidate in (model, name):
        if candidate and has(candidate):
            return get(candidate)
    for entry in all_entries():
        if model in entry.checkpoints:
            return entry
    return None


@lru_cache(maxsize=None)
def reference_processor(model: str) -> Any:
    """The stand-in processor of the catalog entry ``model`` names (see catalog_entry_for)."""
    from vlmbench.catalog.tokenizer import build_tokenizer

    entry = catalog_entry_for(model)
    if entry is None:
        raise NoTokenRule(f"{model!r} is not a catalog entry")
    spec = entry.processor
    return spec.build(build_tokenizer(spec.image_token, spec.extra_special_tokens, chat_template=spec.chat_template))


def image_token_counts(processor: Any, sizes: Sequence[tuple[int, int]]) -> list[int]:
    """Image tokens the processor gives each (width, height)."""
    rule = getattr(processor, "_get_num_multimodal_tokens", None)
    if rule is None:
        raise NoTokenRule(f"{type(processor).__name__} has no _get_num_multimodal_tokens")
    try:
        answer = rule(image_sizes=[(int(h), int(w)) for w, h in sizes])
    except Exception as exc:  # noqa: BLE001 - a processor without a size rule
        raise NoTokenRule(f"{type(processor).__name__}: {type(exc).__name__}: {exc}") from exc
    counts = getattr(answer, "num_image_tokens", None)
    if counts is None or len(counts) != len(sizes):
        raise NoTokenRule(f"{type(processor).__name__} gives no image-token counts")
    return [int(c) for c in counts]


def native_size(model: str, processor: Any) -> Optional[tuple[int, int]]:
    """The size the model was built for: the catalog's reference resolution, else the image
    processor's own ``crop_size`` / ``size``."""
    entry = catalog_entry_for(model)
    if entry is not None and entry.reference_resolution:
        return tuple(entry.reference_resolution)  # type: ignore[return-value]
    ip = getattr(processor, "image_processor", None)
    for attr in ("crop_size", "size"):
        size = getattr(ip, attr, None)
        size = size if isinstance(size, dict) else getattr(size, "__dict__", None)
        if size and size.get("height") and size.get("width"):
            return int(size["width"]), int(size["height"])
        if size and size.get("shortest_edge"):
            return int(size["shortest_edge"]), int(size["shortest_edge"])
    return None


def token_counter(model: str) -> Any:
    """``sizes -> counts`` for a catalog model: its processor's own rule, else the entry's
    ``image_token_rule`` (a family whose processor publishes none states it once there)."""
    processor = reference_processor(model)
    try:
        image_token_counts(processor, [(336, 336)])
        return lambda sizes: image_token_counts(processor, sizes)
    except NoTokenRule:
        entry = catalog_entry_for(model)
        if entry is None or entry.image_token_rule is None:
            raise
        return lambda sizes: [int(entry.image_tokens(int(w), int(h))) for w, h in sizes]
