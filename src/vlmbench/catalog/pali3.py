"""PaLI-3 5B. vlmbench arch ``archs.pali3.PaLI3ForConditionalGeneration``. No weights were ever
released: this is a system only random-weight benchmarking can measure.

Vision (published: "SigLIP ViT-G/14, 2B"; shape from google-research/big_vision's ViT "G/14":
width 1664, depth 48, MLP 8192, 16 heads): at 224 px, 16x16 = 256 output tokens, no pooling
head, linearly projected to the encoder width and placed before the prompt.

Encoder-decoder (published: "3B UL2"; its dimensions are not public). Assumed, and marked:
the T5 v1.1 / mT5 "XL" layout (public configs google/t5-v1_1-xl, google/mt5-xl): d_model 2048,
24 encoder + 24 decoder layers, 32 heads x 64, gated-GELU FFN 5120, relative position buckets
32 / max distance 128; vocabulary 250,112 (mT5 SentencePiece: PaLI models are multilingual and
PaLI-3 is evaluated on multilingual captioning and retrieval) with input and output embeddings
tied. That puts the encoder-decoder at 3.23B and the system at 5.08B, the published "5B".
The alternatives, for the record: untied 250k vocab 3.74B (system 5.59B); untied 32,128 (T5 /
UL2 English vocab) 2.85B (system 4.70B).

Prompt: plain prefix text after the image tokens, ending with ``</s>`` (T5/mT5 tokenizers append
EOS to encoder inputs); no chat template. Preprocessing: big_vision style resize to 224x224
(bilinear, no crop), values to [-1, 1] (mean 0.5, std 0.5).
"""

from __future__ import annotations

from transformers import SiglipVisionConfig, T5Config

from vlmbench.archs.pali3 import PaLI3Config, PaLI3ForConditionalGeneration
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, tiny_variant
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD, ExpandingProcessor, image_processor

RESOLUTION = 224
PATCH = 14
VISUAL_TOKENS = (RESOLUTION // PATCH) ** 2  # 256
VISION_MODULES = ("vision_tower", "multi_modal_projector")
PROMPT_TEMPLATE = "<image>{prompt}</s>"

SIGLIP_G14 = dict(hidden_size=1664, intermediate_size=8192, num_hidden_layers=48, num_attention_heads=16,
                  image_size=RESOLUTION, patch_size=PATCH, vision_use_head=False)
SIGLIP_TINY = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                   image_size=RESOLUTION, patch_size=PATCH, vision_use_head=False)
UL2_3B_ASSUMED = dict(vocab_size=250112, d_model=2048, d_kv=64, d_ff=5120, num_layers=24, num_decoder_layers=24,
                      num_heads=32, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                      feed_forward_proj="gated-gelu", tie_word_embeddings=True, layer_norm_epsilon=1e-6)
UL2_TINY = dict(UL2_3B_ASSUMED, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2, num_heads=4)

ASSUMPTION = ("UL2-3B dims not public: T5 v1.1/mT5-XL layout assumed (d_model 2048, 24+24 layers, 32x64 heads, "
              "gated-GELU 5120, vocab 250112 mT5, tied embeddings); image projection one Linear(1664->2048)")


def pali3_config(vision: dict, text: dict) -> PaLI3Config:
    return PaLI3Config(vision_config=SiglipVisionConfig(**vision), text_config=T5Config(**text))


def _build_processor(tokenizer):
    ip = image_processor("SiglipImageProcessor", size={"height": RESOLUTION, "width": RESOLUTION}, resample=2,
                         image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD)
    return ExpandingProcessor(
        tokenizer,
        image_inputs=lambda images: {"pixel_values": ip(images=images, return_tensors="pt")["pixel_values"]},
        tokens_per_image=lambda image: VISUAL_TOKENS,
        image_processor=ip,
    )


PROCESSOR = ProcessorSpec(build=_build_processor)

PALI3_5B = CatalogEntry(
    id="pali3-5b",
    system="PaLI-3",
    build_config=lambda: pali3_config(SIGLIP_G14, UL2_3B_ASSUMED),
    provenance=Provenance(
        shapes="SigLIP G/14 per google-research/big_vision ViT 'G' (1664/48/8192/16) @224; "
               "encoder-decoder: T5 v1.1/mT5-XL layout (assumed, see module docstring)",
        published_total="5B (SigLIP ViT-G 2B + UL2 3B)",
        approximations=f"{ASSUMPTION}; computed total 5,076,572,544; no checkpoint exists: random only",
        code="Chen et al. 2023 (arXiv 2310.09199) section 2; transformers T5 classes",
    ),
    checkpoints=(),
    reference_params=None,
    vision_encoder="SigLIP ViT-G/14 @224",
    language_model="UL2-3B encoder-decoder (assumed T5 v1.1 XL layout)",
    model_class=PaLI3ForConditionalGeneration,
    processor=PROCESSOR,
    visual_tokens=VISUAL_TOKENS,
    reference_resolution=(RESOLUTION, RESOLUTION),
    construction="vlmbench arch",
    assumed_shapes=True,
    assumption=ASSUMPTION,
    vision_modules=VISION_MODULES,
    prompt_template=PROMPT_TEMPLATE,
)

ENTRIES = (
    PALI3_5B,
    tiny_variant(PALI3_5B, build_config=lambda: pali3_config(SIGLIP_TINY, UL2_TINY),
                 scaled_down="SigLIP 2 layers width 32, T5 2+2 layers width 64",
                 same="resolution, 256 image tokens, vocab and tying", code="",
                 vision_encoder="SigLIP (tiny) @224", language_model="T5 encoder-decoder (tiny)"),
)
