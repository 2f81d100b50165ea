"""MiniGPT-v2 and MiniGPT-4 (LLaMA-2): EVA ViT-g, 4-token merge, one linear, LLaMA-2.

Facts (seed-architectures.md "MiniGPT-v2", "MiniGPT-4"; read in Vision-CAIR/MiniGPT-4
``minigpt4/models/minigpt_v2.py`` and ``minigpt4.py`` with ``has_qformer=False``,
``minigpt_base.py``, ``eva_vit.py``):

- vision: EVA ViT-g/14 as BLIP-2 cuts it (39 layers, width 1408, MLP 6144, 16 heads), then
  ``ln_vision`` (a LayerNorm over the output). transformers' ``Blip2VisionModel`` is exactly
  this: its ``post_layernorm`` plays ``ln_vision`` (985,952,256 parameters @224,
  987,033,600 @448 with the position table sized for 1025 positions);
- ``encode_img``: drop the CLS token, then ``view(bs, pn / 4, hs * 4)``: every 4 consecutive
  patch embeddings are concatenated into one 5632-wide token; ``llama_proj`` =
  Linear(5632 -> 4096, biased). @448: 1024 patches -> **256 tokens** (MiniGPT-v2);
  @224: 256 patches -> **64 tokens** (MiniGPT-4 LLaMA-2 variant);
- LLM: LLaMA-2-7B-chat (transformers ``LlamaForCausalLM``). MiniGPT-v2 trains LoRA (r 64 on
  q_proj, v_proj); merged into the weights it changes no shape (see the catalog entry).

Generation, KV cache and the placeholder splice come from ``archs/base.py``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import Blip2VisionConfig, Blip2VisionModel, LlamaConfig, LlamaForCausalLM, PretrainedConfig

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.subconfigs import as_config


class MiniGPTConfig(VisionLanguageConfig):
    """``vision_config`` (EVA ViT-g as ``Blip2VisionConfig``), ``text_config`` (LLaMA) and
    ``tokens_per_merge``: how many consecutive patch embeddings become one LLM token."""

    model_type = "vlmbench_minigpt"
    sub_configs = {"text_config": LlamaConfig, "vision_config": Blip2VisionConfig}

    def __init__(self, vision_config: Any = None, text_config: Any = None, tokens_per_merge: int = 4,
                 image_token_id: int = 3, **kwargs: Any) -> None:
        self.vision_config = as_config(vision_config, Blip2VisionConfig) or Blip2VisionConfig()
        self.tokens_per_merge = tokens_per_merge
        super().__init__(text_config=as_config(text_config, LlamaConfig), image_token_id=image_token_id,
                         **kwargs)

    @property
    def patches_per_image(self) -> int:
        return (self.vision_config.image_size // self.vision_config.patch_size) ** 2

    @property
    def visual_tokens(self) -> int:
        return self.patches_per_image // self.tokens_per_merge


def merge_consecutive_tokens(tokens: torch.Tensor, group: int) -> torch.Tensor:
    """(B, N, C) -> (B, N / group, group * C): tokens ``group*k .. group*k + group-1``,
    concatenated in order, become token ``k`` (MiniGPT's ``view(bs, pn / 4, hs * 4)``)."""
    batch, count, width = tokens.shape
    if count % group:
        raise ValueError(f"{count} tokens do not split into groups of {group}")
    return tokens.reshape(batch, count // group, group * width)


class MergedPatchProjector(nn.Module):
    """Concatenate every ``group`` consecutive patch embeddings, then one biased Linear."""

    def __init__(self, vision_width: int, group: int, text_width: int) -> None:
        super().__init__()
        self.group = group
        self.proj = nn.Linear(vision_width * group, text_width)

    def forward(self, patch_embeds: torch.Tensor) -> torch.Tensor:
        return self.proj(merge_consecutive_tokens(patch_embeds, self.group))


class MiniGPTVision(nn.Module):
    """pixel_values (B, 3, S, S) -> (B, (S/14)^2 / 4, LLM width)."""

    def __init__(self, config: MiniGPTConfig) -> None:
        super().__init__()
        self.encoder = Blip2VisionModel(config.vision_config)
        self.projector = MergedPatchProjector(
            config.vision_config.hidden_size, config.tokens_per_merge, config.text_config.hidden_size
        )

    def patch_embeddings(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """EVA output after the final LayerNorm (``ln_vision``), CLS dropped: (B, patches, 1408)."""
        return self.encoder(pixel_values=pixel_values).last_hidden_state[:, 1:]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projector(self.patch_embeddings(pixel_values))


class MiniGPTForCausalLM(VisionLanguageForCausalLM):
    config_class = MiniGPTConfig
    _no_split_modules = ["Blip2EncoderLayer", "LlamaDecoderLayer"]

    def __init__(self, config: MiniGPTConfig) -> None:
        super().__init__(config)
        if not isinstance(config.text_config, PretrainedConfig):
            raise ValueError("MiniGPT needs a text_config (the LLaMA LLM)")
        self.build(MiniGPTVision(config), LlamaForCausalLM(config.text_config))
        self.post_init()
