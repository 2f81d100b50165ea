"""Qwen3-VL 2B / 4B / 8B / 32B (``Qwen3VLForConditionalGeneration``) and the mixtures of experts
30B-A3B / 235B-A22B (``Qwen3VLMoeForConditionalGeneration``), transformers-native.

Vision: a ViT on 16 px patches (temporal patch 2) with a learned 48 x 48 position table
interpolated to the image plus 2D RoPE, every block full attention; 24 x 1024 for 2B/4B, 27 x 1152
for the others. The merger maps 2 x 2 patches to one LLM token; three extra "deepstack" mergers take
the features of three ViT blocks and add them to the outputs of LLM decoder layers 0, 1 and 2 at the
image positions. Dynamic resolution as Qwen2.5-VL with 32 px per token and a pixel budget of
64 .. 16384 tokens (``size`` shortest/longest edge of the preprocessor config). LLM: Qwen3 (QK-norm,
head dim 128, interleaved mRoPE [24, 20, 20]); the MoE sizes route each token to 8 of 128 experts
in every layer (``norm_topk_prob``), so a decode step reads 8/128 of the expert weights.
Sources: the current-models fact sheet; copies of the 2B/4B/8B/32B config.json (PVM-4B, Steinate/
Cortex, quanliang/F1 and identical copies), the 30B-A3B config and a 235B-A22B config dump (copies);
preprocessor_config.json copies (cdreetz/Qwen3-VL-8B-Instruct, hfmaster/Qwen3-VL-2B).
"""

from __future__ import annotations

import functools

import transformers
from transformers import (Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLMoeConfig,
                          Qwen3VLMoeForConditionalGeneration)

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD
from vlmbench.catalog.qwen2_5_vl import (IMAGE_TOKEN, MERGE, REFERENCE, TEMPORAL, VISION_MODULES,
                                          qwen_vl_processor)
from vlmbench.catalog.templates import QWEN3_VL_CHAT, QWEN_VL_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import qwen_vl_tokens

PATCH = 16
FACTOR = PATCH * MERGE  # 32 px per LLM token side
MIN_PIXELS = 65536  # size.shortest_edge: 64 tokens
MAX_PIXELS = 16777216  # size.longest_edge: 16,384 tokens
PROMPT = ("<|im_start|>user\n<|vision_start|><image><|vision_end|>{prompt}<|im_end|>\n"
          "<|im_start|>assistant\n")

image_token_rule = functools.partial(qwen_vl_tokens, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)

# Qwen3VLVisionConfig: the small ViT (2B/4B) and the So400m-shaped one (8B and up).
VIT_SMALL = dict(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, hidden_act="gelu_pytorch_tanh",
                 patch_size=PATCH, spatial_merge_size=MERGE, temporal_patch_size=TEMPORAL,
                 num_position_embeddings=2304, deepstack_visual_indexes=[5, 11, 17])
VIT = dict(VIT_SMALL, depth=27, hidden_size=1152, intermediate_size=4304, deepstack_visual_indexes=[8, 16, 24])
# Scaled down: 2 blocks, both feeding a deepstack merger; the same patching and position table.
VIT_TINY = dict(VIT_SMALL, depth=2, hidden_size=64, intermediate_size=128, num_heads=4, deepstack_visual_indexes=[0, 1])

MOE = dict(num_experts=128, num_experts_per_tok=8, decoder_sparse_step=1, norm_topk_prob=True)
# (hidden, layers, heads, KV heads, FFN, tied, extra) per size; MoE sizes: expert FFN in extra.
TEXT = {
    "2b": (2048, 28, 16, 8, 6144, True, {}),
    "4b": (2560, 36, 32, 8, 9728, True, {}),
    "8b": (4096, 36, 32, 8, 12288, False, {}),
    "32b": (5120, 64, 64, 8, 25600, False, {}),
    "30b-a3b": (2048, 48, 32, 4, 6144, False, dict(MOE, moe_intermediate_size=768)),
    "235b-a22b": (4096, 94, 64, 4, 12288, False, dict(MOE, moe_intermediate_size=1536)),
}
TOTALS = {"2b": 2_127_532_032, "4b": 4_437_815_808, "8b": 8_767_123_696, "32b": 33_357_390_064,
          "30b-a3b": 31_070_754_032, "235b-a22b": 235_670_022_896}
SOURCES = {
    "2b": "a copy of Qwen/Qwen3-VL-2B-Instruct config.json",
    "4b": "copies of Qwen/Qwen3-VL-4B-Instruct config.json (transformers 4.57.0.dev0; chamber111/PVM-4B)",
    "8b": "copies of Qwen/Qwen3-VL-8B-Instruct config.json (Steinate/Cortex, Chhagan005/CSM-DocExtract-8N)",
    "32b": "a copy of Qwen/Qwen3-VL-32B-Instruct config.json (quanliang/F1)",
    "30b-a3b": "the original Qwen/Qwen3-VL-30B-A3B-Instruct config.json (quoted copy)",
    "235b-a22b": "a Qwen3VLMoeConfig dump of Qwen/Qwen3-VL-235B-A22B-Instruct",
}
PUBLISHED = {"30b-a3b": "30B, 3B active", "235b-a22b": "235B, 22B active"}


