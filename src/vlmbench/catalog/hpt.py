"""HPT (HyperGAI): 1.0 Air, 1.5 Air, 1.5 Edge. vlmbench arch ``archs.hpt.HPTForCausalLM``.

Shapes and sources:
- 1.0 Air: CLIP ViT-L/14-336 with positions interpolated to 588 (42x42 = 1764 patches), layer
  -2, CLS dropped (HyperGAI/HPT ``vlmeval/vlm/hpt.py``: ``vis_scale=588``; the "392" setting
  used for MMBench gives 784 patches and is not built here); H-Former per
  ``projector/config.json`` of HyperGAI/HPT (32 queries, cross-attention every 2nd layer,
  BERT-base, 1024 -> 4096); LLM Yi-6B; chat format ``internlm2_chat`` (ChatML).
- 1.5 Air: SigLIP-So400m/14 at 448 (1024 patches), layer -2, no CLS (``vlmeval/vlm/hpt1_5.py``);
  H-Former + fusion (``fuse_modules.py`` on the hub); Llama-3-8B-Instruct; ``llama3_chat``
  with the system line "Answer the questions carefully!".
- 1.5 Edge: SigLIP at 490 (1225 patches), Q-Former + MLP + fusion
  (``modeling_qformer_attn.py``); Phi-3-mini; ``phi3_chat`` (vlmeval config ``hpt-edge-1-5``).

Assumed (every row marked ``assumed_shapes``): the H-Former emits 32 query tokens + every patch
token; see ``archs/hformer.py`` for the evidence and the other assumed internals.
"""

from __future__ import annotations

from transformers import CLIPVisionConfig, LlamaConfig, Phi3Config, SiglipVisionConfig

from vlmbench.archs.hpt import HPTConfig, HPTForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, tiny_variant
from vlmbench.catalog.processors import (
    OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, SIGLIP_MEAN, SIGLIP_STD, ExpandingProcessor, image_processor,
)

NUM_QUERY_TOKENS = 32
PATCH = 14
VISION_MODULES = ("vision.tower", "vision.hformer")
CHECKPOINT_NOTE = ("checkpoint is HyperGAI remote code (llm/, visual_encoder/, projector/ subfolders); "
                   "converting its weights into this arch is not implemented: --weights random only")
ASSUMPTION = (
    "H-Former output = 32 Q-Former query tokens + every patch token through its MLP path "
    "(the upper reading; the other is 32 tokens); query tokens -> LLM by one Linear; "
    "{fusion}; BERT text-side weights of the checkpoint (~80M, never run on images) not built"
)

# --- vision towers ---------------------------------------------------------------------------
CLIP_L_588 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                  image_size=588, patch_size=PATCH, projection_dim=768, hidden_act="quick_gelu",
                  layer_norm_eps=1e-5)


def siglip_so400m(image_size: int) -> dict:
    """SigLIP-So400m/14 without its pooling head (never used by HPT), positions for ``image_size``."""
    return dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
                image_size=image_size, patch_size=PATCH, vision_use_head=False)


def tiny_vision(image_size: int) -> dict:
    """2 layers, width 32, but the real resolution and patch size (so the real token count)."""
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                image_size=image_size, patch_size=PATCH)


# --- language models (published configs) -----------------------------------------------------
YI_6B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
             num_key_value_heads=4, vocab_size=64000, max_position_embeddings=4096, rope_theta=5e6,
             rms_norm_eps=1e-5, tie_word_embeddings=False)
LLAMA3_8B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                 num_key_value_heads=8, vocab_size=128256, max_position_embeddings=8192, rope_theta=5e5,
                 rms_norm_eps=1e-5, tie_word_embeddings=False)
PHI3_MINI = dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32,
                 num_key_value_heads=32, vocab_size=32064, max_position_embeddings=4096, rope_theta=1e4,
                 sliding_window=2047, rms_norm_eps=1e-5, tie_word_embeddings=False)


def tiny_llm(real: dict) -> dict:
    """Same vocab, head grouping ratio and position settings as ``real``; 2 layers, width 64."""
    kv = 4 * real["num_key_value_heads"] // real["num_attention_heads"]
    return dict(real, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=max(kv, 1))


# --- H-Former --------------------------------------------------------------------------------
HFORMER = dict(num_query_tokens=NUM_QUERY_TOKENS, qformer_hidden_size=768, qformer_num_layers=12,
               qformer_num_heads=12, qformer_intermediate_size=3072, cross_attention_frequency=2)
