"""InternVL 3.5 (1B .. 241B-A28B) and InternVL 3 (8B .. 78B), HF format
(transformers-native ``InternVLForConditionalGeneration``).

Vision: InternViT-300M-448px-V2_5 (24 x 1024, LayerNorm, layer scale, qkv bias) or InternViT-6B
(45 x 3200, RMSNorm, QK-norm) on 448 px tiles -> 1024 patches + CLS (dropped); pixel shuffle 0.5 folds
2 x 2 patches into one 4 x width vector: 256 tokens per tile; projector LayerNorm -> Linear -> GELU ->
Linear. Dynamic tiling (``token_rules.internvl_tokens``): the 1..12-tile grid closest to the image's
aspect ratio, plus a 448 thumbnail when there is more than one tile. LLM: Qwen3 (3.5; 30B-A3B and
241B-A28B are Qwen3 MoE, 8 of 128 experts) or Qwen2.5 (InternVL3, vocab 151674); all untied (the
top-level flag, which decides in transformers 5.2x, is set explicitly).
The processor is transformers' ``InternVLProcessor`` over a ``GotOcr2ImageProcessor`` (448 tiles,
crop_to_patches, 1..12 tiles, ImageNet mean/std, bicubic).
Sources: the current-models fact sheet; OpenGVLab/InternVL README model zoo (components, totals);
the InternVL HF-format converter's ``vit_300m_config`` / ``vit_6b_config`` (copy); Qwen3 / Qwen2.5
config.json shapes; the exact 1B split (304,012,288 vision + 751,632,384 language + 5,253,120
projector) of OpenGVLab/InternVL3_5-1B-HF.
"""

from __future__ import annotations

import transformers
from transformers import (InternVLConfig, InternVLForConditionalGeneration, InternVLVisionConfig, Qwen2Config,
                          Qwen3Config, Qwen3MoeConfig)

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import image_processor
from vlmbench.catalog.templates import INTERNVL_CHAT, INTERNVL_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import internvl_tokens
from vlmbench.catalog.tokenizer import with_named_tokens

TILE, TOKENS_PER_TILE, MAX_TILES = 448, 256, 12
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
IMAGE_TOKEN = "<IMG_CONTEXT>"
VISION_MODULES = ("model.vision_tower", "model.multi_modal_projector")
PROMPT = "<|im_start|>user\n<image>\n{prompt}<|im_end|>\n<|im_start|>assistant\n"

VIT_300M = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                attention_bias=True, use_qk_norm=False, norm_type="layer_norm", hidden_act="gelu",
                layer_scale_init_value=0.1, image_size=[TILE, TILE], patch_size=[14, 14], layer_norm_eps=1e-6)
VIT_6B = dict(VIT_300M, hidden_size=3200, num_hidden_layers=45, num_attention_heads=25, intermediate_size=12800,
              attention_bias=False, use_qk_norm=True, norm_type="rms_norm")
VIT_TINY = dict(VIT_300M, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)

QWEN3 = dict(vocab_size=151936, head_dim=128, max_position_embeddings=40960, rms_norm_eps=1e-6,
             rope_parameters={"rope_type": "default", "rope_theta": 1e6}, tie_word_embeddings=False)
QWEN3_MOE = dict(QWEN3, num_experts=128, num_experts_per_tok=8, decoder_sparse_step=1, norm_topk_prob=True)
QWEN25 = dict(vocab_size=151674, max_position_embeddings=32768, rms_norm_eps=1e-6,
              rope_parameters={"rope_type": "default", "rope_theta": 1e6}, tie_word_embeddings=False)


def _llm(config_class, base: dict, hidden: int, layers: int, heads: int, kv: int, ffn: int, **extra):
    return lambda: config_class(**dict(base, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                                       num_key_value_heads=kv, intermediate_size=ffn, **extra))


