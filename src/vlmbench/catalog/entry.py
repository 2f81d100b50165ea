"""What a catalog entry is: published shapes, provenance, and how to build the model and its
stand-in processor offline.

An entry is data plus two callables. ``build_config`` returns the transformers (or vlmbench
``archs``) configuration with the published shapes; ``model_class`` builds a model from it.
``processor`` describes the stand-in processor used with random weights: an offline tokenizer
plus the model's real image-processor configuration, so image-token expansion is the real one.
A tiny variant is its real entry with a few fields changed (:func:`tiny_variant`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class ProcessorSpec:
    """How to build the stand-in processor for random weights.

    ``build(tokenizer)`` returns a processor-like callable accepting
    ``(images=[PIL images], text=[str], return_tensors="pt")`` and returning a BatchFeature
    with at least ``input_ids``. ``image_token`` is the placeholder the prompt template uses;
    ``chat_template`` is a Jinja template with the model's published conversation format.
    """

    build: Callable[[Any], Any]
    image_token: str = "<image>"
    chat_template: Optional[str] = None
    extra_special_tokens: tuple[str, ...] = ()
    # Tokens the processor itself adds to the vocabulary (PaliGemma adds 1,152 loc/seg tokens);
    # the text vocab is sized after the processor is built, so ids stay in range.


@dataclass(frozen=True)
class Provenance:
    """Where the shapes come from, and what is approximated."""

    shapes: str  # e.g. "config.json of llava-hf/llava-1.5-7b-hf"
    published_total: str  # the authors' figure, e.g. "7B"
    approximations: str = "none"
    code: str = ""  # where the architecture itself was read (for vlmbench archs)


@dataclass(frozen=True)
class VisionSide:
    """What a system's vision side is and hands the language model, stated once per setting:
    the encoder in words, the square reference resolution, the visual tokens at it, and the
    module paths whose span is the vision stage. ``fields()`` are the entry's fields for them."""

    encoder: str  # e.g. "CLIP ViT-L/14 @336"
    resolution: int
    tokens: int
    modules: tuple[str, ...]

    def fields(self) -> dict[str, Any]:
        return {"vision_encoder": self.encoder, "reference_resolution": (self.resolution, self.resolution),
                "visual_tokens": self.tokens, "vision_modules": self.modules}


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    system: str  # seed system, e.g. "LLaVA-1.5"
    build_config: Callable[[], Any]
    model_class: Callable[..., Any]  # class with ``_from_config``/``__init__(config)``, or a factory
    processor: ProcessorSpec
    provenance: Provenance
    checkpoints: tuple[str, ...] = ()  # hub ids that --weights pretrained would load
    reference_params: Optional[int] = None  # the fact sheet's exact count
    # Parameters the fact-sheet count includes but the real model never builds or runs (e.g. a
    # vision layer deleted at load time), so the entry leaves them out: built + this == reference.
    reference_params_not_built: int = 0
    visual_tokens: Optional[int] = None  # at the reference resolution
    reference_resolution: Optional[tuple[int, int]] = None
    # LLM-side image tokens of one (width, height) image with the processor's defaults, where they
    # depend on the image (dynamic resolution, tiling); None = always ``visual_tokens``.
    image_token_rule: Optional[Callable[[int, int], int]] = None
    vision_encoder: str = ""  # e.g. "CLIP ViT-L/14 @336"
    language_model: str = ""  # e.g. "Vicuna-7B-v1.5"
    construction: str = "native"  # "native" (a transformers class) | "composition" | "vlmbench arch"
    tiny_of: Optional[str] = None  # id of the real-size entry this tiny variant scales down
    assumed_shapes: bool = False  # some shapes are not public: every row is marked
    assumption: str = ""  # what is assumed, in words
    vision_modules: tuple[str, ...] = ()  # module paths whose span is the vision stage
    trust_remote_code_checkpoint: bool = False  # the hub checkpoint needs remote code
    prompt_template: str = "USER: <image>\n{prompt} ASSISTANT:"
    # Images one request may carry (--images-per-request, dataset lines); ``max_images_note``
    # says where a value above 1 comes from.
    max_images: int = 1
    max_images_note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_tiny(self) -> bool:
        return self.tiny_of is not None

    def image_tokens(self, width: int, height: int) -> Optional[int]:
        """LLM-side image tokens one ``width`` x ``height`` image costs (the entry's rule, else
        its fixed ``visual_tokens``)."""
        if self.image_token_rule is not None:
            return int(self.image_token_rule(width, height))
        return self.visual_tokens


TINY_PROVENANCE = "tiny test variant: same classes, "


def tiny_variant(real: CatalogEntry, *, build_config: Callable[[], Any], scaled_down: str, same: str,
                 vision_encoder: str, language_model: str, code: Optional[str] = None, real_note: str = "",
                 **changes: Any) -> CatalogEntry:
    """``real`` scaled down: id ``<real id>-tiny``, random weights only (no checkpoints, no
    reference count), the small shapes of ``build_config``; everything else (classes, processor,
    prompt, resolution, visual tokens, vision modules, assumptions) is the real entry's.

    Provenance: "<real id> (real_note) structure scaled down: <scaled_down>", approximations
    "tiny test variant: same classes, <same>", ``code`` the real entry's unless given ("" for none).
    ``changes`` are any other fields that differ.
    """
    of = f"{real.id} ({real_note})" if real_note else real.id
    return replace(
        real,
        id=f"{real.id}-tiny",
        tiny_of=real.id,
        build_config=build_config,
        provenance=Provenance(shapes=f"{of} structure scaled down: {scaled_down}", published_total="-",
                              approximations=TINY_PROVENANCE + same,
                              code=real.provenance.code if code is None else code),
        checkpoints=(),
        trust_remote_code_checkpoint=False,
        reference_params=None,
        reference_params_not_built=0,
        vision_encoder=vision_encoder,
        language_model=language_model,
        **changes,
    )
