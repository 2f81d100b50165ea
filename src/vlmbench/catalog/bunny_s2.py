"""Bunny v1.1 (4B, Llama-3-8B-V): SigLIP-So400m with multi-scale S2, vlmbench arch ``archs/bunny_s2.py``.

The image is padded to a square with the mean colour (``image_aspect_ratio`` "pad") and resized
to 1152 (``SiglipVisionTowerS2`` sets the processor's size to the largest scale); SigLIP runs on
1 + 4 + 9 = 14 crops of 384 and the three scales' 27x27 maps are concatenated into 729 tokens
of 3456 channels, then mlp2x_gelu into Phi-3-mini (vocab 32064) or Llama-3-8B (vocab 128257).
Prompt format from the Bunny model cards (as for v1.0, catalog/bunny.py). The hub checkpoints
need Bunny's remote code and load as causal LMs; converting them into this implementation is
not implemented, so these entries run with random weights only.
"""

from __future__ import annotations

from transformers import LlamaConfig, Phi3Config, SiglipVisionConfig

from vlmbench.archs.bunny_s2 import BunnyS2Config, BunnyS2ForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.fixed_token_processors import fixed_token_processor
from vlmbench.catalog.processors import siglip_image_processor
from vlmbench.catalog.shapes import LLAMA_3_8B, PHI_3_MINI, PHI_3_TINY, SIGLIP_SO400M, SIGLIP_TINY
from vlmbench.catalog.templates import CURIOUS_USER_V1, SYSTEM_CURIOUS_USER

S2_SCALES = (384, 768, 1152)
VISUAL_TOKENS = 729
SIDE = VisionSide("SigLIP-So400m/14, S2 scales 384/768/1152 (14 crops)", S2_SCALES[-1], VISUAL_TOKENS, ("vision",))
PROMPT = SYSTEM_CURIOUS_USER + " USER: <image>\n{prompt} ASSISTANT:"
CODE = ("BAAI-DCAI/Bunny: bunny/model/multimodal_encoder/siglip/siglip_encoder.py (SiglipVisionTowerS2), "
        "bunny/util/s2wrapper/core.py and utils.py, bunny/model/bunny_arch.py")
NOT_CONVERTED = ("hub checkpoint needs Bunny's remote code; converting its weights into this "
                 "implementation is not implemented (random weights only)")

# Llama-3-8B's structure (grouped-query attention, vocab 128257) at width 64, 2 layers.
LLAMA_3_TINY = dict(LLAMA_3_8B, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, vocab_size=128257)

PROCESSOR = ProcessorSpec(
    build=fixed_token_processor(lambda: siglip_image_processor(S2_SCALES[-1], pad_to_square=True),
                                VISUAL_TOKENS, "<image>"),
    chat_template=CURIOUS_USER_V1,
)


def bunny_s2_config(vision: dict, text_config) -> BunnyS2Config:
    """SigLIP (``vision`` kwargs) at the 384 crop size, scales 384/768/1152, layer -2."""
    return BunnyS2Config(
        vision_config=SiglipVisionConfig(**dict(vision, image_size=S2_SCALES[0])),
        text_config=text_config,
        s2_scales=S2_SCALES,
        vision_feature_layer=-2,
    )


def _real(entry_id: str, hub: str, text_config, llm: str, total: int, published: str,
          approximations: str) -> CatalogEntry:
    return CatalogEntry(
        id=entry_id,
        system="Bunny",
        build_config=lambda: bunny_s2_config(SIGLIP_SO400M, text_config()),
        model_class=BunnyS2ForCausalLM,
        processor=PROCESSOR,
        provenance=Provenance(
            shapes=f"{hub} (config.json, remote code; s2_scales 384,768,1152): SigLIP-So400m/14 layer -2 "
                   f"+ mlp2x_gelu (3456 -> d -> d) + {llm}",
            published_total=published,
            approximations=approximations + "; " + NOT_CONVERTED,
            code=CODE,
        ),
        checkpoints=(hub,),
        trust_remote_code_checkpoint=True,
        reference_params=total,
        language_model=llm,
        construction="vlmbench arch",
        prompt_template=PROMPT,
        **SIDE.fields(),
    )


def _tiny(real: CatalogEntry, text_config, llm: str) -> CatalogEntry:
    return tiny_variant(real, build_config=lambda: bunny_s2_config(SIGLIP_TINY, text_config()),
                        scaled_down="SigLIP and LLM 2 layers, width 64",
                        same="1152 input, 14 crops at three scales, 729 visual tokens of 3 x 64 channels",
                        vision_encoder="SigLIP (tiny), S2 scales 384/768/1152", language_model=llm)


BUNNY_11_4B = _real("bunny-1.1-4b", "BAAI/Bunny-v1_1-4B", lambda: Phi3Config(**PHI_3_MINI), "Phi-3-mini-4k",
                    4_254_126_960, "4B", "vocab 32064 (Phi-3-mini's) assumed for the fine-tuned checkpoint")
BUNNY_11_LLAMA_3_8B = _real("bunny-1.1-llama-3-8b-v", "BAAI/Bunny-v1_1-Llama-3-8B-V",
                            lambda: LlamaConfig(**dict(LLAMA_3_8B, vocab_size=128257)),
                            "Llama-3-8B-Instruct (vocab 128257)", 8_474_197_872, "8B", "none in shapes")

ENTRIES = (
    BUNNY_11_4B,
    BUNNY_11_LLAMA_3_8B,
    _tiny(BUNNY_11_4B, lambda: Phi3Config(**PHI_3_TINY), "Phi-3 (tiny)"),
    _tiny(BUNNY_11_LLAMA_3_8B, lambda: LlamaConfig(**LLAMA_3_TINY), "Llama (tiny)"),
)
