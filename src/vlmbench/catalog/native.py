"""One builder for the entries of today's VLMs: a transformers-native class built from the
published config, a hub checkpoint, the fact sheet's exact count and, where the image size sets
the visual-token count (dynamic resolution, tiling), the processor's token rule.

A family's shared facts (class, processor, prompt, vision side, token rule) are stated once in a
:class:`NativeFamily`; each size adds its config, sources, count and checkpoint. Nothing is inferred
from names. ``assumption`` (what is not public and was assumed) marks the entry ``assumed_shapes``
and is its approximation note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance


@dataclass(frozen=True)
class NativeFamily:
    system: str
    model_class: Any
    processor: ProcessorSpec
    prompt_template: str
    vision_encoder: str
    vision_modules: tuple[str, ...]
    reference_resolution: tuple[int, int]
    image_token_rule: Optional[Callable[[int, int], int]] = None  # None: always ``visual_tokens``
    visual_tokens: Optional[int] = None  # default: the rule at the reference resolution
    max_images: int = 1  # images one request may carry (CatalogEntry.max_images)
    max_images_note: str = ""

    def entry(self, entry_id: str, build_config: Callable[[], Any], *, shapes: str, published_total: str,
              checkpoint: str, reference_params: int, language_model: str, assumption: str = "",
              **changes: Any) -> CatalogEntry:
        """One size; ``changes`` override family fields (e.g. another model class or encoder) or set
        other CatalogEntry fields (e.g. ``trust_remote_code_checkpoint``)."""
        fam = {k: changes.pop(k, getattr(self, k)) for k in (
            "system", "model_class", "processor", "prompt_template", "vision_encoder", "vision_modules",
            "reference_resolution", "image_token_rule", "visual_tokens", "max_images", "max_images_note")}
        tokens = fam.pop("visual_tokens")
        if tokens is None:
            tokens = int(fam["image_token_rule"](*fam["reference_resolution"]))
        return CatalogEntry(
            id=entry_id, build_config=build_config, checkpoints=(checkpoint,), reference_params=reference_params,
            provenance=Provenance(shapes=shapes, published_total=published_total, approximations=assumption or "none"),
            visual_tokens=tokens, language_model=language_model, construction="native",
            assumed_shapes=bool(assumption), assumption=assumption, **fam, **changes,
        )
