"""Mistral-Small-3.1-24B (transformers-native ``Mistral3ForConditionalGeneration``), one of the fact
sheet's extra families.

Vision: Pixtral-ViT (24 x 1024, gated SiLU MLP 4096, 16 heads of 64, RMSNorm, 2D RoPE theta 1e4) on
14 px patches at the image's own aspect ratio, longest edge <= 1540 (scaled down, never up); the
projector RMSNorm -> 2 x 2 patch merger -> Linear -> GELU -> Linear (no bias), so the LLM gets one token
per 28 x 28 px plus one break token per row (``token_rules.pixtral_tokens``). LLM: Mistral 5120 x 40
layers (32/8 heads of 128, FFN 32768), vocabulary 131,072, rope theta 1e9, untied (the top-level flag,
which decides in transformers 5.2x, is set explicitly: without it the model builds tied, 23.34B).
The processor is transformers' ``PixtralProcessor`` over a ``PixtralImageProcessor`` (longest edge 1540,
bicubic, CLIP mean/std) with spatial merge 2.
Sources: the current-models fact sheet; a verbatim copy of the published config.json (transformers
4.50.0.dev0) and configuration_pixtral / processing_pixtral.
"""

from __future__ import annotations

import functools

import transformers
from transformers import Mistral3Config, Mistral3ForConditionalGeneration, MistralConfig, PixtralVisionConfig

from vlmbench.catalog.entry import ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.templates import MISTRAL3_CHAT, MISTRAL3_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import pixtral_tokens

PATCH, MERGE, LONGEST = 14, 2, 1540
IMAGE_TOKEN = "[IMG]"
VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
PROMPT = "[INST]<image>{prompt}[/INST]"
VISION = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, head_dim=64,
              image_size=LONGEST, patch_size=PATCH, hidden_act="silu",
              rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
TEXT = dict(hidden_size=5120, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
            intermediate_size=32768, vocab_size=131072, max_position_embeddings=131072, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 1e9}, sliding_window=None,
            tie_word_embeddings=False)

image_token_rule = functools.partial(pixtral_tokens, longest_edge=LONGEST, step=PATCH * MERGE)


def mistral3_config(vision: dict, text: dict) -> Mistral3Config:
    return Mistral3Config(vision_config=PixtralVisionConfig(**vision), text_config=MistralConfig(**text),
                          spatial_merge_size=MERGE, multimodal_projector_bias=False, vision_feature_layer=-1,
                          projector_hidden_act="gelu", tie_word_embeddings=False)


def pixtral_processor(tokenizer, *, patch: int, merge: int, longest: int):
    """transformers' ``PixtralProcessor`` over a ``PixtralImageProcessor`` (bicubic, CLIP mean/std): the
    image scaled down into a ``longest`` square, one [IMG] per (patch x merge) px, a break per row."""
    ip = image_processor("PixtralImageProcessor", size={"longest_edge": longest}, patch_size=patch, resample=3,
                         image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)
    return transformers.PixtralProcessor(image_processor=ip, tokenizer=tokenizer, patch_size=patch,
                                         spatial_merge_size=merge, image_token=IMAGE_TOKEN,
                                         image_break_token="[IMG_BREAK]", image_end_token="[IMG_END]",
                                         chat_template=tokenizer.chat_template)


mistral3_processor = functools.partial(pixtral_processor, patch=PATCH, merge=MERGE, longest=LONGEST)


FAMILY = NativeFamily(
    system="Mistral-Small-3.1", model_class=Mistral3ForConditionalGeneration, prompt_template=PROMPT,
    processor=ProcessorSpec(build=mistral3_processor, image_token=IMAGE_TOKEN, chat_template=MISTRAL3_CHAT,
                            extra_special_tokens=MISTRAL3_SPECIAL_TOKENS),
    vision_encoder=f"Pixtral-ViT/{PATCH} native aspect, longest edge {LONGEST}, merge 2x2",
    vision_modules=VISION_MODULES, reference_resolution=(1024, 768), image_token_rule=image_token_rule,
)
MISTRAL_SMALL = FAMILY.entry(
    "mistral-small-3.1-24b", lambda: mistral3_config(VISION, TEXT),
    shapes="verbatim copy of mistralai/Mistral-Small-3.1-24B-Instruct-2503 config.json (transformers 4.50.0.dev0): "
           "Pixtral-ViT 24 x 1024 @1540 + Mistral 5120 x 40, vocab 131072, untied",
    published_total="24B", checkpoint="mistralai/Mistral-Small-3.1-24B-Instruct-2503",
    reference_params=24_011_361_280, language_model="Mistral-Small-3.1 (5120 x 40)",
)

# The tiny variants' shapes (Mistral-Small-3.1 and Pixtral-12B): 2 + 2 layers, width 64, head dim 16.
TINY_VISION = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, head_dim=16)
TINY_TEXT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                 intermediate_size=128)
TINY_SCALED_DOWN = "2+2 layers, width 64, head dim 16, real vocabulary"

ENTRIES = (
    MISTRAL_SMALL,
    tiny_variant(MISTRAL_SMALL, build_config=lambda: mistral3_config({**VISION, **TINY_VISION}, {**TEXT, **TINY_TEXT}),
                 scaled_down=TINY_SCALED_DOWN,
                 same="processor, native aspect ratio up to 1540 px, 2 x 2 patch merger and token counts",
                 vision_encoder="Pixtral-ViT (tiny), native aspect, merge 2x2", language_model="Mistral (tiny)"),
)
