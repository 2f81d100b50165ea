"""Bunny v1.0 (SigLIP variants), expressed as transformers' Llava.

Bunny's own code (hub remote code, ``bunny/model/multimodal_encoder/siglip/siglip_encoder.py``)
runs the full 27-layer SigLIP-So400m @384, takes ``hidden_states[-2]`` and keeps all 729 tokens
(no CLS to drop): HF Llava with ``vision_feature_layer=-2`` and strategy "full" runs exactly
that. Projector mlp2x_gelu; images padded to a square with the mean colour, then resized to 384.
Prompt format from the Bunny model cards ("A chat between a curious user ... USER: <image>\\n...
ASSISTANT:"). The hub checkpoints (BAAI/Bunny-v1_0-*, BAAI/Bunny-Llama-3-8B-V) need Bunny's
remote code (they register as causal LMs with their own image handling).
"""

from __future__ import annotations

from transformers import (LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, Phi3Config, PhiConfig,
                          Qwen2Config, SiglipVisionConfig)

from vlmbench.catalog.composition import SIGLIP_384_SIDE, llava_composition
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, tiny_variant
from vlmbench.catalog.processors import llava_processor, siglip_image_processor
from vlmbench.catalog.shapes import (LLAMA_3_8B, PHI_2, PHI_3_MINI, PHI_3_TINY, QWEN15_1_8B, SIGLIP_SO400M,
                                     SIGLIP_TINY)
from vlmbench.catalog.templates import CURIOUS_USER_V1

PROMPT = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
          "helpful, detailed, and polite answers to the user's questions. USER: <image>\n{prompt} ASSISTANT:")
PROCESSOR = ProcessorSpec(
    build=lambda tok: llava_processor(tok, image_size=384, patch_size=14, strategy="full", cls_token=False,
                                      image_proc=siglip_image_processor(384, pad_to_square=True)),
    chat_template=CURIOUS_USER_V1,
)


def bunny_config(vision: dict, text_config) -> LlavaConfig:
    """SigLIP @384, layer -2 of all 27 layers, all 729 tokens. The image-token id is a placeholder
    (Bunny splices images at index -200, outside the vocabulary); the loader points it at the
    stand-in tokenizer's ``<image>``."""
    return llava_composition(SiglipVisionConfig(**dict(vision, image_size=384)), text_config,
                             feature_layer=-2, strategy="full", image_seq_length=729,
                             image_token_id=text_config.vocab_size - 1)


def _real(entry_id: str, hub: str, text_config, llm: str, total: int, published: str,
          approximations: str) -> CatalogEntry:
    return CatalogEntry(
        id=entry_id,
        system="Bunny",
        build_config=lambda: bunny_config(SIGLIP_SO400M, text_config()),
        model_class=LlavaForConditionalGeneration,
        processor=PROCESSOR,
        provenance=Provenance(
            shapes=f"{hub} (config.json, remote code): SigLIP-So400m/14 @384 layer -2 + mlp2x_gelu + {llm}",
            published_total=published,
            approximations=approximations,
            code="Bunny bunny/model/multimodal_encoder/siglip/siglip_encoder.py",
        ),
        checkpoints=(hub,),
        trust_remote_code_checkpoint=True,
        reference_params=total,
        language_model=llm,
        construction="composition",
        prompt_template=PROMPT,
        **SIGLIP_384_SIDE.fields(),
    )


BUNNY_4B = _real("bunny-1.0-4b", "BAAI/Bunny-v1_0-4B", lambda: Phi3Config(**PHI_3_MINI), "Phi-3-mini-4k",
                 4_247_049_072, "4B", "vocab 32064 (Phi-3-mini's) assumed for the fine-tuned checkpoint")

ENTRIES = (
    _real("bunny-1.0-2b-zh", "BAAI/Bunny-v1_0-2B-zh", lambda: Qwen2Config(**QWEN15_1_8B), "Qwen1.5-1.8B",
          2_256_373_616, "2B", "none"),
    _real("bunny-1.0-3b", "BAAI/Bunny-v1_0-3B", lambda: PhiConfig(**dict(PHI_2, vocab_size=50295)),
          "Phi-2 (vocab 50295)", 3_197_545_328, "3B",
          "Phi-2's LM head bias cannot be held by HF Llava's bias-free LM head: left out "
          "(51,200 parameters in the fact sheet's count, 0.002%; one vector add per token)"),
    BUNNY_4B,
    _real("bunny-llama-3-8b-v", "BAAI/Bunny-Llama-3-8B-V",
          lambda: LlamaConfig(**dict(LLAMA_3_8B, vocab_size=128257)),
          "Llama-3-8B-Instruct (vocab 128257)", 8_464_760_688, "8B", "none"),
    tiny_variant(BUNNY_4B, build_config=lambda: bunny_config(SIGLIP_TINY, Phi3Config(**PHI_3_TINY)),
                 scaled_down="2+2 layers, width 64, real vocabulary",
                 same="layer selection, strategy, processor, resolution and token count", code="",
                 vision_encoder="SigLIP (tiny) @384", language_model="Phi-3 (tiny)"),
)
