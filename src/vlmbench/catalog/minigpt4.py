"""MiniGPT-4 (Vicuna v0 7B / 13B), expressed as transformers' ``Blip2ForConditionalGeneration``.

MiniGPT-4 is BLIP-2's frozen front end with a Vicuna LLM: EVA ViT-g/14 @224 (39 layers + final
LayerNorm, 257 tokens incl. CLS) -> BERT-base Q-Former with 32 learned queries (cross-attention
every 2nd layer; MiniGPT-4 removes the Q-Former's text embeddings and text FFNs, which HF's
Blip2QFormerModel never had) -> Linear(768 -> LLM width) -> **32 visual tokens**. Blip2 with a
Llama ``text_config`` builds exactly these modules. The stand-in processor is transformers'
``Blip2Processor`` (BlipImageProcessor: resize to 224, CLIP normalisation), which expands the
image to 32 ``<image>`` tokens.
Sources: MiniGPT-4 minigpt4/models/mini_gpt4.py and minigpt4/configs (eva_clip_g, 224, 32
queries, vicuna v0); Vicuna v0 = LLaMA-1 shapes. Weights are published only in MiniGPT-4's own
format (a projection checkpoint over Vicuna deltas), so these entries run with random weights.
"""

from __future__ import annotations

import transformers
from transformers import Blip2Config, Blip2ForConditionalGeneration, Blip2QFormerConfig, Blip2VisionConfig, LlamaConfig

from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.shapes import (EVA_VIT_G, EVA_VIT_TINY, LLAMA_TINY, QFORMER_BLIP2, QFORMER_TINY,
                                     VICUNA_V0_7B, VICUNA_V0_13B)
from vlmbench.catalog.templates import MINIGPT4_VICUNA_V0

NUM_QUERY_TOKENS = 32
VISION_MODULES = ("vision_model", "qformer", "language_projection")
SIDE = VisionSide("EVA ViT-g/14 @224 + Q-Former (32 queries)", 224, NUM_QUERY_TOKENS, VISION_MODULES)
PROMPT = ("Give the following image: <Img>ImageContent</Img>. You will be able to see the image once I "
          "provide it to you. Please answer my questions.###Human: <Img></Img> {prompt}###Assistant: ")
APPROXIMATIONS = (
    "Blip2Processor places the 32 visual tokens at the start of the sequence; MiniGPT-4 places "
    "them between <Img> and </Img> after its system prompt (same token count, other positions)"
)


def minigpt4_config(vision: dict, qformer: dict, text: dict) -> Blip2Config:
    return Blip2Config(
        vision_config=Blip2VisionConfig(**vision),
        qformer_config=Blip2QFormerConfig(**dict(qformer, encoder_hidden_size=vision["hidden_size"])),
        text_config=LlamaConfig(**text),
        num_query_tokens=NUM_QUERY_TOKENS,
        image_token_index=text["vocab_size"] - 1,
        tie_word_embeddings=False,
    )


def blip2_processor(tokenizer):
    """Blip2Processor over BlipImageProcessor @224 (EVA ViT-g preprocessing: resize, CLIP norm)."""
    ip = image_processor(
        "BlipImageProcessor",
        size={"height": 224, "width": 224},
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        resample=3,
    )
    processor = transformers.Blip2Processor(image_processor=ip, tokenizer=tokenizer,
                                            num_query_tokens=NUM_QUERY_TOKENS)
    processor.chat_template = tokenizer.chat_template
    return processor


# image_token="": Blip2Processor adds <image> itself and fails if the tokenizer already names one.
PROCESSOR = ProcessorSpec(build=blip2_processor, image_token="", chat_template=MINIGPT4_VICUNA_V0)


def _real(size: str, text: dict, total: int) -> CatalogEntry:
    return CatalogEntry(
        id=f"minigpt4-{size}",
        system="MiniGPT-4",
        build_config=lambda: minigpt4_config(EVA_VIT_G, QFORMER_BLIP2, text),
        model_class=Blip2ForConditionalGeneration,
        processor=PROCESSOR,
        provenance=Provenance(
            shapes=f"MiniGPT-4 (Vicuna v0 {size.upper()}) configs: EVA ViT-g/14 @224 + BLIP-2 Q-Former "
                   f"(32 queries) + Linear(768->{text['hidden_size']}) + Vicuna-{size.upper()} v0 (LLaMA-1 shapes)",
            published_total=size.upper(),
            approximations=APPROXIMATIONS,
            code="MiniGPT-4 minigpt4/models/mini_gpt4.py",
        ),
        reference_params=total,
        language_model=f"Vicuna-{size.upper()} v0",
        construction="composition",
        prompt_template=PROMPT,
        **SIDE.fields(),
    )


MINIGPT4_7B = _real("7b", VICUNA_V0_7B, 7_832_679_936)

ENTRIES = (
    MINIGPT4_7B,
    _real("13b", VICUNA_V0_13B, 14_110_916_096),
    tiny_variant(MINIGPT4_7B, build_config=lambda: minigpt4_config(EVA_VIT_TINY, QFORMER_TINY, LLAMA_TINY),
                 scaled_down="2-layer encoder, Q-Former and LLM, width 64",
                 same="processor, resolution and 32 query tokens", code="",
                 vision_encoder="EVA ViT (tiny) @224 + Q-Former (tiny, 32 queries)", language_model="Llama (tiny)"),
)
