"""GLM-4.1V-9B-Thinking (transformers-native ``Glm4vForConditionalGeneration``), one of the fact sheet's
extra families.

Vision: a 24-block ViT (1536 wide, 12 heads of 128, SwiGLU 4096, RMSNorm, 2D RoPE plus a learned 24 x 24
absolute-position table interpolated to the image's patch grid) on 14 px patches with a temporal patch of
2 (an image is two identical frames); a Conv2d 2 x 2 downsample (1536 -> 4096) and a merger Linear(4096,
4096) + LayerNorm + SwiGLU 13696, so the LLM gets one token per 28 x 28 px. Dynamic resolution as
Qwen2.5-VL's, except that the pixel budget counts both frames (``token_rules.glm4v_tokens``: 8 .. 7500
tokens with the class defaults). LLM: GLM-4-9B-0414's shape, 4096 x 40 layers, 32 query / 2 KV heads of
128, FFN 13696, vocabulary 151,552, qkv bias, sandwich norms, mRoPE sections [8, 12, 12] over half of each
head (partial rotary 0.5), untied (the top-level flag set explicitly).
The processor is transformers' ``Glm4vProcessor`` over a ``Glm4vImageProcessor`` with the class
defaults (min 112 x 112, max 28 x 28 x 15000 pixels for the two frames, bicubic, CLIP mean/std); the video
processor is required by the class (vlmbench's prompts are images).
Sources: the current-models fact sheet (shapes from transformers' configuration_glm4v, documented against
zai-org/GLM-4.1V-9B-Thinking, and convert_glm4v_mgt_weights_to_hf.py; computed 10,292,777,472); the
checkpoint's own config.json and preprocessor_config.json were not read (class defaults assumed).
"""

from __future__ import annotations

import functools

import transformers
from transformers import Glm4vConfig, Glm4vForConditionalGeneration

from vlmbench.catalog.entry import ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.templates import GLM4V_CHAT, GLM4V_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import glm4v_tokens

PATCH, MERGE, TEMPORAL = 14, 2, 2
FACTOR = PATCH * MERGE  # 28 px per LLM token side
MIN_PIXELS = 112 * 112  # 12,544 (both frames): 8 tokens
MAX_PIXELS = 28 * 28 * 15000  # 11,760,000 (both frames): 7,500 tokens
IMAGE_TOKEN = "<|image|>"
VISION_MODULES = ("model.visual",)
PROMPT = "[gMASK]<sop><|user|>\n<|begin_of_image|><image><|end_of_image|>{prompt}<|assistant|>\n"

image_token_rule = functools.partial(glm4v_tokens, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS,
                                     temporal=TEMPORAL)

VISION = dict(depth=24, hidden_size=1536, num_heads=12, intermediate_size=13696, out_hidden_size=4096,
              image_size=336, patch_size=PATCH, spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL,
              hidden_act="silu", rms_norm_eps=1e-5)
TEXT = dict(hidden_size=4096, num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=2,
            intermediate_size=13696, vocab_size=151552, max_position_embeddings=65536, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [8, 12, 12],
                             "partial_rotary_factor": 0.5})
ASSUMPTION = "checkpoint config.json / preprocessor_config.json not read: transformers' documented defaults"


def glm4v_config(vision: dict, text: dict) -> Glm4vConfig:
    return Glm4vConfig(vision_config=dict(vision, out_hidden_size=text["hidden_size"]), text_config=text,
                       tie_word_embeddings=False)


def glm4v_processor(tokenizer):
    images = image_processor("Glm4vImageProcessor", size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
                             patch_size=PATCH, temporal_patch_size=TEMPORAL, merge_size=MERGE,
                             image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD, resample=3)
    videos = transformers.Glm4vVideoProcessor(patch_size=PATCH, temporal_patch_size=TEMPORAL, merge_size=MERGE)
    return transformers.Glm4vProcessor(image_processor=images, tokenizer=tokenizer, video_processor=videos,
                                       chat_template=tokenizer.chat_template)


FAMILY = NativeFamily(
    system="GLM-4.1V", model_class=Glm4vForConditionalGeneration, prompt_template=PROMPT,
    processor=ProcessorSpec(build=glm4v_processor, image_token=IMAGE_TOKEN, chat_template=GLM4V_CHAT,
                            extra_special_tokens=GLM4V_SPECIAL_TOKENS),
    vision_encoder=f"GLM-4.1V ViT-{PATCH} dynamic resolution", vision_modules=VISION_MODULES,
    reference_resolution=(1024, 768), image_token_rule=image_token_rule,
)
GLM_41V_9B = FAMILY.entry(
    "glm-4.1v-9b", lambda: glm4v_config(VISION, TEXT),
    shapes="transformers configuration_glm4v (documented against zai-org/GLM-4.1V-9B-Thinking) and "
           "convert_glm4v_mgt_weights_to_hf.py: ViT 24 x 1536 + GLM-4 4096 x 40 (32/2 heads, FFN 13696), "
           f"vocab 151552, untied; pixel budget {MIN_PIXELS}..{MAX_PIXELS} over two frames (class defaults)",
    published_total="9B (name)", checkpoint="zai-org/GLM-4.1V-9B-Thinking",
    reference_params=10_292_777_472, language_model="GLM-4-9B-0414 shape (4096 x 40)", assumption=ASSUMPTION,
)

# Scaled down: head dim 32 so the partial rotary half (16) still splits into mRoPE sections 2/3/3.
TINY_VISION = dict(VISION, depth=2, hidden_size=64, num_heads=4, intermediate_size=128)
TINY_TEXT = dict(TEXT, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                 intermediate_size=128,
                 rope_parameters=dict(TEXT["rope_parameters"], mrope_section=[2, 3, 3]))

ENTRIES = (
    GLM_41V_9B,
    tiny_variant(GLM_41V_9B, build_config=lambda: glm4v_config(TINY_VISION, TINY_TEXT),
                 scaled_down="2+2 layers, width 64 (LLM head dim 32, mRoPE sections 2/3/3 over half the head), "
                             "real vocabulary",
                 same="processor, dynamic resolution, temporal patch, 2 x 2 downsample and token counts",
                 vision_encoder="GLM-4.1V ViT (tiny), dynamic resolution", language_model="GLM-4 (tiny)"),
)