HFORMER_TINY = dict(HFORMER, qformer_hidden_size=32, qformer_num_layers=4, qformer_num_heads=2,
                    qformer_intermediate_size=64)
FUSION = dict(fusion_embed_dim=2048, fusion_num_heads=8)  # GLIP's BiAttentionBlock defaults
FUSION_TINY = dict(fusion_embed_dim=32, fusion_num_heads=2)


def hpt_config(vision_class, vision: dict, llm_class, llm: dict, hformer: dict, fusion: dict | None,
               drop_cls: bool) -> HPTConfig:
    """Features from layer -2 (HyperGAI's ``visual_select_layer``); CLS dropped for CLIP."""
    return HPTConfig(vision_config=vision_class(**vision), text_config=llm_class(**llm),
                     vision_feature_layer=-2, vision_drop_cls=drop_cls, **hformer, **(fusion or {}))


# --- processors and chat formats (HyperGAI/HPT vlmeval/utils/xtuner_util.py PROMPT_TEMPLATE) ----
def single_turn_template(before_user: str, after_user: str) -> str:
    """Jinja chat template: ``before_user`` + "<image>\\n" + prompt + ``after_user`` (the
    assistant opening, emitted with ``add_generation_prompt``), as HPT's ``INSTRUCTION``."""
    return (
        before_user
        + "{% for message in messages %}{% if message['role'] == 'user' %}"
        "{% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}<image>\n{% endif %}"
        "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
        "{% endfor %}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}" + after_user + "{% endif %}"
    )


CHATML = ("<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n")
LLAMA3 = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer the questions carefully!"
          "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n",
          "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
PHI3 = ("<|user|>\n", "<|end|>\n<|assistant|>\n")


def clip_588_processor():
    """HPT 1.0 at 588 (``is_crop=True``): shortest edge -> 588, centre crop, CLIP mean/std."""
    return image_processor("CLIPImageProcessor", size={"shortest_edge": 588},
                           crop_size={"height": 588, "width": 588}, do_center_crop=True, resample=3,
                           image_mean=OPENAI_CLIP_MEAN, image_std=OPENAI_CLIP_STD)


def siglip_processor(size: int):
    """HPT 1.5: SigLIP's processor with ``size`` forced to size x size (no crop), mean/std 0.5."""
    return image_processor("SiglipImageProcessor", size={"height": size, "width": size}, resample=3,
                           image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD)


