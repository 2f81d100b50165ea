"""TinyGPT-V: vlmbench arch ``archs/tinygptv.py``.

EVA ViT-g + ``ln_vision`` (224 for the stage-1..3 checkpoints, 448 for stage 4), BLIP-2
Q-Former with 32 queries, Linear(768 -> 4096) then Linear(4096 -> 2560) with no activation:
32 visual tokens into Phi-2 (vocab 51200, ``susnato/phi-2`` as the README names it) with
per-head q/k LayerNorm and an RMSNorm on each attention output. Preprocessing is BLIP-2's
eval transform. Prompt formats are the eval configs' ``prompt_template`` with the image
message "<Img><ImageHere></Img>" before the question: stages 1-3
(``eval_configs/XGPTv2_stage1_2_3_eval.yaml``) "###Human: {} ###Assistant: ", stage 4
(``eval_configs/tinygptv_stage4_eval.yaml``) "Instruct: {} /n Output: " (a literal "/n", as
written there).
"""

from __future__ import annotations

from transformers import Blip2QFormerConfig, Blip2VisionConfig, PhiConfig

from vlmbench.archs.tinygptv import TinyGPTVConfig, TinyGPTVForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.fixed_token_processors import eva_image_processor, fixed_token_processor
from vlmbench.catalog.shapes import EVA_VIT_G, EVA_VIT_TINY, PHI_2, PHI_2_TINY, QFORMER_BLIP2, QFORMER_TINY
from vlmbench.catalog.templates import conversation_template

IMAGE_TOKEN = "<ImageHere>"
VISUAL_TOKENS = 32
VISION_MODULES = ("vision",)
CODE = ("DLYuanGod/TinyGPT-V: minigpt4/models/minigpt4.py and minigpt_v2.py (encode_img), "
        "base_model.py (init_llm), modeling_phi.py (PhiAttention q/k_layernorm, PhiDecoderLayer "
        "post_layernorm)")
APPROXIMATIONS = (
    "LoRA (r 64 on q and v, 20,971,520 parameters unmerged) is counted merged into Phi-2's "
    "weights: same shapes and compute as a merged checkpoint (unmerged inference adds two rank-64 "
    "products per q/v projection). Weights: Tyrannosaurus/TinyGPT-V on the hub holds raw "
    "TinyGPT-V_for_Stage{1..4}.pth files for the authors' code, not a transformers checkpoint; "
    "converting them into this implementation is not implemented, so the entry runs with random "
    "weights only"
)

STAGE3_CHAT = conversation_template(
    preamble="", user_open="###Human: ", user_close=" ", assistant_open="###Assistant: ", assistant_close="",
    image="<Img><ImageHere></Img> ",
)
STAGE3_PROMPT = "###Human: <Img><ImageHere></Img> {prompt} ###Assistant: "
STAGE4_CHAT = conversation_template(
    preamble="", user_open="Instruct: ", user_close=" /n ", assistant_open="Output: ", assistant_close="",
    image="<Img><ImageHere></Img> ",
)
STAGE4_PROMPT = "Instruct: <Img><ImageHere></Img> {prompt} /n Output: "


def tinygptv_config(vision: dict, image_size: int, qformer: dict, text: dict, bridge_width: int) -> TinyGPTVConfig:
    """EVA at ``image_size`` + Q-Former reading EVA's width + Phi with q/k LayerNorm."""
    return TinyGPTVConfig(
        vision_config=Blip2VisionConfig(**dict(vision, image_size=image_size)),
        qformer_config=Blip2QFormerConfig(**dict(qformer, encoder_hidden_size=vision["hidden_size"])),
        text_config=PhiConfig(**dict(text, qk_layernorm=True)),
        num_query_tokens=VISUAL_TOKENS,
        bridge_width=bridge_width,
    )


def processor_spec(image_size: int, chat_template: str) -> ProcessorSpec:
    return ProcessorSpec(
        build=fixed_token_processor(lambda: eva_image_processor(image_size), VISUAL_TOKENS, IMAGE_TOKEN),
        image_token=IMAGE_TOKEN,
        chat_template=chat_template,
    )


def _entry(entry_id: str, image_size: int, stage: str, chat: str, prompt: str, total: int) -> CatalogEntry:
    return CatalogEntry(
        id=entry_id,
        system="TinyGPT-V",
        build_config=lambda: tinygptv_config(EVA_VIT_G, image_size, QFORMER_BLIP2, PHI_2, 4096),
        model_class=TinyGPTVForCausalLM,
        processor=processor_spec(image_size, chat),
        provenance=Provenance(
            shapes=f"TinyGPT-V code ({stage} checkpoint, image_size {image_size}) + EVA ViT-g/14 as cut "
                   "by BLIP-2 + BLIP-2 Q-Former + susnato/phi-2 config.json",
            published_total="2.8B (paper; apparently without EVA); computed with EVA "
                            f"{total:,} without LoRA",
            approximations=APPROXIMATIONS,
            code=CODE,
        ),
        reference_params=total,
        language_model="Phi-2 (q/k LayerNorm, attention-output RMSNorm)",
        construction="vlmbench arch",
        prompt_template=prompt,
        **VisionSide(f"EVA ViT-g/14 @{image_size} + Q-Former (32 queries)", image_size, VISUAL_TOKENS,
                     VISION_MODULES).fields(),
    )


def _tiny(real: CatalogEntry) -> CatalogEntry:
    size = real.reference_resolution[0]
    return tiny_variant(
        real, build_config=lambda: tinygptv_config(EVA_VIT_TINY, size, QFORMER_TINY, PHI_2_TINY, 128),
        scaled_down="EVA, Q-Former and Phi 2 layers, width 64",
        same=f"{size} input, 32 queries, two linears, q/k LayerNorm and attention-output RMSNorm",
        vision_encoder=f"EVA ViT (tiny) @{size} + Q-Former (tiny)",
        language_model="Phi (tiny, q/k LayerNorm, attention-output RMSNorm)",
    )


TINYGPT_V = _entry("tinygpt-v", 224, "stage-3", STAGE3_CHAT, STAGE3_PROMPT, 3_884_528_640)
TINYGPT_V_448 = _entry("tinygpt-v-448", 448, "stage-4", STAGE4_CHAT, STAGE4_PROMPT, 3_885_609_984)

ENTRIES = (TINYGPT_V, TINYGPT_V_448, _tiny(TINYGPT_V), _tiny(TINYGPT_V_448))
