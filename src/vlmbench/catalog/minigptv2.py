"""MiniGPT-v2 and MiniGPT-4 (LLaMA-2-7B-chat, no Q-Former): vlmbench arch ``archs/minigpt.py``.

EVA ViT-g + ``ln_vision``, CLS dropped, 4 consecutive patch embeddings concatenated (5632
wide), Linear(5632 -> 4096), LLaMA-2-7B-chat (vocab 32000). MiniGPT-v2 @448: 1024 patches ->
256 visual tokens; MiniGPT-4 LLaMA-2 @224: 256 patches -> 64. Preprocessing is BLIP-2's eval
transform (bicubic resize to the square, OpenAI CLIP normalisation). Prompt formats from
``minigpt4/conversation/conversation.py``: ``CONV_VISION_minigptv2`` (roles "<s>[INST] ",
" [/INST]", no system) and ``CONV_VISION_LLama2`` (a system sentence, roles "<s>[INST] ",
" [/INST] "); the image is the user message "<Img><ImageHere></Img>", the question joined
after a space. (MiniGPT-4 with Vicuna v0 and the Q-Former is catalog/minigpt4.py.)
"""

from __future__ import annotations

from transformers import Blip2VisionConfig, LlamaConfig

from vlmbench.archs.minigpt import MiniGPTConfig, MiniGPTForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.fixed_token_processors import eva_image_processor, fixed_token_processor
from vlmbench.catalog.shapes import EVA_VIT_G, EVA_VIT_TINY, LLAMA_TINY, VICUNA_7B
from vlmbench.catalog.templates import conversation_template

IMAGE_TOKEN = "<ImageHere>"
VISION_MODULES = ("vision",)
CODE = ("Vision-CAIR/MiniGPT-4: minigpt4/models/minigpt_v2.py and minigpt4.py (encode_img), "
        "minigpt_base.py, eva_vit.py, conversation/conversation.py")
NO_HUB_CHECKPOINT = ("weights are released as .pth files linked from the Vision-CAIR/MiniGPT-4 "
                     "README, not on the hub in a transformers format; converting them into this "
                     "implementation is not implemented, so the entry runs with random weights only")

# LLaMA-2-7B-chat (meta-llama/Llama-2-7b-chat-hf config.json): Vicuna-7B-v1.5's shapes, vocab 32000.
LLAMA_2_7B_CHAT = dict(VICUNA_7B, vocab_size=32000)
LLAMA_2_TINY = dict(LLAMA_TINY, vocab_size=32000)

# CONV_VISION_minigptv2: "<s>[INST] <Img><ImageHere></Img> {prompt} [/INST]"
MINIGPT_V2_CHAT = conversation_template(
    preamble="", user_open="<s>[INST] ", user_close="", assistant_open=" [/INST]", assistant_close="",
    image="<Img><ImageHere></Img> ",
)
MINIGPT_V2_PROMPT = "<s>[INST] <Img><ImageHere></Img> {prompt} [/INST]"
# CONV_VISION_LLama2: system sentence, then "<s>[INST] <Img><ImageHere></Img> {prompt} [/INST] "
LLAMA2_SYSTEM = ("Give the following image: <Img>ImageContent</Img>. You will be able to see the image "
                 "once I provide it to you. Please answer my questions.")
MINIGPT4_LLAMA2_CHAT = conversation_template(
    preamble=LLAMA2_SYSTEM, user_open="<s>[INST] ", user_close="", assistant_open=" [/INST] ",
    assistant_close="", image="<Img><ImageHere></Img> ",
)
MINIGPT4_LLAMA2_PROMPT = LLAMA2_SYSTEM + "<s>[INST] <Img><ImageHere></Img> {prompt} [/INST] "


def minigpt_config(vision: dict, image_size: int, text: dict) -> MiniGPTConfig:
    """EVA ViT-g (``vision`` kwargs) at ``image_size`` + LLaMA (``text`` kwargs), 4-token merge."""
    return MiniGPTConfig(
        vision_config=Blip2VisionConfig(**dict(vision, image_size=image_size)),
        text_config=LlamaConfig(**text),
        tokens_per_merge=4,
    )