# id -> (vision, LLM name, LLM config factory, sheet total, published "vision / LLM / total")
SIZES = {
    "internvl3.5-1b": (VIT_300M, "Qwen3-0.6B", _llm(Qwen3Config, QWEN3, 1024, 28, 16, 8, 3072), 1_060_897_792,
                       "0.3B / 0.8B / 1.1B"),
    "internvl3.5-2b": (VIT_300M, "Qwen3-1.7B", _llm(Qwen3Config, QWEN3, 2048, 28, 16, 8, 6144), 2_348_347_392,
                       "0.3B / 2.0B / 2.3B"),
    "internvl3.5-4b": (VIT_300M, "Qwen3-4B", _llm(Qwen3Config, QWEN3, 2560, 36, 32, 8, 9728), 4_732_489_216,
                       "0.3B / 4.4B / 4.7B"),
    "internvl3.5-8b": (VIT_300M, "Qwen3-8B", _llm(Qwen3Config, QWEN3, 4096, 36, 32, 8, 12288), 8_528_318_464,
                       "0.3B / 8.2B / 8.5B"),
    "internvl3.5-14b": (VIT_300M, "Qwen3-14B", _llm(Qwen3Config, QWEN3, 5120, 40, 40, 8, 17408), 15_119_523_840,
                        "0.3B / 14.8B / 15.1B"),
    "internvl3.5-38b": (VIT_6B, "Qwen3-32B", _llm(Qwen3Config, QWEN3, 5120, 64, 64, 8, 25600), 38_390_405_504,
                        "5.5B / 32.8B / 38.4B"),
    "internvl3.5-30b-a3b": (VIT_300M, "Qwen3-30B-A3B (8 of 128 experts)",
                            _llm(Qwen3MoeConfig, QWEN3_MOE, 2048, 48, 32, 4, 6144, moe_intermediate_size=768),
                            30_848_730_112, "0.3B / 30.5B / 30.8B"),
    "internvl3.5-241b-a28b": (VIT_6B, "Qwen3-235B-A22B (8 of 128 experts)",
                              _llm(Qwen3MoeConfig, QWEN3_MOE, 4096, 94, 64, 4, 12288, moe_intermediate_size=1536),
                              240_699_370_368, "5.5B / 235.1B / 240.7B-A28B"),
    "internvl3-8b": (VIT_300M, "Qwen2.5-7B", _llm(Qwen2Config, QWEN25, 3584, 28, 28, 4, 18944), 7_944_373_760,
                     "8B (Qwen2.5-7B)"),
    "internvl3-14b": (VIT_300M, "Qwen2.5-14B", _llm(Qwen2Config, QWEN25, 5120, 48, 40, 8, 13824), 15_117_256_704,
                      "14B (Qwen2.5-14B)"),
    "internvl3-38b": (VIT_6B, "Qwen2.5-32B", _llm(Qwen2Config, QWEN25, 5120, 64, 40, 8, 27648), 38_388_164_992,
                      "38B (Qwen2.5-32B)"),
    "internvl3-78b": (VIT_6B, "Qwen2.5-72B", _llm(Qwen2Config, QWEN25, 8192, 80, 64, 8, 29568), 78_408_318_336,
                      "78B (Qwen2.5-72B)"),
}
CHECKPOINTS = {
    "internvl3.5-1b": "OpenGVLab/InternVL3_5-1B-HF", "internvl3.5-2b": "OpenGVLab/InternVL3_5-2B-HF",
    "internvl3.5-4b": "OpenGVLab/InternVL3_5-4B-HF", "internvl3.5-8b": "OpenGVLab/InternVL3_5-8B-HF",
    "internvl3.5-14b": "OpenGVLab/InternVL3_5-14B-HF", "internvl3.5-38b": "OpenGVLab/InternVL3_5-38B-HF",
    "internvl3.5-30b-a3b": "OpenGVLab/InternVL3_5-30B-A3B-HF",
    "internvl3.5-241b-a28b": "OpenGVLab/InternVL3_5-241B-A28B-HF",
    "internvl3-8b": "OpenGVLab/InternVL3-8B-hf", "internvl3-14b": "OpenGVLab/InternVL3-14B-hf",
    "internvl3-38b": "OpenGVLab/InternVL3-38B", "internvl3-78b": "OpenGVLab/InternVL3-78B",
}
ASSUMPTIONS = {
    "internvl3-38b": "no -hf port confirmed: built from the shapes (checkpoint is the original format)",
    "internvl3-78b": "no -hf port confirmed: built from the shapes (checkpoint is the original format)",
}


