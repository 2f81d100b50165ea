"""MGM / Mini-Gemini (vlmbench arch ``archs/mgm.py``): 2B, 7B, 13B, 8B, 8x7B, 34B and HD.

Shapes: seed-architectures.md "MiniGemini / MGM" and its LLM table; dvlab-research/MGM
training scripts (``--image_size_aux 768`` / HD ``1536 --image_grid 2 --image_global True``,
``--mm_projector_type mlp2x_gelu --mm_vision_select_layer -2 --image_aspect_ratio pad``,
``--mm_use_im_patch_token False``, so the LLM vocabularies are the base models').
Vision side, identical in every size: CLIP ViT-L/14-336 (303,507,456) + ConvNeXt-L stem and
stages (196,227,264) + patch info mining (6,963,456) = 506,698,176, plus mlp2x_gelu
1024 -> d -> d. HD has exactly the same parameters (only the resolutions change).
"""

from __future__ import annotations

from typing import Any, Callable

from transformers import CLIPVisionConfig, ConvNextConfig, GemmaConfig, LlamaConfig, MixtralConfig

from vlmbench.archs.mgm import MGMConfig, MGMForCausalLM
from vlmbench.catalog.entry import CatalogEntry, ProcessorSpec, Provenance, tiny_variant
from vlmbench.catalog.mgm_processor import MGM_VICUNA_V1, MGM_VICUNA_V1_PROMPT, mgm_processor

CLIP_L_336 = dict(
    hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
    image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5,
)
CLIP_TINY = dict(CLIP_L_336, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, projection_dim=64)
# open_clip convnext_large_d_320 trunk (MGM openclip_encoder.py model_channel [192, 384, 768, 1536]).
CONVNEXT_L = dict(num_channels=3, patch_size=4, hidden_sizes=[192, 384, 768, 1536], depths=[3, 3, 27, 3],
                  hidden_act="gelu", layer_scale_init_value=1e-6, drop_path_rate=0.0)
CONVNEXT_TINY = dict(CONVNEXT_L, hidden_sizes=[8, 16, 32, 64], depths=[1, 1, 1, 1])

# LLM shapes: seed-architectures.md LLM table.
VICUNA_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                 num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
                 vocab_size=32000, tie_word_embeddings=False)
VICUNA_13B = dict(VICUNA_7B, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                  num_attention_heads=40, num_key_value_heads=40)
LLAMA3_8B = dict(VICUNA_7B, intermediate_size=14336, num_key_value_heads=8, max_position_embeddings=8192,
                 rope_theta=500000.0, vocab_size=128256)
YI_34B = dict(VICUNA_7B, hidden_size=7168, intermediate_size=20480, num_hidden_layers=60, num_attention_heads=56,
              num_key_value_heads=8, rope_theta=5000000.0, vocab_size=64000)
MIXTRAL_8X7B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                    num_key_value_heads=8, max_position_embeddings=32768, rms_norm_eps=1e-5, rope_theta=1e6,
                    num_local_experts=8, num_experts_per_tok=2, vocab_size=32000, tie_word_embeddings=False)
GEMMA_2B = dict(hidden_size=2048, intermediate_size=16384, num_hidden_layers=18, num_attention_heads=8,
                num_key_value_heads=1, head_dim=256, max_position_embeddings=8192, rms_norm_eps=1e-6,
                rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh", vocab_size=256000,
                tie_word_embeddings=True)
TINY_LLM = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)


