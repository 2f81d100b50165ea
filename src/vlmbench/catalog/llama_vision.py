"""Llama 3.2 Vision 11B / 90B (transformers' ``MllamaForConditionalGeneration``, with the roofline's
decode-traffic facts: ``archs/mllama.py``).

Vision: a ViT-H/14 with 32 local + 8 gated global layers (1280 wide) on up to 4 tiles of 560 px
(1601 positions each: 40 x 40 + CLS), gated tile and position embeddings; the last layer plus layers
[3, 7, 15, 23, 30] concatenated (7680) -> Linear(7680 -> hidden). The image never enters the LLM
sequence (one ``<|image|>`` token): every 5th decoder layer from layer 3 (8 of 40 / 20 of 100) is a
gated cross-attention layer reading the image's 4 x 1601 K/V rows (the processor pads every image to
4 tiles). LLM: Llama 3.1 (GQA 8 KV heads, vocabulary 128,256 + 8 learnable image rows, untied).
The processor is transformers' ``MllamaProcessor`` over an ``MllamaImageProcessor`` (560 tiles, <= 4,
bilinear, CLIP mean/std); ``token_rules.mllama_tiles`` gives the tiles an image really uses.
Sources: the current-models fact sheet; meta-llama/llama-models ``models/sku_list.py`` (8c88b8c: dim,
layers, heads, ffn multiplier, cross-attention layer counts, chunk size 560) and
``models/llama3/multimodal/model.py``; HF config copies (cross_attention_layers [3, 8, ..., 38]);
MODEL_CARD_VISION.md (10.6B / 88.8B).
"""

from __future__ import annotations

import transformers
from transformers import MllamaConfig

from vlmbench.archs.mllama import MllamaForBenchmark
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.templates import LLAMA3_SPECIAL_TOKENS, LLAMA3_VISION_CHAT
from vlmbench.catalog.token_rules import one_token

TILE, MAX_TILES = 560, 4
IMAGE_TOKEN = "<|image|>"
VISION_MODULES = ("model.vision_model", "model.multi_modal_projector")
PROMPT = ("<|start_header_id|>user<|end_header_id|>\n\n<image>{prompt}<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n")

VISION = dict(hidden_size=1280, num_hidden_layers=32, num_global_layers=8, attention_heads=16,
              intermediate_size=5120, vision_output_dim=7680, image_size=TILE, patch_size=14, max_num_tiles=MAX_TILES,
              intermediate_layers_indices=[3, 7, 15, 23, 30], norm_eps=1e-5)
# size -> (hidden, layers, heads, KV heads, FFN, cross-attention layers, sheet total, card total)
TEXT = {
    "11b": (4096, 40, 32, 8, 14336, 8, 10_670_220_835, "11B (10.6B)"),
    "90b": (8192, 100, 64, 8, 28672, 20, 88_593_355_323, "90B (88.8B)"),
}


def text_config(hidden: int, layers: int, heads: int, kv: int, ffn: int, cross: int) -> dict:
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                intermediate_size=ffn, cross_attention_layers=[3 + 5 * i for i in range(cross)], vocab_size=128256,
                max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=False,
                rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192})


def mllama_config(vision: dict, text: dict) -> MllamaConfig:
    return MllamaConfig(vision_config=vision, text_config=text)


def mllama_processor(tokenizer):
    ip = image_processor("MllamaImageProcessor", size={"height": TILE, "width": TILE}, max_image_tiles=MAX_TILES,
                         do_pad=True, resample=2, image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)
    return transformers.MllamaProcessor(image_processor=ip, tokenizer=tokenizer, chat_template=tokenizer.chat_template)


FAMILY = NativeFamily(
    system="Llama 3.2 Vision", model_class=MllamaForBenchmark, prompt_template=PROMPT,
    processor=ProcessorSpec(build=mllama_processor, image_token=IMAGE_TOKEN, chat_template=LLAMA3_VISION_CHAT,
                            extra_special_tokens=LLAMA3_SPECIAL_TOKENS),
    vision_encoder=f"ViT-H/14 @{TILE}, <= {MAX_TILES} tiles, cross-attention", vision_modules=VISION_MODULES,
    reference_resolution=(TILE, TILE), image_token_rule=one_token,
)


def _real(size: str) -> CatalogEntry:
    hidden, layers, heads, kv, ffn, cross, total, card = TEXT[size]
    return FAMILY.entry(
        f"llama-3.2-{size}-vision", lambda: mllama_config(VISION, text_config(hidden, layers, heads, kv, ffn, cross)),
        shapes=f"meta-llama/llama-models sku_list.py (dim {hidden}, {layers - cross} + {cross} cross-attention "
               f"layers, ffn {ffn}) and HF config copies; ViT-H/14 32 + 8 global layers @{TILE}",
        published_total=card, checkpoint=f"meta-llama/Llama-3.2-{size.upper()}-Vision-Instruct",
        reference_params=total, language_model=f"Llama 3.1 {hidden} x {layers} ({cross} cross-attention)",
        assumption="cross-attention layer positions [3, 8, ..., 98] inferred from the 11B pattern" if size == "90b"
        else "",
    )


LLAMA_11B = _real("11b")
VISION_TINY = dict(VISION, hidden_size=64, num_hidden_layers=2, num_global_layers=1, attention_heads=4,
                   intermediate_size=128, intermediate_layers_indices=[0, 1], vision_output_dim=64 * 3)
# 3 decoder layers: self-attention, cross-attention, self-attention.
TINY_TEXT = dict(text_config(64, 3, 4, 2, 128, 0), cross_attention_layers=[1])

ENTRIES = (
    LLAMA_11B,
    _real("90b"),
    tiny_variant(LLAMA_11B, build_config=lambda: mllama_config(VISION_TINY, TINY_TEXT),
                 scaled_down="2 local + 1 global ViT layers, 3 LLM layers (the middle one cross-attention), "
                             "width 64, real vocabulary",
                 same="processor, 560 tiles padded to 4, gated tile embeddings and cross-attention",
                 vision_encoder=f"ViT (tiny) @{TILE}, <= {MAX_TILES} tiles, cross-attention",
                 language_model="Llama (tiny, 1 cross-attention layer)"),
)
