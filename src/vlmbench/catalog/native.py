"""One builder for the entries of today's VLMs: a transformers-native class built from the
published config, a hub checkpoint, the fact sheet's exact count and, where the image size sets
the visual-token count (dynamic resolution, tiling), the processor's token rule.

Everything an entry states is an argument; nothing is inferred from names. ``assumption`` (what
is not public and was assumed) marks the entry ``assumed_shapes`` and is its approximation note.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance


def native_entry(*, entry_id: str, system: str, build_config: Callable[[], Any], model_class: Any,
                 processor: ProcessorSpec, shapes: str, published_total: str, checkpoint: str,
                 reference_params: int, language_model: str, vision_encoder: str,
                 vision_modules: tuple[str, ...], reference_resolution: tuple[int, int], prompt_template: str,
                 image_token_rule: Optional[Callable[[int, int], int]] = None,
                 visual_tokens: Optional[int] = None, assumption: str = "") -> CatalogEntry:
    """A CatalogEntry; ``visual_tokens`` defaults to the rule at the reference resolution."""
    if visual_tokens is None:
        if image_token_rule is None:
            raise ValueError(f"{entry_id}: give visual_tokens or an image_token_rule")
        visual_tokens = int(image_token_rule(*reference_resolution))
    return CatalogEntry(
        id=entry_id, system=system, build_config=build_config, model_class=model_class, processor=processor,
        provenance=Provenance(shapes=shapes, published_total=published_total, approximations=assumption or "none"),
        checkpoints=(checkpoint,), reference_params=reference_params, visual_tokens=visual_tokens,
        reference_resolution=reference_resolution, image_token_rule=image_token_rule,
        vision_encoder=vision_encoder, language_model=language_model, construction="native",
        assumed_shapes=bool(assumption), assumption=assumption, vision_modules=vision_modules,
        prompt_template=prompt_template,
    )
