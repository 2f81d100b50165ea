"""Express a "vision encoder + mlp2x_gelu projector + LLM" system as transformers' Llava.

Many systems (TinyLLaVA, Bunny, LLaVA-1.5 itself) are this one pattern with different
encoders, LLMs and feature-selection rules. ``LlavaForConditionalGeneration`` builds the
encoder from ``vision_config`` and the LLM from ``text_config`` with their own classes, and
its projector is Linear(vision->text) -> GELU -> Linear(text->text), both biased: exactly
LLaVA's ``mlp2x_gelu``. What differs between systems is stated here explicitly:

- ``feature_layer``: which hidden state feeds the projector. HF Llava runs *every* encoder
  layer and then indexes ``hidden_states``; a system that deletes its encoder's last layer
  is therefore expressed with one layer fewer and ``feature_layer=-1`` (same output, same
  compute), not with ``-2``.
- ``strategy``: ``"default"`` drops the first token (CLIP's CLS; on a CLS-less SigLIP it drops
  a real patch, as TinyLLaVA Factory does), ``"full"`` keeps every token.
"""

from __future__ import annotations

from typing import Any

from transformers import LlavaConfig

from vlmbench.catalog.entry import VisionSide

STRATEGIES = ("default", "full")
# Where transformers' Llava-style classes keep the vision side (encoder, then projector).
HF_VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
# The vision sides more than one family shares.
CLIP_L_336_SIDE = VisionSide("CLIP ViT-L/14 @336", 336, 576, HF_VISION_MODULES)  # layer -2, CLS dropped
SIGLIP_384_SIDE = VisionSide("SigLIP-So400m/14 @384", 384, 729, HF_VISION_MODULES)  # every token


def llava_composition(vision_config: Any, text_config: Any, *, feature_layer: int, strategy: str,
                      image_seq_length: int, image_token_id: int) -> LlavaConfig:
    """A ``LlavaConfig`` joining ``vision_config`` and ``text_config`` with an mlp2x_gelu projector."""
    if strategy not in STRATEGIES:
        raise ValueError(f"vision_feature_select_strategy {strategy!r}: must be one of {STRATEGIES}")
    return LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_id=image_token_id,
        projector_hidden_act="gelu",
        multimodal_projector_bias=True,
        vision_feature_select_strategy=strategy,
        vision_feature_layer=feature_layer,
        image_seq_length=image_seq_length,
        tie_word_embeddings=bool(getattr(text_config, "tie_word_embeddings", False)),
    )
