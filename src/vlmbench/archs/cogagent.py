"""CogAgent-18B: CogVLM at 224 px plus a 1120 px view read by cross-attention in every layer.

Facts (seed-architectures.md "CogAgent-18B"; read in THUDM/cogagent-chat-hf
``modeling_cogagent.py``, ``visual.py`` and ``cross_visual.py``):

- low resolution: the CogVLM path (``archs/cogvlm.py``) with EVA2-CLIP-E at 224 px, plus one
  extra learned (256 x 1792) position table added to the patch features after the encoder,
  before the adapter (``EVA2CLIPModel.pos_embed``) -> 258 tokens in the text sequence;
- high resolution: EVA02-CLIP-L/14 at 1120 px (``archs/eva02.py``) -> 6400 x 1024 features,
  plus a learned (6400 x 1024) position table (``CrossVisionModel.pos_embed``). These never
  enter the text sequence;
- every decoder layer: self-attention (visual expert, as CogVLM) -> cross-attention -> MLP.
  Cross-attention: RMSNorm (``post_cross_attention_layernorm``), q Linear(4096 -> 1024),
  kv Linear(1024 -> 2048), out Linear(1024 -> 4096), bias-free, 32 heads of 32, no mask (every
  token, text or image, reads all 6400 high-res positions); 10,489,856 parameters per layer;
- the cross keys and values depend only on the image: the public code computes them at the
  first step and carries them in the past-key-values tuple afterwards. Here they are computed
  once per request at prefill and kept in the request's ``RequestState``; decode steps only
  project their query.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRMSNorm

from vlmbench.archs.cogvlm import (
    CogVLMConfig,
    CogVLMDecoderLayer,
    CogVLMForCausalLM,
    CogVLMVision,
    LayerInputs,
    RequestState,
    as_config,
)
from vlmbench.archs.eva02 import EVA02Encoder, EVA02VisionConfig
from vlmbench.archs.eva2_clip import EVA2CLIPVisionConfig


class CogAgentConfig(CogVLMConfig):
    """CogVLM's fields + ``cross_vision_config`` (EVA02-CLIP-L) + the cross-attention width."""

    model_type = "vlmbench_cogagent"

    def __init__(self, text_config: Any = None, vision_config: Any = None, cross_vision_config: Any = None,
                 cross_compute_hidden_size: int = 1024, **kwargs: Any) -> None:
        self.cross_vision_config = as_config(cross_vision_config, EVA02VisionConfig)
        self.cross_compute_hidden_size = cross_compute_hidden_size
        if vision_config is None:
            vision_config = EVA2CLIPVisionConfig(image_size=224)
        super().__init__(text_config=text_config, vision_config=vision_config, **kwargs)


class CogAgentLowResVision(CogVLMVision):
    """CogVLM's vision path with CogAgent's extra patch positions before the adapter."""

    def __init__(self, vision_config: EVA2CLIPVisionConfig, text_config: LlamaConfig) -> None:
        super().__init__(vision_config, text_config)
        self.patch_positions = nn.Parameter(torch.zeros(vision_config.num_patches, vision_config.hidden_size))

    def patch_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return super().patch_features(pixel_values) + self.patch_positions


class CogAgentHighResVision(nn.Module):
    """EVA02-CLIP-L patch features + a learned position table: (images, 6400, 1024)."""

    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        self.encoder = EVA02Encoder(config)
        self.patch_positions = nn.Parameter(torch.zeros(config.num_patches, config.hidden_size))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixel_values) + self.patch_positions


class HighResCrossAttention(nn.Module):
    """Text-sequence queries over the high-resolution features; keys/values projected once."""

    def __init__(self, text_config: LlamaConfig, cross_width: int, compute_width: int) -> None:
        super().__init__()
        self.num_heads = text_config.num_attention_heads
        self.compute_width = compute_width
        self.query = nn.Linear(text_config.hidden_size, compute_width, bias=False)
        self.key_value = nn.Linear(cross_width, 2 * compute_width, bias=False)
        self.dense = nn.Linear(compute_width, text_config.hidden_size, bias=False)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        return t.view(t.shape[0], t.shape[1], self.num_heads, -1).transpose(1, 2)

    def project_keys_values(self, cross_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        key, value = self.key_value(cross_states).split(self.compute_width, dim=-1)
        return self._heads(key), self._heads(value)

    def forward(self, hidden_states: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        batch, length, _ = hidden_states.shape
        query = self._heads(self.query(hidden_states))
        context = F.scaled_dot_product_attention(query, key.to(query.dtype), value.to(query.dtype))
        return self.dense(context.transpose(1, 2).reshape(batch, length, self.compute_width))


class CogAgentDecoderLayer(CogVLMDecoderLayer):
    """CogVLM's layer with cross-attention between self-attention and the MLP."""

    def __init__(self, config: LlamaConfig, layer_idx: int, cross_width: int, compute_width: int) -> None:
        super().__init__(config, layer_idx)
        self.post_cross_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.cross_attn = HighResCrossAttention(config, cross_width, compute_width)

    def after_self_attention(self, hidden_states: torch.Tensor, inputs: LayerInputs) -> torch.Tensor:
        state = inputs.state
        if self.layer_idx not in state.cross_kv:
            if state.cross_states is None:  # a prompt without image: nothing to attend to
                return hidden_states
            state.cross_kv[self.layer_idx] = self.cross_attn.project_keys_values(state.cross_states)
        key, value = state.cross_kv[self.layer_idx]
        return hidden_states + self.cross_attn(self.post_cross_attention_layernorm(hidden_states), key, value)


class CogAgentForCausalLM(CogVLMForCausalLM):
    """CogVLM + ``cross_vision`` (high-res encoder) + cross-attention in every layer."""

    config_class = CogAgentConfig
    image_input_names = ("pixel_values", "cross_pixel_values")
    vision_class = CogAgentLowResVision
    _no_split_modules = ["CogAgentDecoderLayer", "EVA2OutputNormLayer", "EVA02Block"]

    def build_modules(self, config: CogAgentConfig) -> None:
        super().build_modules(config)
        self.cross_vision = CogAgentHighResVision(config.cross_vision_config)

    def make_decoder_layer(self, text_config: LlamaConfig, layer_idx: int) -> CogAgentDecoderLayer:
        return CogAgentDecoderLayer(text_config, layer_idx, self.config.cross_vision_config.hidden_size,
                                    self.config.cross_compute_hidden_size)

    def decode_unread_modules(self) -> list[nn.Module]:
        """CogVLM's visual experts, plus each layer's cross-attention K/V projection (run once per
        request, at prefill: decode steps read the cached keys and values instead)."""
        return super().decode_unread_modules() + [layer.cross_attn.key_value for layer in self.language_model.layers]

    def decode_cross_kv_bytes(self) -> float:
        """Bytes of cached cross-attention keys and values every decode step reads, for one image:
        layers x 2 (K, V) x high-res positions (6400) x compute width (1024) x bytes per element."""
        projection = self.language_model.layers[0].cross_attn.key_value.weight
        positions = self.config.cross_vision_config.num_patches
        return float(len(self.language_model.layers) * 2 * positions * self.config.cross_compute_hidden_size
                     * projection.element_size())

    def start_request(self, image_inputs: dict[str, torch.Tensor]) -> RequestState:
        cross_pixels = image_inputs.get("cross_pixel_values")
        cross_states = self.cross_vision(cross_pixels) if cross_pixels is not None else None
        return RequestState(cross_states=cross_states)
