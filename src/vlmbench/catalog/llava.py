"""LLaVA-1.5 (transformers-native ``LlavaForConditionalGeneration``).

Shapes: CLIP ViT-L/14-336 (24 layers, 1024 wide, 16 heads, MLP 4096, quick-GELU), feature
layer -2 (HF Llava, like the original code, still runs all 24 layers), CLS dropped -> 576
visual tokens; projector mlp2x_gelu; Vicuna-v1.5 LLM. Images are padded to a square with the
mean colour and resized to 336. Source: config.json of llava-hf/llava-1.5-{7b,13b}-hf (vocab
padded to 32064 by the HF conversion).
"""

from __future__ import annotations

from dataclasses import replace

from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

from vlmbench.catalog.composition import CLIP_L_336_SIDE, llava_composition
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, tiny_variant
from vlmbench.catalog.processors import llava_processor
from vlmbench.catalog.shapes import CLIP_L_336, CLIP_TINY, LLAMA_TINY, VICUNA_7B, VICUNA_13B
from vlmbench.catalog.templates import VICUNA_V1

__all__ = ["CLIP_L_336", "CLIP_TINY", "LLAMA_TINY", "VICUNA_7B", "VICUNA_13B", "ENTRIES",
           "LLAVA_PROCESSOR", "llava_config"]



def llava_config(vision: dict, text: dict, image_token_id: int = 32000) -> LlavaConfig:
    """CLIP (``vision`` kwargs) + Llama (``text`` kwargs), layer -2, CLS dropped: LLaVA-1.5."""
    return llava_composition(
        CLIPVisionConfig(**vision), LlamaConfig(**text),
        feature_layer=-2, strategy="default", image_seq_length=576, image_token_id=image_token_id,
    )


LLAVA_PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=336, patch_size=14),
    chat_template=VICUNA_V1,
)


def _real(entry_id: str, size: str, text: dict, total: int, llm: str) -> CatalogEntry:
    return CatalogEntry(
        id=entry_id,
        system="LLaVA-1.5",
        build_config=lambda: llava_config(CLIP_L_336, text),
        model_class=LlavaForConditionalGeneration,
        processor=LLAVA_PROCESSOR,
        provenance=Provenance(
            shapes=f"config.json of llava-hf/llava-1.5-{size}-hf (CLIP ViT-L/14-336 + {llm})",
            published_total=size.upper(),
            approximations="none; vocab 32064 as in the HF conversion (original 32000)",
        ),
        checkpoints=(f"llava-hf/llava-1.5-{size}-hf",),
        reference_params=total,
        language_model=llm,
        construction="native",
        **CLIP_L_336_SIDE.fields(),
        max_images=6,
        max_images_note="HF LlavaProcessor expands every <image> of a prompt to 576 tokens and the llava-hf model "
                        "card shows multi-image prompts (trained on one image); 6 x 576 fits the 4096 context",
    )


# The -tiny LLM's heads are 16 wide; serving engines' CPU attention kernels start at 32 (vLLM: 32..512), so
# the engine tests use this variant: the same tiny structure with two 64-wide heads in the LLM.
LLAMA_TINY_HD64 = dict(LLAMA_TINY, hidden_size=128, intermediate_size=256, num_attention_heads=2,
                       num_key_value_heads=2)

LLAVA_7B = _real("llava-1.5-7b", "7b", VICUNA_7B, 7_063_427_072, "Vicuna-7B-v1.5")

ENTRIES = (
    LLAVA_7B,
    _real("llava-1.5-13b", "13b", VICUNA_13B, 13_351_494_656, "Vicuna-13B-v1.5"),
    tiny_variant(LLAVA_7B, build_config=lambda: llava_config(CLIP_TINY, LLAMA_TINY),
                 scaled_down="2+2 layers, width 64", same="resolution, patching and token count",
                 vision_encoder="CLIP ViT (tiny) @336", language_model="Llama (tiny)"),
    replace(tiny_variant(LLAVA_7B, build_config=lambda: llava_config(CLIP_TINY, LLAMA_TINY_HD64),
                         scaled_down="2+2 layers, vision width 64, LLM width 128 in two 64-wide heads (the head "
                                     "width serving engines' CPU kernels take)",
                         same="resolution, patching and token count",
                         vision_encoder="CLIP ViT (tiny) @336", language_model="Llama (tiny, 64-wide heads)"),
            id="llava-1.5-7b-tiny-hd64"),
)
