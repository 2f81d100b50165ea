"""TinyLLaVA: small LLMs behind CLIP or SigLIP, all expressible as transformers' Llava.

Three structures, which differ in what the vision encoder runs and hands on:

- **tiny-llava-v1-hf "1.4B"** (bczhou/tiny-llava-v1-hf, a native Llava checkpoint): CLIP
  ViT-L/14-336 layer -2, CLS dropped -> 576 tokens; TinyLlama with vocab 32064.
- **legacy TinyLLaVA-{1.5B,2.0B,3.1B}** (bczhou/TinyLLaVA-*, TinyLLaVABench code): SigLIP-So400m
  @384 whose last encoder layer is deleted when the tower is built (``del
  encoder.layers[-1:]``), then the output of the last remaining layer, all 729 tokens. Expressed
  as a 26-layer SigLIP with ``vision_feature_layer=-1``, strategy "full": what the model really
  runs. LLMs TinyLlama-1.1B / StableLM-2-1.6B / Phi-2; images padded to a square.
- **TinyLLaVA Factory 2.4B / 3.1B** (tinyllava/TinyLLaVA-{Gemma,Phi-2}-SigLIP-*): 27-layer SigLIP,
  layer -2, and the tower's default "patch" strategy drops the first token although SigLIP has
  no CLS -> 728 tokens (HF strategy "default"); images stretched to the square
  (``image_aspect_ratio square``).

Projector mlp2x_gelu everywhere. The Factory checkpoints need their hub remote code; the legacy
ones are in TinyLLaVABench's own format (loaded by its ``load_pretrained_model``). Both are listed
with ``trust_remote_code_checkpoint``: neither loads through transformers' native classes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from transformers import (CLIPVisionConfig, GemmaConfig, LlamaConfig, LlavaForConditionalGeneration,
                          PhiConfig, SiglipVisionConfig, StableLmConfig)

from vlmbench.catalog.composition import CLIP_L_336_SIDE, SIGLIP_384_SIDE, llava_composition
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.processors import llava_processor, siglip_image_processor
from vlmbench.catalog.shapes import (CLIP_L_336, GEMMA_2B, PHI_2, PHI_2_TINY, SIGLIP_SO400M,
                                     SIGLIP_TINY, STABLELM_2_1_6B, TINYLLAMA_1_1B)
from vlmbench.catalog.templates import CURIOUS_USER_V1, TINY_LLAVA_V1_HF

SIGLIP_LAYER_PARAMS = 15_239_504  # one SigLIP-So400m encoder layer
CURIOUS_USER_PROMPT = ("A chat between a curious user and an artificial intelligence assistant. The "
                       "assistant gives helpful, detailed, and polite answers to the user's questions. "
                       "USER: <image>\n{prompt} ASSISTANT:")


# ---------------------------------------------------------------- the three structures

def clip_tinyllama(vision: dict, text: dict):
    """tiny-llava-v1-hf: CLIP layer -2, CLS dropped (576), TinyLlama vocab 32064."""
    return llava_composition(CLIPVisionConfig(**vision), LlamaConfig(**dict(text, vocab_size=32064)),
                             feature_layer=-2, strategy="default", image_seq_length=576,
                             image_token_id=32000)


def legacy(vision: dict, text_config):
    """Legacy: SigLIP @384 with its last layer deleted, last remaining layer, all 729 tokens."""
    siglip = SiglipVisionConfig(**dict(vision, image_size=384,
                                       num_hidden_layers=vision["num_hidden_layers"] - 1))
    return llava_composition(siglip, text_config, feature_layer=-1, strategy="full",
                             image_seq_length=729, image_token_id=text_config.vocab_size - 1)


def factory(vision: dict, text_config):
    """Factory: 27-layer SigLIP @384, layer -2, first token dropped (728)."""
    siglip = SiglipVisionConfig(**dict(vision, image_size=384))
    return llava_composition(siglip, text_config, feature_layer=-2, strategy="default",
                             image_seq_length=728, image_token_id=text_config.vocab_size - 1)


CLIP_PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=336, patch_size=14),
    chat_template=TINY_LLAVA_V1_HF,
)
LEGACY_PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=384, patch_size=14, strategy="full", cls_token=False,
                                      image_proc=siglip_image_processor(384, pad_to_square=True)),
    chat_template=CURIOUS_USER_V1,
)
FACTORY_PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=384, patch_size=14, strategy="default", cls_token=False,
                                      image_proc=siglip_image_processor(384, pad_to_square=False)),
    chat_template=CURIOUS_USER_V1,
)

LEGACY_APPROXIMATION = (
    "the legacy tower deletes SigLIP's last layer, so 26 layers are built and run; the fact "
    "sheet's total counts the full 27-layer SigLIP (one layer, 15,239,504 parameters, more), "
    "recorded in reference_params_not_built"
)
PHI_HEAD_BIAS = (
    "; Phi-2's LM head has a bias (51,200 parameters) that HF Llava's own bias-free LM head "
    "cannot hold: left out (0.002% of the total, one vector add per token)"
)
FACTORY_APPROXIMATION = (
    "SigLIP has no CLS token: the Factory's default strategy drops the first real patch (728 of "
    "729); HF Llava's 'default' strategy does exactly that. The 728 is inferred from the code "
    "default (vision_feature_select_strategy 'patch'), not stated by the authors"
)


@dataclass(frozen=True)
class Structure:
    """What the legacy and the Factory checkpoints each fix: the build, the processor, the
    vision side, where the shapes and code were read, and what is approximated."""

    id_prefix: str
    build: Callable[[dict, Any], Any]
    processor: ProcessorSpec
    side: VisionSide
    shapes: str  # "{hub}" and "{llm}" filled in
    approximations: str
    code: str
    not_built: int = 0


LEGACY = Structure(
    "tinyllava-legacy-", legacy, LEGACY_PROCESSOR,
    dataclasses.replace(SIGLIP_384_SIDE, encoder="SigLIP-So400m/14 @384, 26 of 27 layers"),
    "{hub} (TinyLLaVABench): SigLIP-So400m/14 @384 minus its last layer + mlp2x_gelu + {llm} config.json",
    LEGACY_APPROXIMATION, "TinyLLaVABench tinyllava/model/multimodal_encoder/siglip_encoder.py",
    not_built=SIGLIP_LAYER_PARAMS,
)
FACTORY = Structure(
    "tinyllava-", factory, FACTORY_PROCESSOR, dataclasses.replace(SIGLIP_384_SIDE, tokens=728),
    "{hub} (TinyLLaVA Factory): SigLIP-So400m/14 @384 layer -2 + mlp2x_gelu + {llm} config.json",
    FACTORY_APPROXIMATION, "TinyLLaVA_Factory tinyllava/model/vision_tower/base.py",
)


def _siglip(structure: Structure, size: str, hub: str, text_config, llm: str, total: int,
            note: str = "") -> CatalogEntry:
    return CatalogEntry(
        id=structure.id_prefix + size,
        system="TinyLLaVA",
        build_config=lambda: structure.build(SIGLIP_SO400M, text_config()),
        model_class=LlavaForConditionalGeneration,
        processor=structure.processor,
        provenance=Provenance(shapes=structure.shapes.format(hub=hub, llm=llm), published_total=size.upper(),
                              approximations=structure.approximations + note, code=structure.code),
        checkpoints=(hub,),
        trust_remote_code_checkpoint=True,
        reference_params=total,
        reference_params_not_built=structure.not_built,
        language_model=llm,
        construction="composition",
        prompt_template=CURIOUS_USER_PROMPT,
        **structure.side.fields(),
    )


def _legacy(size: str, text_config, llm: str, total: int, note: str = "") -> CatalogEntry:
    return _siglip(LEGACY, size, f"bczhou/TinyLLaVA-{size.upper()}", text_config, llm, total, note)


def _tiny(real: CatalogEntry, build_config, vision_encoder: str, real_note: str = "") -> CatalogEntry:
    return tiny_variant(real, build_config=build_config, scaled_down="2+2 layers, width 64, real vocabulary",
                        same="layer selection, strategy, processor, resolution and token count", code="",
                        real_note=real_note, vision_encoder=vision_encoder, language_model="Phi (tiny)")


LEGACY_3_1B = _legacy("3.1b", lambda: PhiConfig(**PHI_2), "Phi-2", 3_202_178_928, PHI_HEAD_BIAS)
FACTORY_3_1B = _siglip(FACTORY, "3.1b", "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B", lambda: PhiConfig(**PHI_2),
                       "Phi-2", 3_202_178_928, PHI_HEAD_BIAS)

ENTRIES = (
    CatalogEntry(
        id="tinyllava-1.4b",
        system="TinyLLaVA",
        build_config=lambda: clip_tinyllama(CLIP_L_336, TINYLLAMA_1_1B),
        model_class=LlavaForConditionalGeneration,
        processor=CLIP_PROCESSOR,
        provenance=Provenance(
            shapes="config.json of bczhou/tiny-llava-v1-hf (CLIP ViT-L/14-336 + TinyLlama-1.1B, vocab 32064)",
            published_total="1.4B",
            approximations="none",
        ),
        checkpoints=("bczhou/tiny-llava-v1-hf",),
        reference_params=1_410_113_536,
        language_model="TinyLlama-1.1B",
        construction="native",
        prompt_template="USER: <image>\n{prompt}\nASSISTANT:",
        **CLIP_L_336_SIDE.fields(),
    ),
    _legacy("1.5b", lambda: LlamaConfig(**TINYLLAMA_1_1B), "TinyLlama-1.1B", 1_519_593_328),
    _legacy("2.0b", lambda: StableLmConfig(**STABLELM_2_1_6B), "StableLM-2-1.6B", 2_064_060_272),
    LEGACY_3_1B,
    _siglip(FACTORY, "2.4b", "tinyllava/TinyLLaVA-Gemma-SigLIP-2.4B", lambda: GemmaConfig(**GEMMA_2B),
            "Gemma-2B", 2_925_717_360),
    FACTORY_3_1B,
    _tiny(LEGACY_3_1B, lambda: legacy(dict(SIGLIP_TINY, num_hidden_layers=3), PhiConfig(**PHI_2_TINY)),
          "SigLIP (tiny) @384, 2 of 3 layers", real_note="3-layer SigLIP minus its last layer"),
    _tiny(FACTORY_3_1B, lambda: factory(SIGLIP_TINY, PhiConfig(**PHI_2_TINY)), "SigLIP (tiny) @384"),
)
