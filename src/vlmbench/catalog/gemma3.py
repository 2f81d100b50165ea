"""Gemma 3 4B / 12B / 27B (transformers-native ``Gemma3ForConditionalGeneration``).

Vision: SigLIP-So400m/14 (27 x 1152, no head) at 896 x 896 -> 64 x 64 patches, then RMSNorm, a 4 x 4
average pool (16 x 16) and Linear(1152 -> hidden) without bias: 256 tokens per image, bidirectional
inside the image block. LLM: Gemma 3 (QK-norm, pre+post norms, GELU-tanh), five sliding-window
(1024) layers to one global layer (layer i global when (i + 1) % 6 == 0), global RoPE theta 1e6
with linear factor 8, local 1e4; vocabulary 262,144 + 64 = 262,208 rows, tied head. The processor is
transformers' ``Gemma3Processor`` over a ``Gemma3ImageProcessor`` (896 x 896 bilinear, [-1, 1]);
pan-and-scan is off by default (``token_rules.gemma3_tokens`` also gives its count when on).
Sources: the current-models fact sheet; transformers' convert_gemma3_weights.py ``_VARIANTS`` and
``_VISION_CONFIG`` (shapes), processing_gemma3 / image_processing_gemma3 (token rule).
"""

from __future__ import annotations

import transformers
from transformers import Gemma3Config, Gemma3ForConditionalGeneration

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD, image_processor
from vlmbench.catalog.shapes import SIGLIP_SO400M, SIGLIP_TINY
from vlmbench.catalog.templates import GEMMA3_CHAT, GEMMA3_IMAGE, GEMMA3_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import gemma3_tokens
from vlmbench.catalog.tokenizer import with_named_tokens

RESOLUTION = 896
TOKENS_PER_IMAGE = 256
VOCAB = 262_208
IMAGE_TOKEN = "<image_soft_token>"
VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
PROMPT = "<start_of_turn>user\n<image>{prompt}<end_of_turn>\n<start_of_turn>model\n"

# Gemma3TextConfig per size: (hidden, layers, heads, KV heads, head dim, FFN, query scale).
TEXT = {
    "4b": (2560, 34, 8, 4, 256, 10240, 256),
    "12b": (3840, 48, 16, 8, 256, 15360, 256),
    "27b": (5376, 62, 32, 16, 128, 21504, 168),
}
TOTALS = {"4b": 4_300_079_472, "12b": 12_187_325_040, "27b": 27_432_406_640}


def text_config(hidden: int, layers: int, heads: int, kv: int, head_dim: int, ffn: int, scale: int) -> dict:
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                head_dim=head_dim, intermediate_size=ffn, query_pre_attn_scalar=scale, vocab_size=VOCAB,
                sliding_window=1024, max_position_embeddings=131072, rms_norm_eps=1e-6,
                hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                rope_parameters={"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
                                 "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}})


def gemma3_config(vision: dict, text: dict) -> Gemma3Config:
    return Gemma3Config(
        text_config=text,
        vision_config=dict(vision, image_size=RESOLUTION, model_type="siglip_vision_model"),
        mm_tokens_per_image=TOKENS_PER_IMAGE,
        tie_word_embeddings=True,
    )


def gemma3_processor(tokenizer):
    tokenizer = with_named_tokens(tokenizer, boi_token="<start_of_image>", eoi_token="<end_of_image>")
    ip = image_processor("Gemma3ImageProcessor", size={"height": RESOLUTION, "width": RESOLUTION}, resample=2,
                         image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD, do_pan_and_scan=False,
                         pan_and_scan_min_crop_size=256, pan_and_scan_max_num_crops=4,
                         pan_and_scan_min_ratio_to_activate=1.2)
    return transformers.Gemma3Processor(image_processor=ip, tokenizer=tokenizer, image_seq_length=TOKENS_PER_IMAGE,
                                        chat_template=tokenizer.chat_template)


PROCESSOR = ProcessorSpec(build=gemma3_processor, image_token=IMAGE_TOKEN, chat_template=GEMMA3_CHAT,
                          extra_special_tokens=GEMMA3_SPECIAL_TOKENS)


FAMILY = NativeFamily(
    max_images=MULTI_IMAGE, max_images_note="Gemma 3 HF docs: interleaved multi-image prompts (256 tokens each); " + MULTI_IMAGE_BOUND,
    system="Gemma 3", model_class=Gemma3ForConditionalGeneration, processor=PROCESSOR, prompt_template=PROMPT,
    vision_encoder=f"SigLIP-So400m/14 @{RESOLUTION}, pooled 4x4", vision_modules=VISION_MODULES,
    reference_resolution=(RESOLUTION, RESOLUTION), image_token_rule=gemma3_tokens,
)


def _real(size: str) -> CatalogEntry:
    hidden, layers = TEXT[size][:2]
    return FAMILY.entry(
        f"gemma-3-{size}", lambda: gemma3_config(SIGLIP_SO400M, text_config(*TEXT[size])),
        shapes=f"convert_gemma3_weights.py _VARIANTS['gemma3_{size}'] ({hidden} x {layers} layers, vocab {VOCAB}) and "
               f"_VISION_CONFIG (SigLIP-So400m/14 @{RESOLUTION}, no head); 4 x 4 pooled to {TOKENS_PER_IMAGE} tokens",
        published_total=size.upper(), checkpoint=f"google/gemma-3-{size}-it", reference_params=TOTALS[size],
        language_model=f"Gemma 3 {size.upper()}",
    )


GEMMA3_4B = _real("4b")
# Scaled down: 2 layers with the real pattern's two kinds (sliding window, then global).
TINY_TEXT = dict(text_config(64, 2, 4, 2, 16, 128, 16), layer_types=["sliding_attention", "full_attention"])

ENTRIES = (
    GEMMA3_4B,
    _real("12b"),
    _real("27b"),
    tiny_variant(GEMMA3_4B, build_config=lambda: gemma3_config(SIGLIP_TINY, TINY_TEXT),
                 scaled_down="2+2 layers, width 64, head dim 16; LLM layer 0 sliding-window, layer 1 global",
                 same=f"processor, resolution {RESOLUTION}, 4 x 4 pooling and {TOKENS_PER_IMAGE} tokens per image",
                 vision_encoder=f"SigLIP (tiny) @{RESOLUTION}, pooled 4x4", language_model="Gemma 3 (tiny)"),
)