def internvl_config(vision: dict, text) -> InternVLConfig:
    return InternVLConfig(vision_config=InternVLVisionConfig(**vision), text_config=text,
                          downsample_ratio=0.5, projector_hidden_act="gelu", vision_feature_layer=-1,
                          vision_feature_select_strategy="default", image_seq_length=TOKENS_PER_TILE,
                          tie_word_embeddings=False)


def internvl_processor(tokenizer):
    tokenizer = with_named_tokens(tokenizer, context_image_token=IMAGE_TOKEN, start_image_token="<img>",
                                  end_image_token="</img>", video_token="<video>")
    ip = image_processor("GotOcr2ImageProcessor", size={"height": TILE, "width": TILE}, crop_to_patches=True,
                         min_patches=1, max_patches=MAX_TILES, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD,
                         resample=3)
    return transformers.InternVLProcessor(image_processor=ip, tokenizer=tokenizer,
                                          video_processor=transformers.InternVLVideoProcessor(),
                                          image_seq_length=TOKENS_PER_TILE, chat_template=tokenizer.chat_template)


PROCESSOR = ProcessorSpec(build=internvl_processor, image_token=IMAGE_TOKEN, chat_template=INTERNVL_CHAT,
                          extra_special_tokens=INTERNVL_SPECIAL_TOKENS)
FAMILY = NativeFamily(
    system="InternVL3.5", model_class=InternVLForConditionalGeneration, processor=PROCESSOR, prompt_template=PROMPT,
    vision_encoder="InternViT-300M-448px, 1-12 tiles + thumbnail", vision_modules=VISION_MODULES,
    reference_resolution=(TILE, TILE), image_token_rule=internvl_tokens,
)


def _real(entry_id: str) -> CatalogEntry:
    vision, llm, text, total, published = SIZES[entry_id]
    big = vision is VIT_6B
    return FAMILY.entry(
        entry_id, lambda: internvl_config(vision, text()),
        shapes=f"InternVL README model zoo ({published}); InternViT-{'6B' if big else '300M'}-448px-V2_5 "
               f"(HF converter's vit_{'6b' if big else '300m'}_config) + {llm} config.json; pixel shuffle 0.5",
        published_total=published, checkpoint=CHECKPOINTS[entry_id], reference_params=total, language_model=llm,
        assumption=ASSUMPTIONS.get(entry_id, ""),
        vision_encoder=f"InternViT-{'6B' if big else '300M'}-448px, 1-12 tiles + thumbnail",
        **({"system": "InternVL3"} if entry_id.startswith("internvl3-") else {}),
    )


INTERNVL35_1B = _real("internvl3.5-1b")
ENTRIES = (
    INTERNVL35_1B,
    *(_real(i) for i in SIZES if i != "internvl3.5-1b"),
    tiny_variant(INTERNVL35_1B,
                 build_config=lambda: internvl_config(
                     VIT_TINY, Qwen3Config(**dict(QWEN3, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                                  num_key_value_heads=2, head_dim=16, intermediate_size=128))),
                 scaled_down="2+2 layers, width 64, head dim 16, real vocabulary",
                 same="processor, 448 tiles, dynamic tiling, pixel shuffle and 256 tokens per tile",
                 vision_encoder="InternViT (tiny) @448, tiles + thumbnail", language_model="Qwen3 (tiny)"),
)
