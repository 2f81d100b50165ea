"""Pixtral-12B (the Hugging Face port mistral-community/pixtral-12b: transformers-native
``LlavaForConditionalGeneration`` over a Pixtral vision tower), one of the fact sheet's extra families.

Vision: Pixtral-ViT (24 x 1024, gated SiLU MLP 4096, 16 heads of 64, RMSNorm, 2D RoPE theta 1e4) on
16 px patches at the image's own aspect ratio, longest edge <= 1024 (scaled down, never up); no patch
merger: the LLaVA projector Linear(1024, 5120) -> GELU -> Linear(5120, 5120) (with bias) gives the LLM one
token per 16 x 16 px plus one break token per row (``token_rules.pixtral_tokens``, step 16). LLM: the
Mistral-NeMo shape, 5120 x 40 layers (32/8 heads of 128, FFN 14336), vocabulary 131,072, rope theta
1e9, untied (set explicitly: the top-level flag decides in transformers 5.2x).
The processor is transformers' ``PixtralProcessor`` over a ``PixtralImageProcessor`` (longest edge 1024,
patch 16, bicubic, CLIP mean/std) without a spatial merge (Mistral-Small-3.1's, ``mistral3.py``, with
Pixtral-12B's values). Prompt format: Tekken ``[INST]...[/INST]`` as Mistral-Small-3.1, without a system
prompt.
Sources: the current-models fact sheet (vision shapes from transformers' configuration_pixtral, documented
against pixtral-12b; the computed total 12,682,739,712; "12B + 0.4B vision"); its text config was not read:
the Mistral-NeMo-12B shape is the sheet's inference.
"""

from __future__ import annotations

import functools

from transformers import LlavaConfig, LlavaForConditionalGeneration, MistralConfig, PixtralVisionConfig

from vlmbench.catalog.entry import ProcessorSpec, tiny_variant
from vlmbench.catalog.mistral3 import (IMAGE_TOKEN, PROMPT, TINY_SCALED_DOWN, TINY_TEXT, TINY_VISION,
                                       pixtral_processor)
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.templates import MISTRAL3_CHAT, MISTRAL3_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import pixtral_tokens

PATCH, MERGE, LONGEST = 16, 1, 1024
VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
VISION = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, head_dim=64,
              image_size=LONGEST, patch_size=PATCH, hidden_act="silu",
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
TEXT = dict(hidden_size=5120, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
            intermediate_size=14336, vocab_size=131072, max_position_embeddings=1024000, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 1e9}, sliding_window=None,
            tie_word_embeddings=False)
ASSUMPTION = "text config not read: Mistral-NeMo-12B shape (5120 x 40, FFN 14336, vocab 131072), the sheet's inference"

image_token_rule = functools.partial(pixtral_tokens, longest_edge=LONGEST, step=PATCH * MERGE)


def pixtral_config(vision: dict, text: dict) -> LlavaConfig:
    return LlavaConfig(vision_config=PixtralVisionConfig(**vision), text_config=MistralConfig(**text),
                       vision_feature_layer=-1, vision_feature_select_strategy="full", projector_hidden_act="gelu",
                       multimodal_projector_bias=True, tie_word_embeddings=False)


FAMILY = NativeFamily(
    system="Pixtral", model_class=LlavaForConditionalGeneration, prompt_template=PROMPT,
    processor=ProcessorSpec(build=functools.partial(pixtral_processor, patch=PATCH, merge=MERGE, longest=LONGEST),
                            image_token=IMAGE_TOKEN, chat_template=MISTRAL3_CHAT,
                            extra_special_tokens=MISTRAL3_SPECIAL_TOKENS),
    vision_encoder=f"Pixtral-ViT/{PATCH} native aspect, longest edge {LONGEST}",
    vision_modules=VISION_MODULES, reference_resolution=(1024, 768), image_token_rule=image_token_rule,
)
PIXTRAL_12B = FAMILY.entry(
    "pixtral-12b", lambda: pixtral_config(VISION, TEXT),
    shapes="Pixtral-ViT 24 x 1024 @1024, patch 16 (transformers configuration_pixtral, documented against "
           "pixtral-12b) + LLaVA projector + Mistral 5120 x 40 (FFN 14336), vocab 131072, untied",
    published_total="12B + 0.4B vision", checkpoint="mistral-community/pixtral-12b",
    reference_params=12_682_739_712, language_model="Mistral-NeMo-12B shape (5120 x 40)", assumption=ASSUMPTION,
)

ENTRIES = (
    PIXTRAL_12B,
    tiny_variant(PIXTRAL_12B, build_config=lambda: pixtral_config({**VISION, **TINY_VISION}, {**TEXT, **TINY_TEXT}),
                 scaled_down=TINY_SCALED_DOWN,
                 same="processor, native aspect ratio up to 1024 px, 16 px patches without merge and token counts",
                 vision_encoder="Pixtral-ViT (tiny), native aspect", language_model="Mistral (tiny)"),
)
