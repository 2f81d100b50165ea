"""EVA2-CLIP-E, the vision encoder of CogVLM and of CogAgent's low-resolution path.

Facts (seed-architectures.md "EVA2-CLIP-E (CogVLM)"; read in THUDM/cogvlm-chat-hf and
THUDM/cogagent-chat-hf ``visual.py``):

- patch embedding: Conv2d(3 -> 1792, kernel = stride = 14, with bias), a learned CLS vector
  prepended, learned absolute positions for CLS + every patch (``num_positions`` =
  (image / 14)^2 + 1: 1226 at 490 px, 257 at 224 px);
- 63 layers, 1792 wide, 16 heads of 112, one fused QKV Linear(1792 -> 5376) and an output
  Linear(1792 -> 1792), MLP fc1/fc2 1792 <-> 15360 with exact GELU, all with biases;
  bidirectional attention, no mask;
- LayerNorm (eps 1e-6) on each sub-layer's OUTPUT, before the residual add:
  ``x = x + LN(attn(x)); x = x + LN(mlp(x))`` (the public code names them
  ``input_layernorm`` / ``post_attention_layernorm`` although neither normalises an input);
- no final LayerNorm. 67,926,784 parameters per layer, 4,282,641,664 in all at 490 px.

``EVA2CLIPEncoder`` returns every position, CLS first; the CogVLM pipeline drops CLS.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig
from transformers.models.clip.modeling_clip import CLIPMLP


class EVA2CLIPVisionConfig(PretrainedConfig):
    """Shapes of EVA2-CLIP-E (defaults: CogVLM-17B's encoder at 490 px)."""

    model_type = "vlmbench_eva2_clip"

    def __init__(self, hidden_size: int = 1792, intermediate_size: int = 15360,
                 num_hidden_layers: int = 63, num_attention_heads: int = 16, image_size: int = 490,
                 patch_size: int = 14, num_channels: int = 3, hidden_act: str = "gelu",
                 layer_norm_eps: float = 1e-6, **kwargs: Any) -> None:
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.hidden_act = hidden_act
        self.layer_norm_eps = layer_norm_eps
        super().__init__(**kwargs)

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


class EVA2PatchEmbedding(nn.Module):
    """Conv patchify, prepend the CLS vector, add learned positions (CLS included)."""

    def __init__(self, config: EVA2CLIPVisionConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(config.num_channels, config.hidden_size,
                              kernel_size=config.patch_size, stride=config.patch_size)
        self.cls_embedding = nn.Parameter(torch.zeros(1, config.hidden_size))
        self.position_embedding = nn.Embedding(config.num_patches + 1, config.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        patches = self.proj(pixel_values.to(self.proj.weight.dtype)).flatten(2).transpose(1, 2)
        cls = self.cls_embedding.expand(patches.shape[0], 1, -1)
        return torch.cat((cls, patches), dim=1) + self.position_embedding.weight.unsqueeze(0)


class EVA2Attention(nn.Module):
    """Bidirectional multi-head attention with one fused, biased QKV projection."""

    def __init__(self, config: EVA2CLIPVisionConfig) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.query_key_value = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        batch, length, width = hidden_states.shape
        qkv = self.query_key_value(hidden_states).view(batch, length, 3, self.num_heads, -1)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, heads, L, head_dim)
        context = F.scaled_dot_product_attention(query, key, value)
        return self.dense(context.transpose(1, 2).reshape(batch, length, width))


class EVA2OutputNormLayer(nn.Module):
    """One EVA2-CLIP-E layer: LayerNorm on each sub-layer's output, then the residual add."""

    def __init__(self, config: EVA2CLIPVisionConfig) -> None:
        super().__init__()
        self.attention = EVA2Attention(config)
        self.attention_output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.mlp_output_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = hidden_states + self.attention_output_norm(self.attention(hidden_states))
        return hidden_states + self.mlp_output_norm(self.mlp(hidden_states))


class EVA2CLIPEncoder(nn.Module):
    """Patch embedding + the layer stack; returns (images, 1 + patches, width), CLS first."""

    def __init__(self, config: EVA2CLIPVisionConfig) -> None:
        super().__init__()
        self.config = config
        self.patch_embedding = EVA2PatchEmbedding(config)
        self.layers = nn.ModuleList(EVA2OutputNormLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden_states = self.patch_embedding(pixel_values)
        for layer in self.layers:
            hidden_states = layer(hidden_states)
        return hidden_states