def text_config(hidden: int, layers: int, heads: int, kv: int, ffn: int, tied: bool, extra: dict,
                head_dim: int = 128, mrope_section: tuple[int, ...] = (24, 20, 20)) -> dict:
    """Qwen3VL(Moe)TextConfig kwargs; mRoPE sections sum to half the head dimension."""
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                head_dim=head_dim, intermediate_size=ffn, vocab_size=151936, max_position_embeddings=262144,
                rms_norm_eps=1e-6, tie_word_embeddings=tied,
                rope_parameters={"rope_type": "default", "rope_theta": 5e6, "mrope_section": list(mrope_section),
                                 "mrope_interleaved": True}, **extra)


def qwen3_vl_config(vision: dict, text: dict):
    config_class = Qwen3VLMoeConfig if "num_experts" in text else Qwen3VLConfig
    return config_class(text_config=text, vision_config=dict(vision, out_hidden_size=text["hidden_size"]),
                        tie_word_embeddings=text["tie_word_embeddings"])


def qwen3_vl_processor(tokenizer):
    return qwen_vl_processor(tokenizer, transformers.Qwen3VLProcessor, transformers.Qwen3VLVideoProcessor,
                             patch=PATCH, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, mean=SIGLIP_MEAN,
                             std=SIGLIP_STD)


PROCESSOR = ProcessorSpec(build=qwen3_vl_processor, image_token=IMAGE_TOKEN, chat_template=QWEN3_VL_CHAT,
                          extra_special_tokens=QWEN_VL_SPECIAL_TOKENS)


FAMILY = NativeFamily(
    max_images=MULTI_IMAGE, max_images_note="Qwen3-VL README: multi-image inference (one image_pad run per image); " + MULTI_IMAGE_BOUND,
    system="Qwen3-VL", model_class=Qwen3VLForConditionalGeneration, processor=PROCESSOR, prompt_template=PROMPT,
    vision_encoder="", vision_modules=VISION_MODULES, reference_resolution=REFERENCE,
    image_token_rule=image_token_rule,
)


def _real(size: str) -> CatalogEntry:
    hidden, layers, heads, kv, ffn, tied, extra = TEXT[size]
    vision = VIT_SMALL if size in ("2b", "4b") else VIT
    moe = bool(extra)
    llm = f"Qwen3-{size.upper()}" + (" MoE (8 of 128 experts)" if moe else "")
    return FAMILY.entry(
        f"qwen3-vl-{size}", lambda: qwen3_vl_config(vision, text_config(*TEXT[size])),
        shapes=f"{SOURCES[size]}; ViT {vision['depth']} x {vision['hidden_size']} with deepstack "
               f"{vision['deepstack_visual_indexes']} + {llm}; pixel budget {MIN_PIXELS}..{MAX_PIXELS}",
        published_total=PUBLISHED.get(size, size.upper()), checkpoint=f"Qwen/Qwen3-VL-{size.upper()}-Instruct",
        reference_params=TOTALS[size], language_model=llm,
        vision_encoder=f"Qwen3-VL ViT-{PATCH} ({vision['depth']} x {vision['hidden_size']}) dynamic resolution",
        **(dict(system="Qwen3-VL MoE", model_class=Qwen3VLMoeForConditionalGeneration) if moe else {}),
    )


QWEN3_VL_2B = _real("2b")
QWEN3_VL_30B_A3B = _real("30b-a3b")
TINY_MROPE = (4, 2, 2)  # head dim 16: sections sum to 8, the temporal one largest as in (24, 20, 20)


def tiny_text(tied: bool, extra: dict) -> dict:
    return text_config(64, 2, 4, 2, 128, tied, extra, 16, TINY_MROPE)

ENTRIES = (
    QWEN3_VL_2B,
    _real("4b"),
    _real("8b"),
    _real("32b"),
    QWEN3_VL_30B_A3B,
    _real("235b-a22b"),
    tiny_variant(QWEN3_VL_2B,
                 build_config=lambda: qwen3_vl_config(VIT_TINY, tiny_text(True, {})),
                 scaled_down="2+2 layers, width 64, head dim 16 (mRoPE 4/2/2), both ViT blocks feed a deepstack "
                             "merger, real vocabulary",
                 same="processor, dynamic resolution, patching, position table and token counts",
                 vision_encoder="Qwen3-VL ViT (tiny), dynamic resolution, deepstack",
                 language_model="Qwen3 (tiny)"),
    tiny_variant(QWEN3_VL_30B_A3B,
                 build_config=lambda: qwen3_vl_config(VIT_TINY, tiny_text(False, dict(MOE, moe_intermediate_size=32))),
                 scaled_down="2+2 layers, width 64, expert FFN 32, head dim 16, real vocabulary",
                 same="processor, dynamic resolution, token counts, and routing: 8 of 128 experts per token",
                 vision_encoder="Qwen3-VL ViT (tiny), dynamic resolution, deepstack",
                 language_model="Qwen3 MoE (tiny, 8 of 128 experts)"),
)
