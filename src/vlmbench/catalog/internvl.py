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

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
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


# id: (LLM, (hidden, layers, heads, KV heads, FFN[, expert FFN]), the sheet's total, the README's
# "vision / LLM / total"; InternVL3: the model size). One table per LLM config.
QWEN3_LLMS = {
    "internvl3.5-1b": ("Qwen3-0.6B", (1024, 28, 16, 8, 3072), 1_060_897_792, "0.3B / 0.8B / 1.1B"),
    "internvl3.5-2b": ("Qwen3-1.7B", (2048, 28, 16, 8, 6144), 2_348_347_392, "0.3B / 2.0B / 2.3B"),
    "internvl3.5-4b": ("Qwen3-4B", (2560, 36, 32, 8, 9728), 4_732_489_216, "0.3B / 4.4B / 4.7B"),
    "internvl3.5-8b": ("Qwen3-8B", (4096, 36, 32, 8, 12288), 8_528_318_464, "0.3B / 8.2B / 8.5B"),
    "internvl3.5-14b": ("Qwen3-14B", (5120, 40, 40, 8, 17408), 15_119_523_840, "0.3B / 14.8B / 15.1B"),
    "internvl3.5-38b": ("Qwen3-32B", (5120, 64, 64, 8, 25600), 38_390_405_504, "5.5B / 32.8B / 38.4B"),
}
QWEN3_MOE_LLMS = {  # 8 of 128 experts per token
    "internvl3.5-30b-a3b": ("Qwen3-30B-A3B MoE", (2048, 48, 32, 4, 6144, 768), 30_848_730_112, "0.3B / 30.5B / 30.8B"),
    "internvl3.5-241b-a28b": ("Qwen3-235B-A22B MoE", (4096, 94, 64, 4, 12288, 1536), 240_699_370_368,
                              "5.5B / 235.1B / 240.7B-A28B"),
}
QWEN25_LLMS = {
    "internvl3-8b": ("Qwen2.5-7B", (3584, 28, 28, 4, 18944), 7_944_373_760, "8B"),
    "internvl3-14b": ("Qwen2.5-14B", (5120, 48, 40, 8, 13824), 15_117_256_704, "14B"),
    "internvl3-38b": ("Qwen2.5-32B", (5120, 64, 40, 8, 27648), 38_388_164_992, "38B"),
    "internvl3-78b": ("Qwen2.5-72B", (8192, 80, 64, 8, 29568), 78_408_318_336, "78B"),
}
TABLES = ((Qwen3Config, QWEN3, QWEN3_LLMS), (Qwen3MoeConfig, QWEN3_MOE, QWEN3_MOE_LLMS),
          (Qwen2Config, QWEN25, QWEN25_LLMS))
WITH_VIT_6B = ("internvl3.5-38b", "internvl3.5-241b-a28b", "internvl3-38b", "internvl3-78b")
# No -hf ports of InternVL3-38B/78B were confirmed: their checkpoints are the original (remote-code) format.
ORIGINAL_FORMAT = ("internvl3-38b", "internvl3-78b")


def llm_config(config_class, base: dict, shape: tuple[int, ...]):
    hidden, layers, heads, kv, ffn, *expert = shape
    extra = {"moe_intermediate_size": expert[0]} if expert else {}
    return config_class(**dict(base, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                               num_key_value_heads=kv, intermediate_size=ffn, **extra))


def checkpoint(entry_id: str) -> str:
    """OpenGVLab/InternVL3_5-<size>-HF, OpenGVLab/InternVL3-<size>-hf (original format: no suffix)."""
    version, size = entry_id.removeprefix("internvl").split("-", 1)
    name = f"OpenGVLab/InternVL{version.replace('.', '_')}-{size.upper()}"
    if entry_id in ORIGINAL_FORMAT:
        return name
    return name + ("-HF" if version == "3.5" else "-hf")


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
    max_images=MULTI_IMAGE, max_images_note="InternVL HF docs: multi-image prompts (one <IMG_CONTEXT> block per image); " + MULTI_IMAGE_BOUND,
    system="InternVL3.5", model_class=InternVLForConditionalGeneration, processor=PROCESSOR, prompt_template=PROMPT,
    vision_encoder="InternViT-300M-448px, 1-12 tiles + thumbnail", vision_modules=VISION_MODULES,
    reference_resolution=(TILE, TILE), image_token_rule=internvl_tokens,
)


def _real(entry_id: str, config_class, base: dict, row: tuple) -> CatalogEntry:
    llm, shape, total, published = row
    vision, vit = (VIT_6B, "6B") if entry_id in WITH_VIT_6B else (VIT_300M, "300M")
    return FAMILY.entry(
        entry_id, lambda: internvl_config(vision, llm_config(config_class, base, shape)),
        shapes=f"InternVL README model zoo ({published}); InternViT-{vit}-448px-V2_5 (HF converter's "
               f"vit_{vit.lower()}_config) + {llm} config.json; pixel shuffle 0.5",
        published_total=published, checkpoint=checkpoint(entry_id), reference_params=total, language_model=llm,
        assumption="no -hf port confirmed: built from the shapes" if entry_id in ORIGINAL_FORMAT else "",
        vision_encoder=f"InternViT-{vit}-448px, 1-12 tiles + thumbnail",
        **({"system": "InternVL3"} if entry_id.startswith("internvl3-") else {}),
        **({"trust_remote_code_checkpoint": True} if entry_id in ORIGINAL_FORMAT else {}),
    )


REAL = [_real(entry_id, config_class, base, row) for config_class, base, table in TABLES
        for entry_id, row in table.items()]
ENTRIES = (
    *REAL,
    tiny_variant(REAL[0],
                 build_config=lambda: internvl_config(
                     VIT_TINY, Qwen3Config(**dict(QWEN3, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                                  num_key_value_heads=2, head_dim=16, intermediate_size=128))),
                 scaled_down="2+2 layers, width 64, head dim 16, real vocabulary",
                 same="processor, 448 tiles, dynamic tiling, pixel shuffle and 256 tokens per tile",
                 vision_encoder="InternViT (tiny) @448, tiles + thumbnail", language_model="Qwen3 (tiny)"),
)
