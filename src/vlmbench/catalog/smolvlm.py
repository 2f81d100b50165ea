"""SmolVLM2 256M / 500M / 2.2B (transformers-native ``SmolVLMForConditionalGeneration``).

Vision: SigLIP-B/16 at 512 (256M, 500M) or SigLIP-So400m/14 at 384 (2.2B) per tile; the connector
pixel-shuffles s x s patches into one (s = 4: 1024 -> 64 tokens; s = 3: 729 -> 81) and maps them to
the LLM width with one Linear without bias. Image splitting (``token_rules.smolvlm_tokens``): the
longest edge is resized to ``size.longest_edge`` (2048 / 1536; small images are upscaled), both
sides rounded up to the tile, split into rows x columns tiles plus one global image. LLM: SmolLM2
(Llama blocks), vocabulary 49,280, untied.
The processor is transformers' ``SmolVLMProcessor`` over a ``SmolVLMImageProcessor`` (splitting on,
Lanczos, [-1, 1]).
Sources: the current-models fact sheet; huggingface/smollm vision training configs (tr_346 256M,
tr_347 500M, tr_348 2B: shapes, pixel_shuffle_factor, untied); SmolVLM / Idefics3 config copies;
preprocessor_config.json of HuggingFaceTB/SmolVLM2-256M-Video-Instruct @7250429 (512 / 2048) and of
SmolVLM-Instruct (384 / 1536).
"""

from __future__ import annotations

import functools

import transformers
from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3VisionConfig, LlamaConfig,
                          SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMVisionConfig)

from vlmbench.catalog.native_multi import MULTI_IMAGE, MULTI_IMAGE_BOUND
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, tiny_variant
from vlmbench.catalog.native import NativeFamily
from vlmbench.catalog.processors import SIGLIP_MEAN, SIGLIP_STD, image_processor
from vlmbench.catalog.shapes import SIGLIP_SO400M
from vlmbench.catalog.templates import SMOLVLM_CHAT, SMOLVLM_SPECIAL_TOKENS
from vlmbench.catalog.token_rules import smolvlm_tokens
from vlmbench.catalog.tokenizer import with_named_tokens

VOCAB = 49_280
IMAGE_TOKEN = "<image>"
VISION_MODULES = ("model.vision_model", "model.connector")
PROMPT = "<|im_start|>User:<image>{prompt}<end_of_utterance>\nAssistant:"

# SmolVLMVisionConfig: SigLIP-B/16 @512 and SigLIP-So400m/14 @384 (no head).
SIGLIP_B16_512 = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                      image_size=512, patch_size=16, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
SO400M_384 = dict({k: v for k, v in SIGLIP_SO400M.items() if k != "vision_use_head"}, image_size=384)
# size -> (vision, pixel shuffle, tile, longest edge, (hidden, layers, heads, KV heads, FFN), sheet total)
SIZES = {
    "256m": (SIGLIP_B16_512, 4, 512, 2048, (576, 30, 9, 3, 1536), 256_484_928),
    "500m": (SIGLIP_B16_512, 4, 512, 2048, (960, 32, 15, 5, 2560), 507_482_304),
    "2.2b": (SO400M_384, 3, 384, 1536, (2048, 24, 32, 32, 8192), 2_246_784_880),
}
HUB = {"256m": "HuggingFaceTB/SmolVLM2-256M-Video-Instruct", "500m": "HuggingFaceTB/SmolVLM2-500M-Video-Instruct",
       "2.2b": "HuggingFaceTB/SmolVLM2-2.2B-Instruct"}
# SmolVLM v1: the same shapes through transformers' Idefics3 classes (the fact sheet: same counts).
HUB_V1 = {"256m": "HuggingFaceTB/SmolVLM-256M-Instruct", "500m": "HuggingFaceTB/SmolVLM-500M-Instruct",
          "2.2b": "HuggingFaceTB/SmolVLM-Instruct"}
V1 = dict(config=Idefics3Config, vision=Idefics3VisionConfig, model=Idefics3ForConditionalGeneration)
V2 = dict(config=SmolVLMConfig, vision=SmolVLMVisionConfig, model=SmolVLMForConditionalGeneration)
ASSUMPTIONS = {"2.2b": "preprocessor values 384 / 1536 of SmolVLM-Instruct (SmolVLM2-2.2B's own file not read)"}


def tokens_per_tile(vision: dict, shuffle: int) -> int:
    return (vision["image_size"] // vision["patch_size"]) ** 2 // shuffle ** 2


def smolvlm_config(vision: dict, shuffle: int, text: tuple[int, ...], classes: dict = V2):
    hidden, layers, heads, kv, ffn = text
    llm = LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                      head_dim=hidden // heads, intermediate_size=ffn, vocab_size=VOCAB, max_position_embeddings=8192,
                      rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 100000.0},
                      tie_word_embeddings=False)
    return classes["config"](vision_config=classes["vision"](**vision), text_config=llm, scale_factor=shuffle,
                             image_token_id=49190, tie_word_embeddings=False)


