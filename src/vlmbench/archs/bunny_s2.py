"""Bunny v1.1: SigLIP-So400m run at three scales (S2), channel-concatenated, mlp2x_gelu, LLM.

Facts (seed-architectures.md "Bunny"; read in BAAI-DCAI/Bunny
``bunny/model/multimodal_encoder/siglip/siglip_encoder.py`` ``SiglipVisionTowerS2``,
``bunny/util/s2wrapper/core.py`` ``forward`` and ``utils.py``, ``bunny_arch.py``):

- the processor resizes the (square-padded) image to the largest scale, 1152;
- ``s2_scales`` 384, 768, 1152, split size 384: for each scale the image is bicubically
  resized to it and cut into ``ceil(scale / 384)``^2 crops (1, 2x2, 3x3) = **14 SigLIP passes**
  per image; each scale's crops run through SigLIP as one batch;
- SigLIP-So400m/14 @384 (27 layers, width 1152), ``select_layer = -2``: the output of layer
  26 (HF ``SiglipVisionModel`` with ``output_hidden_states``, which still runs all 27 layers,
  as the original does); 729 tokens (27 x 27) per crop, no CLS. The pooling head is not
  built: no Bunny path uses it (the fact sheet counts SigLIP without it);
- each scale's crops are put back together (27n x 27n map), area-interpolated to 27 x 27 and
  the three maps concatenated channel-wise: **729 tokens x 3456** (3 x 1152) channels;
- projector ``mlp2x_gelu``: Linear(3456 -> d), GELU, Linear(d -> d);
- LLMs: Phi-3-mini (Bunny-v1.1-4B), Llama-3-8B (Bunny-v1.1-Llama-3-8B-V) as transformers
  ``Phi3ForCausalLM`` / ``LlamaForCausalLM``.

Generation, KV cache and the placeholder splice come from ``archs/base.py``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    AutoConfig,
    LlamaForCausalLM,
    Phi3ForCausalLM,
    PretrainedConfig,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.subconfigs import as_config

LANGUAGE_MODELS = {"phi3": Phi3ForCausalLM, "llama": LlamaForCausalLM}


class BunnyS2Config(VisionLanguageConfig):
    """``vision_config`` (SigLIP at the crop size, 384), ``s2_scales`` (the image sizes, the
    smallest one being the crop size), ``vision_feature_layer`` and ``text_config``."""

    model_type = "vlmbench_bunny_s2"
    sub_configs = {"text_config": AutoConfig, "vision_config": SiglipVisionConfig}

    def __init__(self, vision_config: Any = None, text_config: Any = None,
                 s2_scales: Sequence[int] = (384, 768, 1152), vision_feature_layer: int = -2,
                 image_token_id: int = 3, **kwargs: Any) -> None:
        self.vision_config = as_config(vision_config, SiglipVisionConfig) or SiglipVisionConfig()
        self.s2_scales = sorted(int(s) for s in s2_scales)
        self.vision_feature_layer = vision_feature_layer
        super().__init__(text_config=as_config(text_config, PretrainedConfig), image_token_id=image_token_id,
                         **kwargs)

    @property
    def crop_size(self) -> int:
        return self.s2_scales[0]

    @property
    def splits_per_side(self) -> list[int]:
        """Crops per side at each scale: ceil(scale / crop size) (1, 2, 3)."""
        return [math.ceil(scale / self.crop_size) for scale in self.s2_scales]

    @property
    def passes_per_image(self) -> int:
        return sum(n * n for n in self.splits_per_side)

    @property
    def visual_tokens(self) -> int:
        return (self.crop_size // self.vision_config.patch_size) ** 2

    @property
    def feature_channels(self) -> int:
        return self.vision_config.hidden_size * len(self.s2_scales)


def split_into_crops(images: torch.Tensor, per_side: int) -> torch.Tensor:
    """(B, C, H, W) -> (per_side^2 * B, C, H / per_side, W / per_side).

    Crop (row i, column j) of image b lands at batch index ``(i * per_side + j) * B + b``
    (s2wrapper's ``split_chessboard`` order)."""
    batch, channels, height, width = images.shape
    if height % per_side or width % per_side:
        raise ValueError(f"{height}x{width} image does not split into {per_side}x{per_side} crops")
    crops = images.reshape(batch, channels, per_side, height // per_side, per_side, width // per_side)
    crops = crops.permute(2, 4, 0, 1, 3, 5)
    return crops.reshape(per_side * per_side * batch, channels, height // per_side, width // per_side)


def join_crops(crops: torch.Tensor, per_side: int) -> torch.Tensor:
    """Inverse of ``split_into_crops``: (per_side^2 * B, C, h, w) -> (B, C, h * per_side, w * per_side)."""
    count, channels, height, width = crops.shape
    batch = count // (per_side * per_side)
    grid = crops.reshape(per_side, per_side, batch, channels, height, width)
    return grid.permute(2, 3, 0, 4, 1, 5).reshape(batch, channels, per_side * height, per_side * width)


class SiglipS2Encoder(nn.Module):
    """pixel_values (B, 3, 1152, 1152) -> (B, 729, 3 x SigLIP width): multi-scale features."""

    def __init__(self, config: BunnyS2Config) -> None:
        super().__init__()
        self.scales = list(config.s2_scales)
        self.splits_per_side = config.splits_per_side
        self.feature_layer = config.vision_feature_layer
        self.tower = SiglipVisionModel(config.vision_config)

    def crop_features(self, crops: torch.Tensor) -> torch.Tensor:
        """(N, 3, 384, 384) -> (N, 729, width): SigLIP hidden state ``feature_layer``."""
        out = self.tower(pixel_values=crops, output_hidden_states=True)
        return out.hidden_states[self.feature_layer]

    def scale_feature_map(self, pixel_values: torch.Tensor, scale: int, per_side: int) -> torch.Tensor:
        """Features of the image resized to ``scale``, as a (B, width, 27 per_side, 27 per_side) map."""
        resized = F.interpolate(pixel_values.float(), size=(scale, scale), mode="bicubic").to(pixel_values.dtype)
        tokens = self.crop_features(split_into_crops(resized, per_side))
        side = math.isqrt(tokens.shape[1])
        grid = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], side, side)
        return join_crops(grid, per_side)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        maps = [self.scale_feature_map(pixel_values, s, n) for s, n in zip(self.scales, self.splits_per_side)]
        side = maps[0].shape[-1]
        pooled = [F.interpolate(m.float(), size=(side, side), mode="area").to(m.dtype) for m in maps]
        return torch.cat(pooled, dim=1).flatten(2).transpose(1, 2)


class BunnyS2Vision(nn.Module):
    """pixel_values -> (B, 729, LLM width): S2 SigLIP features, then mlp2x_gelu."""

    def __init__(self, config: BunnyS2Config) -> None:
        super().__init__()
        text_width = config.text_config.hidden_size
        self.encoder = SiglipS2Encoder(config)
        self.projector = nn.Sequential(
            nn.Linear(config.feature_channels, text_width), nn.GELU(), nn.Linear(text_width, text_width)
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.projector(self.encoder(pixel_values))


class BunnyS2ForCausalLM(VisionLanguageForCausalLM):
    config_class = BunnyS2Config
    _no_split_modules = ["SiglipEncoderLayer", "Phi3DecoderLayer", "LlamaDecoderLayer"]

    def __init__(self, config: BunnyS2Config) -> None:
        super().__init__(config)
        model_type = getattr(config.text_config, "model_type", None)
        if model_type not in LANGUAGE_MODELS:
            raise ValueError(f"Bunny S2 language model {model_type!r} not supported (known: {sorted(LANGUAGE_MODELS)})")
        self.build(BunnyS2Vision(config), LANGUAGE_MODELS[model_type](config.text_config))
        self.post_init()
