"""LLaVA-OneVision 0.5B / 7B / 72B (transformers-native ``LlavaOnevisionForConditionalGeneration``).

Vision: SigLIP-So400m/14 at 384 with its last layer dropped (26 layers, no head), every patch kept
("full"): 729 tokens per 384 crop; projector Linear -> GELU -> Linear (biased) and a learned newline
vector. AnyRes "anyres_max_9" (``token_rules.llava_onevision_tokens``): the 384 base view plus the grid
of crops (36 pinpoints, 1 x 1 .. 6 x 6 tiles of 384) whose features are unpadded to the image's aspect
ratio, shrunk when they exceed 9 x 729, with one newline per row. LLM: Qwen2 (vocabulary resized
+2 and padded to 64 by the conversion; 0.5B tied).
The processor is transformers' ``LlavaOnevisionProcessor`` over a ``LlavaOnevisionImageProcessor``
(384, the pinpoints, pad, bicubic, [-1, 1]).
Sources: the current-models fact sheet; transformers' convert_llava_onevision_weights_to_hf.py (text
configs of Qwen/Qwen2-{0.5B,7B,72B}-Instruct, vocab resize, 26 SigLIP layers, 729 tokens, "full") and
configuration_llava_onevision (pinpoints, anyres_max_9).
"""

from __future__ import annotations

import functools

import transformers
from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, Qwen2Config, SiglipVisionConfig

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD, image_processor
from vlmbench.catalog.shapes import SIGLIP_SO400M, SIGLIP_TINY
from vlmbench.catalog.templates import CHATML_SPECIAL_TOKENS, LLAVA_ONEVISION_CHAT
from vlmbench.catalog.token_rules import llava_onevision_tokens

TILE, BASE_TOKENS = 384, 729
PINPOINTS = [[TILE * r, TILE * c] for r in range(1, 7) for c in range(1, 7)]
IMAGE_TOKEN = "<image>"
VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
PROMPT = "<|im_start|>user <image>\n{prompt}<|im_end|><|im_start|>assistant\n"
SIGLIP_26 = dict(SIGLIP_SO400M, num_hidden_layers=26, image_size=TILE)

# size -> (hidden, layers, heads, KV heads, FFN, vocab, tied, sheet total)
TEXT = {
    "0.5b": (896, 24, 14, 2, 4864, 152000, True, 893_675_552),
    "7b": (3584, 28, 28, 4, 18944, 152128, False, 8_030_807_584),
    "72b": (8192, 80, 64, 8, 29568, 152128, False, 73_181_570_592),
}

image_token_rule = functools.partial(llava_onevision_tokens, pinpoints=[tuple(p) for p in PINPOINTS], tile=TILE,
                                     base_tokens=BASE_TOKENS, max_tiles=9)


def llava_onevision_config(vision: dict, text: tuple) -> LlavaOnevisionConfig:
    hidden, layers, heads, kv, ffn, vocab, tied = text[:7]
    llm = Qwen2Config(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                      intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=32768, rms_norm_eps=1e-6,
                      rope_parameters={"rope_type": "default", "rope_theta": 1e6}, tie_word_embeddings=tied)
    return LlavaOnevisionConfig(vision_config=SiglipVisionConfig(**vision), text_config=llm,
                                vision_feature_select_strategy="full", vision_feature_layer=-1,
                                image_grid_pinpoints=PINPOINTS, vision_aspect_ratio="anyres_max_9",
                                multimodal_projector_bias=True, tie_word_embeddings=tied)


def llava_onevision_processor(tokenizer):
    ip = image_processor("LlavaOnevisionImageProcessor", size={"height": TILE, "width": TILE},
                         image_grid_pinpoints=PINPOINTS, do_pad=True, resample=3, image_mean=SIGLIP_MEAN,
                         image_std=SIGLIP_STD)
    return transformers.LlavaOnevisionProcessor(
        image_processor=ip, tokenizer=tokenizer, video_processor=transformers.LlavaOnevisionVideoProcessor(),
        num_image_tokens=BASE_TOKENS, vision_feature_select_strategy="full", vision_aspect_ratio="anyres_max_9",
        chat_template=tokenizer.chat_template)


FAMILY = NativeFamily(
    max_images=MULTI_IMAGE, max_images_note="LLaVA-OneVision: trained on single-image, multi-image and video data; " + MULTI_IMAGE_BOUND,
    system="LLaVA-OneVision", model_class=LlavaOnevisionForConditionalGeneration, prompt_template=PROMPT,
    processor=ProcessorSpec(build=llava_onevision_processor, image_token=IMAGE_TOKEN,
                            chat_template=LLAVA_ONEVISION_CHAT, extra_special_tokens=(*CHATML_SPECIAL_TOKENS, "<video>")),
    vision_encoder=f"SigLIP-So400m/14 @{TILE} (26 layers), AnyRes max 9", vision_modules=VISION_MODULES,
    reference_resolution=(TILE, TILE), image_token_rule=image_token_rule,
)


def _real(size: str) -> CatalogEntry:
    *text, total = TEXT[size]
    return FAMILY.entry(
        f"llava-onevision-{size}", lambda: llava_onevision_config(SIGLIP_26, tuple(text)),
        shapes=f"convert_llava_onevision_weights_to_hf.py: Qwen/Qwen2-{size.upper()}-Instruct text config, vocab "
               f"{text[5]} (+2, padded to 64), SigLIP-So400m/14 @{TILE} with 26 layers, 36 pinpoints",
        published_total=size.upper(), checkpoint=f"llava-hf/llava-onevision-qwen2-{size}-ov-hf",
        reference_params=total, language_model=f"Qwen2-{size.upper()}",
    )


LLAVA_OV_05B = _real("0.5b")

ENTRIES = (
    LLAVA_OV_05B,
    _real("7b"),
    _real("72b"),
    tiny_variant(LLAVA_OV_05B,
                 build_config=lambda: llava_onevision_config(dict(SIGLIP_TINY, image_size=TILE),
                                                             (64, 2, 4, 2, 128, 152000, True)),
                 scaled_down="2+2 layers, width 64, real vocabulary",
                 same="processor, 384 crops, AnyRes pinpoints, unpadding, max-9 shrink and newline",
                 vision_encoder=f"SigLIP (tiny) @{TILE}, AnyRes max 9", language_model="Qwen2 (tiny)"),
)