def smolvlm_processor(tokenizer, *, tile: int, longest_edge: int, seq: int, v1: bool = False):
    tokenizer = with_named_tokens(tokenizer, fake_image_token="<fake_token_around_image>",
                                  global_image_token="<global-img>", end_of_utterance_token="<end_of_utterance>",
                                  video_token="<video>")
    ip = image_processor("Idefics3ImageProcessor" if v1 else "SmolVLMImageProcessor", do_resize=True,
                         size={"longest_edge": longest_edge}, max_image_size={"longest_edge": tile},
                         do_image_splitting=True, resample=1, image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD)
    if v1:
        return transformers.Idefics3Processor(image_processor=ip, tokenizer=tokenizer, image_seq_len=seq,
                                              chat_template=tokenizer.chat_template)
    video = transformers.SmolVLMVideoProcessor(max_image_size={"longest_edge": tile})
    return transformers.SmolVLMProcessor(image_processor=ip, tokenizer=tokenizer, video_processor=video,
                                         image_seq_len=seq, chat_template=tokenizer.chat_template)


def _family(size: str, v1: bool = False) -> NativeFamily:
    vision, shuffle, tile, longest, _, _ = SIZES[size]
    seq = tokens_per_tile(vision, shuffle)
    build = functools.partial(smolvlm_processor, tile=tile, longest_edge=longest, seq=seq, v1=v1)
    encoder = "SigLIP-B/16" if vision is SIGLIP_B16_512 else "SigLIP-So400m/14"
    return NativeFamily(
        max_images=MULTI_IMAGE, max_images_note="SmolVLM2 model card: multi-image and video prompts; " + MULTI_IMAGE_BOUND,
        system="SmolVLM" if v1 else "SmolVLM2", model_class=(V1 if v1 else V2)["model"],
        processor=ProcessorSpec(build=build, image_token=IMAGE_TOKEN, chat_template=SMOLVLM_CHAT,
                                extra_special_tokens=SMOLVLM_SPECIAL_TOKENS),
        prompt_template=PROMPT, vision_encoder=f"{encoder} @{tile} tiles (longest edge {longest}) + global image",
        vision_modules=VISION_MODULES, reference_resolution=(tile, tile),
        image_token_rule=functools.partial(smolvlm_tokens, longest_edge=longest, tile=tile, tokens_per_tile=seq),
    )


FAMILIES = {(size, v1): _family(size, v1) for size in SIZES for v1 in (False, True)}


def _real(size: str, v1: bool = False) -> CatalogEntry:
    vision, shuffle, _, _, text, total = SIZES[size]
    return FAMILIES[size, v1].entry(
        f"smolvlm{'' if v1 else '2'}-{size}", lambda: smolvlm_config(vision, shuffle, text, V1 if v1 else V2),
        shapes=f"huggingface/smollm vision configs (tr_346/347/348) and SmolVLM config copies: SmolLM2 "
               f"{text[0]} x {text[1]} layers, vocab {VOCAB}, pixel shuffle {shuffle}",
        published_total=size.upper(), checkpoint=(HUB_V1 if v1 else HUB)[size], reference_params=total,
        language_model=f"SmolLM2 ({text[0]} x {text[1]})", assumption=ASSUMPTIONS.get(size, ""),
    )


SMOLVLM2_256M = _real("256m")
SMOLVLM_256M = _real("256m", v1=True)
VISION_TINY = dict(SIGLIP_B16_512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)

ENTRIES = (
    SMOLVLM2_256M,
    _real("500m"),
    _real("2.2b"),
    SMOLVLM_256M,
    _real("500m", v1=True),
    _real("2.2b", v1=True),
    tiny_variant(SMOLVLM2_256M, build_config=lambda: smolvlm_config(VISION_TINY, 4, (64, 2, 4, 2, 128)),
                 scaled_down="2+2 layers, width 64, real vocabulary",
                 same="processor, 512 tiles, image splitting, pixel shuffle 4 and 64 tokens per tile",
                 vision_encoder="SigLIP (tiny) @512 tiles + global image", language_model="SmolLM2 (tiny)"),
)
ENTRIES += (
    tiny_variant(SMOLVLM_256M, build_config=lambda: smolvlm_config(VISION_TINY, 4, (64, 2, 4, 2, 128), V1),
                 scaled_down="2+2 layers, width 64, real vocabulary",
                 same="Idefics3 classes and processor, 512 tiles, image splitting, pixel shuffle 4, 64 tokens per tile",
                 vision_encoder="SigLIP (tiny) @512 tiles + global image", language_model="SmolLM2 (tiny)"),
)