def processor_spec(image_size: int, visual_tokens: int, chat_template: str) -> ProcessorSpec:
    return ProcessorSpec(
        build=fixed_token_processor(lambda: eva_image_processor(image_size), visual_tokens, IMAGE_TOKEN),
        image_token=IMAGE_TOKEN,
        chat_template=chat_template,
    )


MINIGPT_V2_PROCESSOR = processor_spec(448, 256, MINIGPT_V2_CHAT)
MINIGPT4_LLAMA2_PROCESSOR = processor_spec(224, 64, MINIGPT4_LLAMA2_CHAT)

def _entry(entry_id: str, system: str, image_size: int, processor: ProcessorSpec, prompt: str, *, shapes: str,
           published: str, approximations: str, total: int) -> CatalogEntry:
    """EVA ViT-g at ``image_size`` + 4-token merge into LLaMA-2-7B-chat: (size/14)^2 / 4 tokens."""
    side = VisionSide(f"EVA ViT-g/14 @{image_size} + 4-token merge", image_size, (image_size // 14) ** 2 // 4,
                      VISION_MODULES)
    return CatalogEntry(
        id=entry_id,
        system=system,
        build_config=lambda: minigpt_config(EVA_VIT_G, image_size, LLAMA_2_7B_CHAT),
        model_class=MiniGPTForCausalLM,
        processor=processor,
        provenance=Provenance(shapes=shapes, published_total=published,
                              approximations=approximations + NO_HUB_CHECKPOINT, code=CODE),
        reference_params=total,
        language_model="LLaMA-2-7B-chat",
        construction="vlmbench arch",
        prompt_template=prompt,
        **side.fields(),
    )


MINIGPT_V2 = _entry(
    "minigpt-v2", "MiniGPT-v2", 448, MINIGPT_V2_PROCESSOR, MINIGPT_V2_PROMPT,
    shapes="MiniGPT-v2 code (eval_configs/minigptv2_eval.yaml: image_size 448, lora_r 64) + "
           "EVA ViT-g/14 as cut by BLIP-2 + meta-llama/Llama-2-7b-chat-hf config.json",
    published="7B (LLaMA-2-7B-chat + EVA ViT-g; no total published); computed 7,748,521,984 without LoRA",
    approximations="LoRA (r 64 on q_proj and v_proj, 33,554,432 parameters unmerged) is counted "
                   "merged into the LLaMA weights: same shapes and compute as a merged checkpoint "
                   "(unmerged inference adds two rank-64 products per q/v projection); ",
    total=7_748_521_984,
)
MINIGPT4_LLAMA2_7B = _entry(
    "minigpt-4-llama2-7b", "MiniGPT-4", 224, MINIGPT4_LLAMA2_PROCESSOR, MINIGPT4_LLAMA2_PROMPT,
    shapes="MiniGPT-4 code, configs/models/minigpt4_llama2.yaml (has_qformer False, image_size "
           "224) + EVA ViT-g/14 as cut by BLIP-2 + meta-llama/Llama-2-7b-chat-hf config.json",
    published="7B (no total published); computed 7,747,440,640",
    approximations="none in shapes (no LoRA in this variant); ",
    total=7_747_440_640,
)


def _tiny(real: CatalogEntry, patches: int) -> CatalogEntry:
    """EVA and LLaMA at 2 layers of width 64, at the real entry's resolution."""
    size = real.reference_resolution[0]
    return tiny_variant(
        real, build_config=lambda: minigpt_config(EVA_VIT_TINY, size, LLAMA_2_TINY),
        scaled_down="EVA and LLaMA 2 layers, width 64",
        same=f"{size} input, {patches} patches, 4-token merge, {real.visual_tokens} visual tokens",
        vision_encoder=f"EVA ViT (tiny) @{size} + 4-token merge", language_model="Llama (tiny)",
    )


ENTRIES = (
    MINIGPT_V2,
    _tiny(MINIGPT_V2, patches=1024),
    MINIGPT4_LLAMA2_7B,
    _tiny(MINIGPT4_LLAMA2_7B, patches=256),
)
