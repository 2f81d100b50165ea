"""PaliGemma 3B (transformers-native ``PaliGemmaForConditionalGeneration``) at 224, 448, 896.

SigLIP-So400m/14 (27 layers, no pooling head) at the checkpoint's resolution -> 256 / 1024 /
4096 visual tokens (every patch, no CLS), Linear(1152->2048), Gemma-2B with vocab 257216
(HF config; 257152 used ids) and tied embeddings; prefix-LM attention (image + prompt
bidirectional). The processor is transformers' ``PaliGemmaProcessor`` over a
``SiglipImageProcessor`` with the checkpoints' ``preprocessor_config.json`` values: resize
(no crop, no pad) to the square resolution, [-1, 1] normalisation. It adds the 1,024 <locNNNN>
and 128 <segNNN> tokens to the tokenizer, as the real tokenizer has them.
Sources: config.json / preprocessor_config.json of google/paligemma-3b-{pt,mix}-{224,448,896}.
"""

from __future__ import annotations

import transformers
from transformers import GemmaConfig, PaliGemmaConfig, PaliGemmaForConditionalGeneration, SiglipVisionConfig

from vlmbench.catalog.composition import HF_VISION_MODULES
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD, image_processor
from vlmbench.catalog.shapes import GEMMA_2B, GEMMA_TINY, SIGLIP_SO400M, SIGLIP_TINY
from vlmbench.catalog.templates import PALIGEMMA_PROMPT

VOCAB = 257216  # HF config (257152 ids used: Gemma's 256000 + 1024 loc + 128 seg)
IMAGE_TOKEN_ID = 257152
TOTALS = {224: 2_923_466_480, 448: 2_924_351_216, 896: 2_927_890_160}
CHECKPOINTS = {
    224: ("google/paligemma-3b-mix-224", "google/paligemma-3b-pt-224"),
    448: ("google/paligemma-3b-mix-448", "google/paligemma-3b-pt-448"),
    896: ("google/paligemma-3b-pt-896",),
}


def visual_tokens(resolution: int) -> int:
    return (resolution // 14) ** 2


def paligemma_config(vision: dict, text: dict, resolution: int) -> PaliGemmaConfig:
    width = text["hidden_size"]
    return PaliGemmaConfig(
        vision_config=SiglipVisionConfig(**dict(vision, image_size=resolution, projection_dim=width)),
        text_config=GemmaConfig(**dict(text, vocab_size=VOCAB)),
        image_token_index=IMAGE_TOKEN_ID,
        projection_dim=width,
        hidden_size=width,
        vocab_size=VOCAB,
        tie_word_embeddings=True,
    )


def paligemma_processor(tokenizer, resolution: int):
    ip = image_processor(
        "SiglipImageProcessor",
        size={"height": resolution, "width": resolution},
        image_mean=SIGLIP_MEAN,
        image_std=SIGLIP_STD,
        resample=3,
        image_seq_length=visual_tokens(resolution),
    )
    return transformers.PaliGemmaProcessor(image_processor=ip, tokenizer=tokenizer)


def _spec(resolution: int) -> ProcessorSpec:
    return ProcessorSpec(build=lambda tok: paligemma_processor(tok, resolution))


PROCESSORS = {resolution: _spec(resolution) for resolution in TOTALS}


def _real(resolution: int) -> CatalogEntry:
    checkpoints = CHECKPOINTS[resolution]
    return CatalogEntry(
        id=f"paligemma-3b-{resolution}",
        system="PaliGemma",
        build_config=lambda: paligemma_config(SIGLIP_SO400M, GEMMA_2B, resolution),
        model_class=PaliGemmaForConditionalGeneration,
        processor=PROCESSORS[resolution],
        provenance=Provenance(
            shapes=f"config.json and preprocessor_config.json of {', '.join(checkpoints)} "
                   f"(SigLIP-So400m/14 @{resolution} without head + Gemma-2B, vocab {VOCAB})",
            published_total="3B",
            approximations="none; the prompt uses the 'answer en' task prefix of the mix checkpoints",
        ),
        checkpoints=checkpoints,
        reference_params=TOTALS[resolution],
        language_model="Gemma-2B",
        construction="native",
        prompt_template=PALIGEMMA_PROMPT,
        **VisionSide(f"SigLIP-So400m/14 @{resolution}", resolution, visual_tokens(resolution),
                     HF_VISION_MODULES).fields(),
    )


PALIGEMMA_224 = _real(224)

ENTRIES = (
    PALIGEMMA_224,
    _real(448),
    _real(896),
    tiny_variant(PALIGEMMA_224, build_config=lambda: paligemma_config(SIGLIP_TINY, GEMMA_TINY, 224),
                 scaled_down="2+2 layers, width 64, real vocabulary", same="processor, resolution and token count",
                 vision_encoder="SigLIP (tiny) @224", language_model="Gemma (tiny)"),
)
