"""CogVLM-17B (490 and 224 px) and CogAgent-18B: vlmbench archs ``archs/cogvlm.py``, ``archs/cogagent.py``.

Shapes: seed-architectures.md "CogVLM-17B" / "CogAgent-18B" (config.json of THUDM/cogvlm-chat-hf
and THUDM/cogagent-chat-hf: EVA2-CLIP-E 63 x 1792, Vicuna-7B-v1.5-shaped LLM with vocab 32000,
cross_image_size 1120, cross_hidden_size = cross_compute_hidden_size = 1024).

Preprocessing (``build_conversation_input_ids`` in the hub code): resize to the square
(490 / 224; CogAgent's second view 1120) with bicubic interpolation, no crop, OpenAI CLIP
mean/std. The prompt is ``[BOS] [image: (size/14)^2 + 2 tokens] text``; the text is the chat
template of the checkpoint: CogVLM chat "Question: {q} Answer:", CogAgent chat
" [INST] {q} [/INST] " (``_history_to_prompt``).
"""

from __future__ import annotations

from typing import Any, Callable

from vlmbench.archs.cogagent import CogAgentConfig, CogAgentForCausalLM
from vlmbench.archs.cogvlm import CogVLMConfig, CogVLMForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, ExpandingProcessor, image_processor

IMAGE_TOKEN = "<image>"
PATCH = 14
CODE = ("THUDM/cogvlm-chat-hf and THUDM/cogagent-chat-hf: modeling_cogvlm.py / modeling_cogagent.py "
        "(VisionExpertAttention, VisionExpertMLP, get_expert_mask, build_position_ids, CrossAttention), "
        "visual.py (EVA2CLIPModel, GLU), cross_visual.py (Eva2LargeEncoder, CrossVisionModel); "
        "THUDM/CogVLM utils/utils/language.py (vision_expert_mask, image_rope_mask)")
NOT_CONVERTIBLE = ("the hub checkpoints are remote code (broken on transformers >= 4.42) with their own "
                   "weight names; loading them into vlmbench's implementation needs a weight-name "
                   "conversion that is not implemented, so --weights pretrained is for "
                   "transformers-native checkpoints only and these entries run with random weights")

# Vicuna-7B-v1.5 / LLaMA-2-7B shapes, vocab 32000 (the cogvlm config.json; max positions 2048 there).
VICUNA_7B = dict(
    hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32000, tie_word_embeddings=False,
)
EVA2_CLIP_E = dict(hidden_size=1792, intermediate_size=15360, num_hidden_layers=63, num_attention_heads=16,
                   patch_size=PATCH)
EVA02_CLIP_L = dict(hidden_size=1024, intermediate_size=2730, num_hidden_layers=24, num_attention_heads=16,
                    patch_size=PATCH, image_size=1120)
# Tiny variants: same classes, resolutions and token counts; 2 layers, width 64. The tiny
# EVA02 has one head of 64 (the real head width): its 6401-token attention dominates the tiny
# model's time on a CPU, and its cost grows with the number of heads.
LLAMA_TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5, vocab_size=32000,
                  tie_word_embeddings=False)
EVA2_TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, patch_size=PATCH)
EVA02_TINY = dict(hidden_size=64, intermediate_size=170, num_hidden_layers=2, num_attention_heads=1,
                  patch_size=PATCH, image_size=1120)

# "<s>" + image + "Question: {q} Answer:" (cogvlm-chat-hf, template_version "chat").
COGVLM_CHAT = (
    "<s>{% for message in messages %}"
    "{% if message['role'] == 'user' %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% endif %}{% endfor %}"
    "Question: {% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %} Answer:"
    "{% elif message['role'] == 'assistant' %} {{ message['content'][0]['text'] }}\n{% endif %}"
    "{% endfor %}"
)
COGVLM_PROMPT = "<s><image>Question: {prompt} Answer:"
# "<s>" + image + " [INST] {q} [/INST] " (cogagent-chat-hf, template_version "chat").
COGAGENT_CHAT = (
    "<s>{% for message in messages %}"
    "{% if message['role'] == 'user' %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% endif %}{% endfor %}"
    " [INST] {% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %} [/INST] "
    "{% elif message['role'] == 'assistant' %}{{ message['content'][0]['text'] }}{% endif %}"
    "{% endfor %}"
)
COGAGENT_PROMPT = "<s><image> [INST] {prompt} [/INST] "


def square_clip_processor(size: int) -> Any:
    """Bicubic resize to size x size (no crop), rescale, OpenAI CLIP normalisation."""
    return image_processor(
        "CLIPImageProcessor", size={"height": size, "width": size}, do_center_crop=False, resample=3,
        image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD,
    )


