"""Qwen2.5-VL 3B / 7B / 32B / 72B (transformers-native ``Qwen2_5_VLForConditionalGeneration``).

Vision: a 32-block ViT (1280 wide, SwiGLU, RMSNorm, 2D RoPE) on 14 px patches with a temporal
patch of 2 (an image is two identical frames); blocks attend inside 112 px windows (8 x 8 patches)
except the full-attention blocks 7, 15, 23, 31. The merger concatenates 2 x 2 patches and maps
them to the LLM width, so the LLM gets a quarter of the ViT's patches. Dynamic resolution: the
image is resized to multiples of 28 px with its area clamped to [min_pixels, max_pixels]
(``token_rules.smart_resize``), so the visual-token count grows with the image (4 .. 16384).
LLM: Qwen2.5 with mRoPE sections [16, 24, 24], qkv bias; 3B ties its head to the input table.
The processor is transformers' ``Qwen2_5_VLProcessor`` over a ``Qwen2VLImageProcessor`` with the
checkpoints' preprocessing values (CLIP mean/std, bicubic, min/max pixels of the README).
Sources: the current-models fact sheet (shapes, counts, token rule), config.json of
Qwen/Qwen2.5-VL-7B-Instruct (official), copies of the 3B / 32B configs, the official 72B AWQ
config (its vision block), QwenLM/Qwen2.5-VL README (pixel budget).
"""

from __future__ import annotations

import functools

import transformers
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.templates import QWEN2_5_VL_CHAT, QWEN_VL_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import qwen_vl_tokens

PATCH, MERGE, TEMPORAL = 14, 2, 2
FACTOR = PATCH * MERGE  # 28 px per LLM token side
MIN_PIXELS = 4 * FACTOR * FACTOR  # 3,136: 4 tokens (README line 150)
MAX_PIXELS = 16384 * FACTOR * FACTOR  # 12,845,056: 16,384 tokens
REFERENCE = (1024, 768)  # the resolution `vlmbench models` lists (999 tokens)
VISION_MODULES = ("model.visual",)
IMAGE_TOKEN = "<|image_pad|>"
PROMPT = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
          "<|vision_start|><image><|vision_end|>{prompt}<|im_end|>\n<|im_start|>assistant\n")

image_token_rule = functools.partial(qwen_vl_tokens, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)

# Qwen2_5_VLVisionConfig of the published ViT ("intermediate_size" 3420; the 72B lists 3456).
VIT = dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, hidden_act="silu",
           patch_size=PATCH, spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL, window_size=112,
           fullatt_block_indexes=[7, 15, 23, 31], tokens_per_second=2)
# Scaled down: 2 blocks, block 0 windowed and block 1 full attention (both code paths), head dim 16.
VIT_TINY = dict(VIT, depth=2, hidden_size=64, intermediate_size=128, num_heads=4, fullatt_block_indexes=[1])

# Qwen2_5_VLTextConfig per size: (hidden, layers, heads, KV heads, FFN, vocab, tied).
TEXT = {
    "3b": (2048, 36, 16, 2, 11008, 151936, True),
    "7b": (3584, 28, 28, 4, 18944, 152064, False),
    "32b": (5120, 64, 40, 8, 27648, 152064, False),
    "72b": (8192, 80, 64, 8, 29568, 152064, False),
}
TOTALS = {"3b": 3_754_622_976, "7b": 8_292_166_656, "32b": 33_448_292_352, "72b": 73_410_777_344}
SOURCES = {
    "3b": "copies of Qwen/Qwen2.5-VL-3B-Instruct config.json (huihui-ai/...-abliterated, mlx-community/...-4bit)",
    "7b": "config.json of Qwen/Qwen2.5-VL-7B-Instruct",
    "32b": "text config of a copy of Qwen/Qwen2.5-VL-32B-Instruct (AngelSlim/...-FP8-Dynamic)",
    "72b": "config.json of Qwen/Qwen2.5-VL-72B-Instruct-AWQ (vision block; text FFN 29568 of Qwen2-72B)",
}
ASSUMPTIONS = {
    "32b": "vocab 152064 inferred; ViT MLP width 3420 assumed (3456 gives 33,452,718,336)",
    "72b": "vocab 152064 inferred",
}


