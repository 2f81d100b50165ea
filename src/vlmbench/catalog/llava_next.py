"""LLaVA-1.6 / LLaVA-NeXT (transformers-native ``LlavaNextForConditionalGeneration``).

Same CLIP ViT-L/14-336 encoder (layer -2, CLS dropped) and mlp2x_gelu projector as LLaVA-1.5,
plus a learned ``image_newline`` vector and AnyRes: the image is matched to one of the grid
pinpoints below, CLIP runs on a 336 base view plus up to 4 tiles, and the LLM receives the base
576 tokens + the unpadded tile feature map + one newline per row (2928 at most, at 672x672).
The image processor is transformers' ``LlavaNextImageProcessor`` with the checkpoints'
``preprocessor_config.json`` values, so the token count per image is the real one.
Sources: config.json / preprocessor_config.json of llava-hf/llava-v1.6-{vicuna-7b,vicuna-13b,
mistral-7b,34b}-hf.
"""

from __future__ import annotations

import transformers
from transformers import (CLIPVisionConfig, LlamaConfig, LlavaNextConfig,
                          LlavaNextForConditionalGeneration, MistralConfig)

from vlmbench.catalog.composition import HF_VISION_MODULES
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, VisionSide, tiny_variant
from vlmbench.catalog.processors import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, image_processor
from vlmbench.catalog.shapes import (CLIP_L_336, CLIP_TINY, LLAMA_TINY, MISTRAL_7B_V02, MISTRAL_TINY,
                                     VICUNA_7B, VICUNA_13B, YI_34B)
from vlmbench.catalog.templates import (CHATML_SPECIAL_TOKENS, LLAVA_NEXT_CHATML, LLAVA_NEXT_MISTRAL,
                                        LLAVA_NEXT_VICUNA)

GRID_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
MAX_VISUAL_TOKENS = 2928  # at 672x672: 576 base + 48x48 tiles + 48 newlines
ANYRES_SIDE = VisionSide("CLIP ViT-L/14 @336, AnyRes up to 672x672 / 336x1008", 672, MAX_VISUAL_TOKENS,
                         HF_VISION_MODULES)


def llava_next_config(vision: dict, text_config, image_token_id: int) -> LlavaNextConfig:
    return LlavaNextConfig(
        vision_config=CLIPVisionConfig(**vision),
        text_config=text_config,
        image_token_index=image_token_id,
        projector_hidden_act="gelu",
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
        image_grid_pinpoints=GRID_PINPOINTS,
        image_seq_length=576,
        tie_word_embeddings=False,
    )


def llava_next_image_processor():
    """preprocessor_config.json of llava-hf/llava-v1.6-*-hf."""
    return image_processor(
        "LlavaNextImageProcessor",
        size={"shortest_edge": 336},
        crop_size={"height": 336, "width": 336},
        image_grid_pinpoints=GRID_PINPOINTS,
        do_center_crop=True,
        do_pad=True,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        resample=3,
    )


def llava_next_processor(tokenizer):
    return transformers.LlavaNextProcessor(
        image_processor=llava_next_image_processor(),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=tokenizer.chat_template,
    )


def _spec(template: str, specials: tuple[str, ...] = ()) -> ProcessorSpec:
    return ProcessorSpec(build=llava_next_processor, chat_template=template, extra_special_tokens=specials)


VICUNA_SPEC = _spec(LLAVA_NEXT_VICUNA)
MISTRAL_SPEC = _spec(LLAVA_NEXT_MISTRAL)
CHATML_SPEC = _spec(LLAVA_NEXT_CHATML, CHATML_SPECIAL_TOKENS)
# The same formats as plain prompt templates (used where a processor has no chat template).
VICUNA_PROMPT = ("A chat between a curious human and an artificial intelligence assistant. The assistant "
                 "gives helpful, detailed, and polite answers to the human's questions. "
                 "USER: <image>\n{prompt} ASSISTANT:")
MISTRAL_PROMPT = "[INST] <image>\n{prompt} [/INST]"
CHATML_PROMPT = ("<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\n"
                 "{prompt}<|im_end|><|im_start|>assistant\n")


def _real(variant: str, text_config, spec: ProcessorSpec, prompt: str, *, total: int, llm: str,
          image_token_id: int, vocab_note: str) -> CatalogEntry:
    hub = f"llava-hf/llava-v1.6-{variant}-hf"
    return CatalogEntry(
        id=f"llava-1.6-{variant}",
        system="LLaVA-1.6",
        build_config=lambda: llava_next_config(CLIP_L_336, text_config(), image_token_id),
        model_class=LlavaNextForConditionalGeneration,
        processor=spec,
        provenance=Provenance(
            shapes=f"config.json and preprocessor_config.json of {hub} (CLIP ViT-L/14-336 + {llm}, "
                   f"AnyRes pinpoints {GRID_PINPOINTS})",
            published_total=variant.split("-")[-1].upper(),
            approximations=f"none; {vocab_note}",
        ),
        checkpoints=(hub,),
        reference_params=total,
        language_model=llm,
        construction="native",
        prompt_template=prompt,
        **ANYRES_SIDE.fields(),
    )


def _tiny(real: CatalogEntry, text_config, llm: str) -> CatalogEntry:
    return tiny_variant(real, build_config=lambda: llava_next_config(CLIP_TINY, text_config(), 32000),
                        scaled_down="2+2 layers, width 64",
                        same="AnyRes pinpoints, resolution, patching and token counts",
                        vision_encoder="CLIP ViT (tiny) @336, AnyRes", language_model=llm)


VICUNA_7B_ENTRY = _real("vicuna-7b", lambda: LlamaConfig(**VICUNA_7B), VICUNA_SPEC, VICUNA_PROMPT,
                        total=7_063_431_168, llm="Vicuna-7B-v1.5", image_token_id=32000,
                        vocab_note="vocab 32064 as in the HF conversion")
MISTRAL_7B_ENTRY = _real("mistral-7b", lambda: MistralConfig(**dict(MISTRAL_7B_V02, vocab_size=32064)), MISTRAL_SPEC,
                         MISTRAL_PROMPT, total=7_566_747_648, llm="Mistral-7B-Instruct-v0.2", image_token_id=32000,
                         vocab_note="vocab 32064 as in the HF conversion (Mistral: 32000)")

ENTRIES = (
    VICUNA_7B_ENTRY,
    _real("vicuna-13b", lambda: LlamaConfig(**VICUNA_13B), VICUNA_SPEC, VICUNA_PROMPT,
          total=13_351_499_776, llm="Vicuna-13B-v1.5", image_token_id=32000,
          vocab_note="vocab 32064 as in the HF conversion"),
    MISTRAL_7B_ENTRY,
    _real("34b", lambda: LlamaConfig(**dict(YI_34B, vocab_size=64064)), CHATML_SPEC, CHATML_PROMPT,
          total=34_752_083_968, llm="Nous-Hermes-2-Yi-34B", image_token_id=64000,
          vocab_note="vocab 64064 as in the HF conversion (Yi: 64000)"),
    _tiny(VICUNA_7B_ENTRY, lambda: LlamaConfig(**LLAMA_TINY), "Llama (tiny)"),
    _tiny(MISTRAL_7B_ENTRY, lambda: MistralConfig(**MISTRAL_TINY), "Mistral (tiny)"),
)