def _tiny(shapes: dict[str, Any]) -> dict[str, Any]:
    """The same LLM family, vocabulary and attention kind (MHA / GQA / MQA), 2 layers of width 64."""
    heads = TINY_LLM["num_attention_heads"]
    kv_heads = max(1, heads * shapes["num_key_value_heads"] // shapes["num_attention_heads"])
    extra = {"head_dim": TINY_LLM["hidden_size"] // heads} if "head_dim" in shapes else {}
    return dict(shapes, **dict(TINY_LLM, num_key_value_heads=kv_heads), **extra)


def mgm_config(text_config: Any, *, hd: bool, tiny: bool = False) -> MGMConfig:
    return MGMConfig(
        vision_config=CLIPVisionConfig(**(CLIP_TINY if tiny else CLIP_L_336)),
        aux_config=ConvNextConfig(**(CONVNEXT_TINY if tiny else CONVNEXT_L)),
        text_config=text_config,
        image_size_aux=1536 if hd else 768,
        image_grid=2 if hd else 1,
        image_global=hd,
        vision_feature_layer=-2,
    )


def _processor(hd: bool) -> ProcessorSpec:
    return ProcessorSpec(
        build=lambda tok: mgm_processor(tok, visual_tokens=2880 if hd else 576, image_size_aux=1536 if hd else 768,
                                        image_grid=2 if hd else 1, image_global=hd),
        chat_template=MGM_VICUNA_V1,
    )


# (size, LLM name, LLM config class, shapes, published conversation mode, sheet total)
SIZES: tuple[tuple[str, str, Callable[..., Any], dict[str, Any], str, int], ...] = (
    ("2B", "Gemma-2B", GemmaConfig, GEMMA_2B, "gemma", 3_019_166_144),
    ("7B", "Vicuna-7B-v1.5", LlamaConfig, VICUNA_7B, "vicuna_v1", 7_266_093_504),
    ("13B", "Vicuna-13B-v1.5", LlamaConfig, VICUNA_13B, "vicuna_v1", 13_554_030_016),
    ("8B", "Llama-3-8B-Instruct", LlamaConfig, LLAMA3_8B, "llama_3", 8_557_939_136),
    ("8x7B", "Mixtral-8x7B-Instruct", MixtralConfig, MIXTRAL_8X7B, "mistral_instruct", 47_230_470_592),
    ("34B", "Nous-Hermes-2-Yi-34B", LlamaConfig, YI_34B, "chatml_direct", 34_954_350_016),
)
HD_SIZES = ("7B", "13B", "8B", "8x7B", "34B")  # no MGM-2B-HD checkpoint is published
# (size, hd) of the tiny variants: both 7B layouts, plus the Gemma (tied) and Mixtral (MoE) LLM paths
TINY_VARIANTS = (("7B", False), ("7B", True), ("2B", False), ("8x7B", False))
VISION_MODULES = ("vision.clip", "vision.convnext", "vision.mining", "vision.projector")
CODE = ("dvlab-research/MGM mgm/model/mgm_arch.py (encode_images, unified_resampler), "
        "multimodal_encoder/clip_encoder.py, openclip_encoder.py; mgm/serve/cli.py (preprocessing)")


def _vision_encoder(hd: bool, tiny: bool) -> str:
    clip, convnext = ("CLIP ViT (tiny)", "ConvNeXt (tiny)") if tiny else ("CLIP ViT-L/14", "ConvNeXt-L")
    if hd:
        return f"{clip} @672 (4 tiles of 336 + global) + {convnext} @1536"
    return f"{clip} @336 + {convnext} @768"


def _conversation_note(mode: str) -> str:
    if mode == "vicuna_v1":
        return "conversation vicuna_v1 as published"
    return f"conversation vicuna_v1 (the authors' evaluation uses {mode}; a few text tokens differ)"


def _entry(size: str, llm: str, config_class: Callable[..., Any], shapes: dict[str, Any], mode: str,
           total: int, hd: bool) -> CatalogEntry:
    checkpoint = f"YanweiLi/MGM-{size}" + ("-HD" if hd else "")
    return CatalogEntry(
        id=f"mgm-{size.lower()}" + ("-hd" if hd else ""),
        system="MGM",
        build_config=lambda: mgm_config(config_class(**shapes), hd=hd),
        model_class=MGMForCausalLM,
        processor=_processor(hd),
        provenance=Provenance(
            shapes=(f"seed-architectures.md (MGM, {llm}) and the MGM training scripts: CLIP ViT-L/14-336 layer -2, "
                    f"ConvNeXt-L @{1536 if hd else 768}, patch info mining, mlp2x_gelu, {llm} "
                    f"(vocab {shapes['vocab_size']})" + ("; HD: image_grid 2 + global view" if hd else "")),
            published_total=size,
            approximations=("random weights: the checkpoint runs on MGM's own code (not transformers) and "
                            "converting its weights into vlmbench's implementation is not implemented; "
                            + _conversation_note(mode)),
            code=CODE,
        ),
        checkpoints=(checkpoint,),
        reference_params=total,
        visual_tokens=2880 if hd else 576,
        reference_resolution=(672, 672) if hd else (336, 336),
        vision_encoder=_vision_encoder(hd, tiny=False),
        language_model=llm,
        construction="vlmbench arch",
        vision_modules=VISION_MODULES,
        trust_remote_code_checkpoint=True,
        prompt_template=MGM_VICUNA_V1_PROMPT,
        tags=("hd",) if hd else (),
    )


def _tiny_entry(real: CatalogEntry, llm: str, config_class: Callable[..., Any], shapes: dict[str, Any],
                hd: bool) -> CatalogEntry:
    family = llm.split("-")[0]
    return tiny_variant(
        real, build_config=lambda: mgm_config(config_class(**_tiny(shapes)), hd=hd, tiny=True),
        scaled_down=f"CLIP 2 layers x 64, ConvNeXt 4 stages of 1 block (8/16/32/64 ch), {family} 2 layers x 64",
        same="resolutions, windows and visual-token count",
        vision_encoder=_vision_encoder(hd, tiny=True), language_model=f"{family} (tiny)",
    )


def _entries() -> tuple[CatalogEntry, ...]:
    entries, real = [], {}
    for size, llm, config_class, shapes, mode, total in SIZES:
        for hd in (False, True) if size in HD_SIZES else (False,):
            real[size, hd] = _entry(size, llm, config_class, shapes, mode, total, hd=hd)
            entries.append(real[size, hd])
    by_size = {size: (llm, config_class, shapes) for size, llm, config_class, shapes, _, _ in SIZES}
    for size, hd in TINY_VARIANTS:
        entries.append(_tiny_entry(real[size, hd], *by_size[size], hd=hd))
    return tuple(entries)


ENTRIES = _entries()