def text_config(hidden: int, layers: int, heads: int, kv: int, ffn: int, vocab: int, tied: bool,
                head_dim: int = 128) -> dict:
    """Qwen2_5_VLTextConfig kwargs; mRoPE sections sum to half the head dimension."""
    sections = [16, 24, 24] if head_dim == 128 else [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16]
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=128000, rms_norm_eps=1e-6,
                rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": sections},
                tie_word_embeddings=tied)


def qwen2_5_vl_config(vision: dict, text: dict) -> Qwen2_5_VLConfig:
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=dict(vision, out_hidden_size=text["hidden_size"]),
        tie_word_embeddings=text["tie_word_embeddings"],  # the top-level flag decides in 5.2x
    )


def qwen_vl_processor(tokenizer, processor_class, video_class, *, patch: int, min_pixels: int, max_pixels: int,
                      mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
    """``processor_class`` over a ``Qwen2VLImageProcessor`` with the checkpoints'
    preprocessor_config.json values: dynamic resolution in multiples of patch x 2, area clamped to
    [min_pixels, max_pixels] (``size`` shortest/longest edge in 5.2x). The video processor is
    required by the class; vlmbench's prompts are images."""
    images = image_processor(
        "Qwen2VLImageProcessor",
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        patch_size=patch, temporal_patch_size=TEMPORAL, merge_size=MERGE,
        image_mean=mean, image_std=std, resample=3,
    )
    videos = video_class(patch_size=patch, temporal_patch_size=TEMPORAL, merge_size=MERGE)
    return processor_class(image_processor=images, tokenizer=tokenizer, video_processor=videos,
                           chat_template=tokenizer.chat_template)


def qwen2_5_vl_processor(tokenizer):
    return qwen_vl_processor(tokenizer, transformers.Qwen2_5_VLProcessor, transformers.Qwen2VLVideoProcessor,
                             patch=PATCH, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)


PROCESSOR = ProcessorSpec(build=qwen2_5_vl_processor, image_token=IMAGE_TOKEN, chat_template=QWEN2_5_VL_CHAT,
                          extra_special_tokens=QWEN_VL_SPECIAL_TOKENS)


FAMILY = NativeFamily(
    max_images=MULTI_IMAGE, max_images_note="Qwen2.5-VL README: multi-image inference (one image_pad run per image); " + MULTI_IMAGE_BOUND,
    system="Qwen2.5-VL", model_class=Qwen2_5_VLForConditionalGeneration, processor=PROCESSOR, prompt_template=PROMPT,
    vision_encoder=f"Qwen2.5-VL ViT-{PATCH} dynamic resolution, windowed attention", vision_modules=VISION_MODULES,
    reference_resolution=REFERENCE, image_token_rule=image_token_rule,
)


def _real(size: str) -> CatalogEntry:
    vision = dict(VIT, intermediate_size=3456) if size == "72b" else VIT
    llm = f"Qwen2.5-{size.upper()}"
    return FAMILY.entry(
        f"qwen2.5-vl-{size}", lambda: qwen2_5_vl_config(vision, text_config(*TEXT[size])),
        shapes=f"{SOURCES[size]}; Qwen2.5-VL ViT 32 x 1280 (MLP {vision['intermediate_size']}) + {llm}; "
               f"pixel budget {MIN_PIXELS}..{MAX_PIXELS} (QwenLM/Qwen2.5-VL README)",
        published_total=size.upper(), checkpoint=f"Qwen/Qwen2.5-VL-{size.upper()}-Instruct",
        reference_params=TOTALS[size], language_model=llm, assumption=ASSUMPTIONS.get(size, ""),
    )


QWEN2_5_VL_3B = _real("3b")
TINY_TEXT = text_config(64, 2, 4, 2, 128, 151936, True, head_dim=16)

ENTRIES = (
    QWEN2_5_VL_3B,
    _real("7b"),
    _real("32b"),
    _real("72b"),
    tiny_variant(QWEN2_5_VL_3B, build_config=lambda: qwen2_5_vl_config(VIT_TINY, TINY_TEXT),
                 scaled_down="2+2 layers, width 64, head dim 16 (mRoPE sections 2/3/3), ViT block 0 windowed and "
                             "block 1 full attention, real vocabulary",
                 same="processor, dynamic resolution, window size, patching and token counts",
                 vision_encoder="Qwen2.5-VL ViT (tiny), dynamic resolution, windowed attention",
                 language_model="Qwen2.5 (tiny)", assumed_shapes=False, assumption=""),
)