def hpt_processor_spec(make_image_processor, image_size: int, chat: tuple[str, str],
                       specials: tuple[str, ...]) -> ProcessorSpec:
    tokens = NUM_QUERY_TOKENS + (image_size // PATCH) ** 2
    template = single_turn_template(*chat)

    def build(tokenizer):
        ip = make_image_processor()
        return ExpandingProcessor(
            tokenizer,
            image_inputs=lambda images: {"pixel_values": ip(images=images, return_tensors="pt")["pixel_values"]},
            tokens_per_image=lambda image: tokens,
            chat_template=template,
            image_processor=ip,
        )

    return ProcessorSpec(build=build, chat_template=template, extra_special_tokens=specials)


def fallback_template(chat: tuple[str, str]) -> str:
    """The same single-turn format as a plain ``{prompt}`` template (used without a chat template)."""
    return chat[0] + "<image>\n{prompt}" + chat[1]


PROC_10 = hpt_processor_spec(clip_588_processor, 588, CHATML, ("<|im_start|>", "<|im_end|>"))
PROC_15_AIR = hpt_processor_spec(lambda: siglip_processor(448), 448, LLAMA3,
                                 ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"))
PROC_15_EDGE = hpt_processor_spec(lambda: siglip_processor(490), 490, PHI3, ("<|user|>", "<|end|>", "<|assistant|>"))

HFORMER_CODE = ("HyperGAI/HPT vlmeval/vlm/hpt.py, hpt1_5.py, vlmeval/config.py; hub projector/config.json, "
                "configuration_hformer.py / configuration_qformer.py, fuse_modules.py "
                "(the forward of modeling_*.py was not readable)")


def _entries(id_: str, system: str, *, config, tiny_config, processor, chat, resolution: int,
             vision_encoder: str, language_model: str, shapes: str, published: str, fusion_text: str,
             checkpoint: str) -> tuple[CatalogEntry, CatalogEntry]:
    tokens = NUM_QUERY_TOKENS + (resolution // PATCH) ** 2
    assumption = ASSUMPTION.format(fusion=fusion_text)
    real = CatalogEntry(
        id=id_, system=system, build_config=config, model_class=HPTForCausalLM, processor=processor,
        provenance=Provenance(shapes=shapes, published_total=published,
                              approximations=f"{assumption}; {CHECKPOINT_NOTE}", code=HFORMER_CODE),
        checkpoints=(checkpoint,), reference_params=None, visual_tokens=tokens,
        reference_resolution=(resolution, resolution), vision_encoder=vision_encoder,
        language_model=language_model, construction="vlmbench arch", assumed_shapes=True, assumption=assumption,
        vision_modules=VISION_MODULES, trust_remote_code_checkpoint=True, prompt_template=fallback_template(chat),
    )
    tiny = tiny_variant(
        real, build_config=tiny_config, scaled_down="width 32-64, 2 vision + 4 Q-Former + 2 LLM layers",
        same="resolution, patching, 32 queries, cross-attention cadence and visual-token count",
        vision_encoder=f"{vision_encoder.split(' @')[0]} (tiny) @{resolution}",
        language_model=f"{language_model} (tiny)",
    )
    return real, tiny



FUSION_TEXT = "fusion: patches attend to queries at the LLM width, embed 2048, 8 heads (GLIP defaults)"


def _hpt15(id_: str, system: str, resolution: int, llm_class, llm: dict, processor, chat, language_model: str, *,
           shapes: str, published: str, checkpoint: str) -> tuple[CatalogEntry, CatalogEntry]:
    """HPT 1.5: SigLIP-So400m at ``resolution`` (layer -2, no CLS) + H-Former + fusion + ``llm``."""
    return _entries(
        id_, system,
        config=lambda: hpt_config(SiglipVisionConfig, siglip_so400m(resolution), llm_class, llm, HFORMER, FUSION,
                                  drop_cls=False),
        tiny_config=lambda: hpt_config(SiglipVisionConfig, tiny_vision(resolution), llm_class, tiny_llm(llm),
                                       HFORMER_TINY, FUSION_TINY, drop_cls=False),
        processor=processor, chat=chat, resolution=resolution, vision_encoder=f"SigLIP-So400m/14 @{resolution}",
        language_model=language_model, shapes=shapes, published=published, fusion_text=FUSION_TEXT,
        checkpoint=checkpoint,
    )


ENTRIES = (
    *_entries(
        "hpt-1.0-air", "HPT 1.0 Air",
        config=lambda: hpt_config(CLIPVisionConfig, CLIP_L_588, LlamaConfig, YI_6B, HFORMER, None, drop_cls=True),
        tiny_config=lambda: hpt_config(CLIPVisionConfig, dict(tiny_vision(588), hidden_act="quick_gelu"),
                                       LlamaConfig, tiny_llm(YI_6B), HFORMER_TINY, None, drop_cls=True),
        processor=PROC_10, chat=CHATML, resolution=588,
        vision_encoder="CLIP ViT-L/14 @588 (positions interpolated from 336)", language_model="Yi-6B",
        shapes="CLIP-L/14-336 at 588 (HPT vlmeval hpt.py vis_scale=588, layer -2, CLS dropped); "
               "H-Former per HyperGAI/HPT projector/config.json; Yi-6B config",
        published="not stated (Yi-6B + CLIP-L + H-Former ~215M inferred from file size)",
        fusion_text="no fusion in 1.0", checkpoint="HyperGAI/HPT",
    ),
    *_hpt15("hpt-1.5-air", "HPT 1.5 Air", 448, LlamaConfig, LLAMA3_8B, PROC_15_AIR, LLAMA3, "Llama-3-8B-Instruct",
            shapes="SigLIP-So400m/14 at 448 (HPT vlmeval hpt1_5.py, layer -2); H-Former (hub configuration_hformer.py, "
                   "32 queries, cross_attention_freq 2) + fuse_modules.py; Llama-3-8B-Instruct config",
            published="8B", checkpoint="HyperGAI/HPT1_5-Air-Llama-3-8B-Instruct-multimodal"),
    *_hpt15("hpt-1.5-edge", "HPT 1.5 Edge", 490, Phi3Config, PHI3_MINI, PROC_15_EDGE, PHI3, "Phi-3-mini-4k",
            shapes="SigLIP-So400m/14 at 490 (HPT vlmeval config hpt-edge-1-5, layer -2); Q-Former + MLP + fusion "
                   "(hub configuration_qformer.py: 32 queries, cross_attention_freq 2; fuse_modules.py); "
                   "Phi-3-mini config",
            published="<5B", checkpoint="HyperGAI/HPT1_5-Edge"),
)