def cog_processor(image_size: int, cross_image_size: int | None, chat_template: str) -> Callable[[Any], Any]:
    """``build(tokenizer)``: the image placeholder expands to (size/14)^2 + 2 tokens (BOI, EOI)."""

    def build(tokenizer: Any) -> ExpandingProcessor:
        low_res = square_clip_processor(image_size)
        high_res = square_clip_processor(cross_image_size) if cross_image_size else None
        tokens = (image_size // PATCH) ** 2 + 2

        def image_inputs(images: list) -> dict:
            inputs = {"pixel_values": low_res(images=images, return_tensors="pt")["pixel_values"]}
            if high_res is not None:
                inputs["cross_pixel_values"] = high_res(images=images, return_tensors="pt")["pixel_values"]
            return inputs

        return ExpandingProcessor(tokenizer, image_inputs, lambda image: tokens, image_token=IMAGE_TOKEN,
                                  chat_template=chat_template, image_processor=low_res)

    return build


def cogvlm_config(text: dict, vision: dict, image_size: int) -> CogVLMConfig:
    return CogVLMConfig(text_config=text, vision_config=dict(vision, image_size=image_size))


def cogagent_config(text: dict, vision: dict, cross_vision: dict, cross_compute: int) -> CogAgentConfig:
    return CogAgentConfig(text_config=text, vision_config=dict(vision, image_size=224),
                          cross_vision_config=cross_vision, cross_compute_hidden_size=cross_compute)


def spec(image_size: int, cross_image_size: int | None, chat_template: str) -> ProcessorSpec:
    return ProcessorSpec(build=cog_processor(image_size, cross_image_size, chat_template),
                         image_token=IMAGE_TOKEN, chat_template=chat_template)


COGVLM_490 = spec(490, None, COGVLM_CHAT)
COGVLM_224 = spec(224, None, COGVLM_CHAT)
COGAGENT = spec(224, 1120, COGAGENT_CHAT)
COGVLM_VISION = ("vision",)
COGAGENT_VISION = ("vision", "cross_vision")  # low-res path, then the 1120 px encoder


def cogvlm_entry(entry_id: str, image_size: int, processor: ProcessorSpec, checkpoints: tuple[str, ...],
                 reference: int) -> CatalogEntry:
    tokens = (image_size // PATCH) ** 2 + 2
    return CatalogEntry(
        id=entry_id,
        system="CogVLM",
        build_config=lambda: cogvlm_config(VICUNA_7B, EVA2_CLIP_E, image_size),
        model_class=CogVLMForCausalLM,
        processor=processor,
        provenance=Provenance(
            shapes=f"config.json of {checkpoints[0]} (EVA2-CLIP-E @{image_size} + GLU adapter + "
                   "Vicuna-7B-v1.5 shapes with a visual expert in all 32 layers)",
            published_total="17B (10B visual + 7B language)",
            approximations="none in shapes; left-padded batch rows start their rotary positions at 0 "
                           "(the public code starts them at 1); " + NOT_CONVERTIBLE,
            code=CODE,
        ),
        checkpoints=checkpoints,
        reference_params=reference,
        language_model="Vicuna-7B-v1.5 shapes + visual expert",
        construction="vlmbench arch",
        trust_remote_code_checkpoint=True,
        prompt_template=COGVLM_PROMPT,
        **VisionSide(f"EVA2-CLIP-E/14 @{image_size} + GLU adapter + BOI/EOI", image_size, tokens,
                     COGVLM_VISION).fields(),
    )


def cogvlm_tiny(real: CatalogEntry) -> CatalogEntry:
    image_size = real.reference_resolution[0]
    return tiny_variant(
        real, build_config=lambda: cogvlm_config(LLAMA_TINY, EVA2_TINY, image_size),
        scaled_down="EVA2 and LLM 2 layers, width 64",
        same=f"{image_size} px input, {real.visual_tokens} visual tokens, visual expert in every layer",
        vision_encoder=f"EVA2-CLIP (tiny) @{image_size}", language_model="Llama (tiny) + visual expert",
    )


COGVLM_17B = cogvlm_entry("cogvlm-17b", 490, COGVLM_490, ("THUDM/cogvlm-chat-hf", "THUDM/cogvlm-base-490-hf"),
                          17_639_685_376)
COGVLM_17B_224 = cogvlm_entry("cogvlm-17b-224", 224, COGVLM_224, ("THUDM/cogvlm-base-224-hf",), 17_637_948_928)
COGAGENT_18B = CatalogEntry(
    id="cogagent-18b",
    system="CogAgent",
    build_config=lambda: cogagent_config(VICUNA_7B, EVA2_CLIP_E, EVA02_CLIP_L, 1024),
    model_class=CogAgentForCausalLM,
    processor=COGAGENT,
    provenance=Provenance(
        shapes="config.json of THUDM/cogagent-chat-hf (CogVLM @224 + EVA02-CLIP-L/14 @1120 read by "
               "cross-attention, 1024 wide, in all 32 layers)",
        published_total="18B (11B visual + 7B language)",
        approximations="none in shapes; EVA02-CLIP-L's final norm and 768-wide CLIP head, present in "
                       "the checkpoint but never run, are not built (as in the fact sheet's count); "
                       "as in the public code its last block is built but skipped (23 of 24 run); "
                       "left-padded batch rows start their rotary positions at 0; " + NOT_CONVERTIBLE,
        code=CODE,
    ),
    checkpoints=("THUDM/cogagent-chat-hf", "THUDM/cogagent-vqa-hf"),
    reference_params=18_290_244_032,
    language_model="Vicuna-7B-v1.5 shapes + visual expert + cross-attention",
    construction="vlmbench arch",
    trust_remote_code_checkpoint=True,
    prompt_template=COGAGENT_PROMPT,
    **VisionSide("EVA2-CLIP-E/14 @224 + EVA02-CLIP-L/14 @1120 (6400 cross-attended)", 224, 258,
                 COGAGENT_VISION).fields(),
)

ENTRIES = (
    COGVLM_17B,
    COGVLM_17B_224,
    COGAGENT_18B,
    cogvlm_tiny(COGVLM_17B),
    cogvlm_tiny(COGVLM_17B_224),
    tiny_variant(
        COGAGENT_18B, build_config=lambda: cogagent_config(LLAMA_TINY, EVA2_TINY, EVA02_TINY, 32),
        scaled_down="EVA2, EVA02 and LLM 2 layers, width 64 "
                    "(EVA02 one head of 64; 1 of its 2 blocks runs, as 23 of 24 in the real one)",
        same="224 + 1120 px inputs, 258 tokens in sequence, 6400 cross-attended high-res positions",
        vision_encoder="EVA2-CLIP (tiny) @224 + EVA02-CLIP (tiny) @1120",
        language_model="Llama (tiny) + visual expert + cross-attention",
    ),
)
