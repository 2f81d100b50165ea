"""Published shapes of the building blocks: vision encoders and language models.

Each constant is the set of config keyword values that fixes a block's parameter shapes and
compute (widths, depths, heads, vocabulary, activation, rotary fraction), read from the
checkpoint's ``config.json`` (values and sources in the project's seed-architecture fact
sheet). Family modules combine them with the config class named in the comment, e.g.
``PhiConfig(**dict(PHI_2, vocab_size=50295))``. The ``*_TINY`` shapes keep the class, the
image resolution and patching (so visual-token counts are unchanged) and shrink widths and
depths for tests and the default run.
"""

from __future__ import annotations

# ---------------------------------------------------------------- vision encoders

# CLIPVisionConfig. openai/clip-vit-large-patch14-336: 336 -> 577 tokens (CLS + 24x24).
CLIP_L_336 = dict(
    hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
    image_size=336, patch_size=14, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5,
)
CLIP_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    image_size=336, patch_size=14, projection_dim=64, hidden_act="quick_gelu", layer_norm_eps=1e-5,
)

# SiglipVisionConfig. google/siglip-so400m-patch14-384 without the pooling head (no VLM here
# uses it); no CLS token. ``image_size`` is set by each use: 224/448/896 (PaliGemma), 384.
SIGLIP_SO400M = dict(
    hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16,
    patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, vision_use_head=False,
)
SIGLIP_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, vision_use_head=False,
)

# Blip2VisionConfig. EVA ViT-g/14 as cut for BLIP-2 (39 of 40 layers) + final LayerNorm, @224.
EVA_VIT_G = dict(
    hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16,
    image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True,
)
EVA_VIT_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-6, qkv_bias=True,
)

# Blip2QFormerConfig. BERT-base Q-Former: cross-attention into the encoder every 2nd layer.
QFORMER_BLIP2 = dict(
    hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
    cross_attention_frequency=2, encoder_hidden_size=1408, hidden_act="gelu", layer_norm_eps=1e-12,
)
QFORMER_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    cross_attention_frequency=2, encoder_hidden_size=64, hidden_act="gelu", layer_norm_eps=1e-12,
)

# ---------------------------------------------------------------- language models

# LlamaConfig. lmsys/vicuna-7b-v1.5 (LLaMA-2-7B shapes); vocab padded to 32064 by llava-hf.
VICUNA_7B = dict(
    hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32064, tie_word_embeddings=False,
)
# LlamaConfig. lmsys/vicuna-13b-v1.5.
VICUNA_13B = dict(VICUNA_7B, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                  num_attention_heads=40, num_key_value_heads=40)
# LlamaConfig. Vicuna v0 7B / 13B (LLaMA-1 shapes, vocab 32000, 2048 positions): MiniGPT-4.
VICUNA_V0_7B = dict(VICUNA_7B, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-6)
VICUNA_V0_13B = dict(VICUNA_13B, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-6)
# MistralConfig. mistralai/Mistral-7B-Instruct-v0.2 (no sliding window in v0.2).
MISTRAL_7B_V02 = dict(
    hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=8, head_dim=128, max_position_embeddings=32768, rms_norm_eps=1e-5,
    rope_theta=1000000.0, sliding_window=None, vocab_size=32000, tie_word_embeddings=False,
)
# LlamaConfig. NousResearch/Nous-Hermes-2-Yi-34B.
YI_34B = dict(
    hidden_size=7168, intermediate_size=20480, num_hidden_layers=60, num_attention_heads=56,
    num_key_value_heads=8, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=5000000.0,
    vocab_size=64000, tie_word_embeddings=False,
)
# LlamaConfig. meta-llama/Meta-Llama-3-8B-Instruct.
LLAMA_3_8B = dict(
    hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=8, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=500000.0,
    vocab_size=128256, tie_word_embeddings=False,
)
# LlamaConfig. TinyLlama/TinyLlama-1.1B-Chat-v1.0.
TINYLLAMA_1_1B = dict(
    hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
    num_key_value_heads=4, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32000, tie_word_embeddings=False,
)
# GemmaConfig. google/gemma-2b (tied embeddings, multi-query attention, head dim 256).
GEMMA_2B = dict(
    hidden_size=2048, intermediate_size=16384, num_hidden_layers=18, num_attention_heads=8,
    num_key_value_heads=1, head_dim=256, max_position_embeddings=8192, rms_norm_eps=1e-6,
    rope_theta=10000.0, hidden_activation="gelu_pytorch_tanh", vocab_size=256000,
    tie_word_embeddings=True,
)
# PhiConfig. microsoft/phi-2 (40% rotary, parallel attention/MLP block, biased LM head).
PHI_2 = dict(
    hidden_size=2560, intermediate_size=10240, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=2048, layer_norm_eps=1e-5, rope_theta=10000.0,
    partial_rotary_factor=0.4, hidden_act="gelu_new", vocab_size=51200, tie_word_embeddings=False,
)
# Phi3Config. microsoft/Phi-3-mini-4k-instruct (sliding window 2047).
PHI_3_MINI = dict(
    hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=4096, original_max_position_embeddings=4096,
    rms_norm_eps=1e-5, rope_theta=10000.0, sliding_window=2047, vocab_size=32064,
    tie_word_embeddings=False,
)
# StableLmConfig. stabilityai/stablelm-2-1_6b (25% rotary, qkv bias, LayerNorm).
STABLELM_2_1_6B = dict(
    hidden_size=2048, intermediate_size=5632, num_hidden_layers=24, num_attention_heads=32,
    num_key_value_heads=32, max_position_embeddings=4096, layer_norm_eps=1e-5, rope_theta=10000.0,
    partial_rotary_factor=0.25, use_qkv_bias=True, vocab_size=100352, tie_word_embeddings=False,
)
# Qwen2Config. Qwen/Qwen1.5-1.8B (qkv bias, untied head).
QWEN15_1_8B = dict(
    hidden_size=2048, intermediate_size=5504, num_hidden_layers=24, num_attention_heads=16,
    num_key_value_heads=16, max_position_embeddings=4096, rms_norm_eps=1e-6, rope_theta=1000000.0,
    vocab_size=151936, tie_word_embeddings=False, use_sliding_window=False,
)

# Tiny language models: same classes, widths 64, 2 layers, the real vocabulary.
LLAMA_TINY = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=4, max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
    vocab_size=32064, tie_word_embeddings=False,
)
MISTRAL_TINY = dict(MISTRAL_7B_V02, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=32064)
GEMMA_TINY = dict(GEMMA_2B, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=16)
PHI_2_TINY = dict(PHI_2, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4)
PHI_3_TINY = dict(PHI_3_MINI, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4)
