"""A ConvNeXt backbone used as a high-resolution feature extractor (MGM's "aux" vision tower).

Structure (MGM ``multimodal_encoder/openclip_encoder.py``: open_clip ``convnext_large_d_320``
with ``norm_pre`` and ``head`` removed, only ``trunk.stem`` and ``trunk.stages`` kept):

- stem: Conv 4x4 stride 4 + LayerNorm (transformers ``ConvNextEmbeddings``);
- four stages (transformers ``ConvNextStage``): stage 0 keeps the stem grid, stages 1-3 start
  with LayerNorm + Conv 2x2 stride 2; ConvNeXt-L has depths 3/3/27/3 and 192/384/768/1536
  channels, 196,227,264 parameters (``param-counts.json`` ``mgm_convnext_L_stem+stages``, which
  is transformers' ``ConvNextModel`` without its final 3,072-parameter LayerNorm).

Fusion (``OpenCLIPVisionTower.backbone``): every stage output is resized bilinearly
(``align_corners=False``, computed in float32 as the original does) to the stage-0 grid,
i.e. input/4, and the four maps are concatenated along channels (2880 for ConvNeXt-L).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import ConvNextConfig
from transformers.models.convnext.modeling_convnext import ConvNextEmbeddings, ConvNextStage


class ConvNeXtMultiScale(nn.Module):
    """ConvNeXt stem + stages; ``forward`` returns all stage outputs fused at input/4."""

    def __init__(self, config: ConvNextConfig) -> None:
        super().__init__()
        self.config = config
        self.stem = ConvNextEmbeddings(config)
        self.stages = nn.ModuleList()
        in_channels = config.hidden_sizes[0]
        for index, (out_channels, depth) in enumerate(zip(config.hidden_sizes, config.depths)):
            self.stages.append(ConvNextStage(
                config, in_channels=in_channels, out_channels=out_channels,
                stride=2 if index > 0 else 1, depth=depth,
            ))
            in_channels = out_channels

    @property
    def out_channels(self) -> int:
        return sum(self.config.hidden_sizes)

    @property
    def stride(self) -> int:
        """Input pixels per fused-map position along each side (the stem's patch size)."""
        return self.config.patch_size

    def stage_outputs(self, pixel_values: torch.Tensor) -> list[torch.Tensor]:
        """The output of each stage, (images, channels_i, H / (4 * 2**i), W / (4 * 2**i))."""
        features = self.stem(pixel_values)
        outputs = []
        for stage in self.stages:
            features = stage(features)
            outputs.append(features)
        return outputs

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(images, 3, H, W) -> (images, sum of stage channels, H/4, W/4)."""
        outputs = self.stage_outputs(pixel_values)
        target = outputs[0].shape[-2:]
        fused = [outputs[0]]
        for features in outputs[1:]:
            resized = F.interpolate(features.float(), size=target, mode="bilinear", align_corners=False)
            fused.append(resized.to(features.dtype))
        return torch.cat(fused, dim=1)
