"""LLaVA-1.5 (transformers-native ``LlavaForConditionalGeneration``).

Shapes: CLIP ViT-L/14-336 (24 layers, 1024 wide, 16 heads, MLP 4096, quick-GELU), feature
layer -2, CLS dropped -> 576 visual tokens; projector mlp2x_gelu; Vicuna-v1.5 LLM.
Source: config.json of llava-hf/llava-1.5-{7b,13b}-hf (vocab padded to 32064).
"""

from __future__ import annotations

from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance
from vlmbench.catalog.processors import llava_processor
from vlmbench.catalog.templates import VICUNA_V1

CLIP_L_336 = dict(
    hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
    image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5,
)
CLIP_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    image_size=336, patch_size=14, projection_dim=64, hidden_act="quick_gelu", layer_norm_eps=1e-5,
)
VICUNA_7B = dict(
    hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32064, tie_word_embeddings=False,
)
VICUNA_13B = dict(VICUNA_7B, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                  num_attention_heads=40, num_key_value_heads=40)
LLAMA_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=4, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32064, tie_word_embeddings=False,
)


def llava_config(vision: dict, text: dict, image_token_id: int = 32000) -> LlavaConfig:
    return LlavaConfig(
        vision_config=CLIPVisionConfig(**vision),
        text_config=LlamaConfig(**text),
        image_token_id=image_token_id,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        image_seq_length=576,
    )


LLAVA_PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=336, patch_size=14),
    chat_template=VICUNA_V1,
)

ENTRIES = (
    CatalogEntry(
        id="llava-1.5-7b",
        system="LLaVA-1.5",
        build_config=lambda: llava_config(CLIP_L_336, VICUNA_7B),
        model_class=LlavaForConditionalGeneration,
        processor=LLAVA_PROCESSOR,
        provenance=Provenance(
            shapes="config.json of llava-hf/llava-1.5-7b-hf (CLIP ViT-L/14-336 + Vicuna-7B-v1.5)",
            published_total="7B",
            approximations="none; vocab 32064 as in the HF conversion (original 32000)",
        ),
        checkpoints=("llava-hf/llava-1.5-7b-hf",),
        reference_params=7_063_427_072,
        visual_tokens=576,
        reference_resolution=(336, 336),
        vision_encoder="CLIP ViT-L/14 @336",
        language_model="Vicuna-7B-v1.5",
        construction="native",
        vision_modules=("model.vision_tower", "model.multi_modal_projector"),
    ),
    CatalogEntry(
        id="llava-1.5-7b-tiny",
        system="LLaVA-1.5",
        build_config=lambda: llava_config(CLIP_TINY, LLAMA_TINY),
        model_class=LlavaForConditionalGeneration,
        processor=LLAVA_PROCESSOR,
        provenance=Provenance(
            shapes="llava-1.5-7b structure scaled down: 2+2 layers, width 64",
            published_total="-",
            approximations="tiny test variant: same classes, resolution, patching and token count",
        ),
        visual_tokens=576,
        reference_resolution=(336, 336),
        vision_encoder="CLIP ViT (tiny) @336",
        language_model="Llama (tiny)",
        construction="native",
        tiny_of="llava-1.5-7b",
        vision_modules=("model.vision_tower", "model.multi_modal_projector"),
    ),
)
