"""Mini-Gemini (MGM): dual vision encoders with patch info mining, then a causal LM.

Facts (seed-architectures.md "MiniGemini / MGM"; read in dvlab-research/MGM
``mgm/model/mgm_arch.py`` ``encode_images``/``unified_resampler`` and
``multimodal_encoder/{clip,openclip}_encoder.py``):

- low resolution: CLIP ViT-L/14-336 (transformers ``CLIPVisionModel``), output of layer -2,
  CLS dropped -> 576 tokens x 1024 per 336 crop (all 24 layers run, as in the original);
- high resolution: ConvNeXt-L stem + stages on the ``image_size_aux`` view (768; HD 1536),
  the four stage outputs fused at input/4 -> 2880 channels (``archs/convnext_aux.py``);
- patch info mining: each low-res token queries the 8x8 = 64 high-res positions of its own
  sub-window; q = LN + Linear(1024->1024), k, v = LN + Linear(2880->1024) each; one head,
  scores scaled by 1/sqrt(1024), softmax over the 64; the result is added to the token
  (6,963,456 parameters, ``param-counts.json`` ``mgm_uni_projectors``);
- projector mlp2x_gelu: Linear(1024->d), GELU, Linear(d->d);
- HD (``image_grid`` 2, ``image_global``): the low-res input is four 336 tiles of a 672 view
  plus a 336 global view, all five through CLIP in one batch; the high-res map is cut into the
  same 2x2 tiles for the tiles, and bilinearly shrunk by 2 for the global view; the LLM gets
  [global 576, tile 0..3 x 576] = 2880 tokens.

LLMs are transformers classes (Llama for Vicuna/Llama-3/Yi, Gemma, Mixtral). Generation,
KV cache and the placeholder splice come from ``archs/base.py``.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn
from transformers import (
    CONFIG_MAPPING,
    AutoConfig,
    CLIPVisionConfig,
    CLIPVisionModel,
    ConvNextConfig,
    GemmaForCausalLM,
    LlamaForCausalLM,
    MixtralForCausalLM,
    PretrainedConfig,
)

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.convnext_aux import ConvNeXtMultiScale

LANGUAGE_MODELS = {"llama": LlamaForCausalLM, "gemma": GemmaForCausalLM, "mixtral": MixtralForCausalLM}


def _as_config(value: Any, default_class: type) -> PretrainedConfig:
    """A sub-config from a config object or its ``to_dict()`` form (``model_type`` picks the class)."""
    if isinstance(value, PretrainedConfig):
        return value
    value = dict(value or {})
    model_type = value.pop("model_type", None)
    config_class = CONFIG_MAPPING[model_type] if model_type in CONFIG_MAPPING else default_class
    return config_class(**value)


class MGMConfig(VisionLanguageConfig):
    """``vision_config`` (CLIP), ``aux_config`` (ConvNeXt), ``text_config`` (the LLM) and the
    HD layout: ``image_grid`` tiles per side and ``image_global`` (an extra whole-image view).
    ``image_size_aux`` (768; HD 1536) is the side of the high-res view the processor makes."""

    model_type = "vlmbench_mgm"
    sub_configs = {"text_config": AutoConfig, "vision_config": CLIPVisionConfig,
                   "aux_config": ConvNextConfig}

    def __init__(self, vision_config: Any = None, aux_config: Any = None, text_config: Any = None,
                 image_size_aux: int = 768, image_grid: int = 1, image_global: bool = False,
                 vision_feature_layer: int = -2, image_token_id: int = 3, **kwargs: Any) -> None:
        self.vision_config = _as_config(vision_config, CLIPVisionConfig)
        self.aux_config = _as_config(aux_config, ConvNextConfig)
        self.image_size_aux = image_size_aux
        self.image_grid = image_grid
        self.image_global = image_global
        self.vision_feature_layer = vision_feature_layer
        text_config = None if text_config is None else _as_config(text_config, PretrainedConfig)
        super().__init__(text_config=text_config, image_token_id=image_token_id, **kwargs)

    @property
    def tokens_per_crop(self) -> int:
        return (self.vision_config.image_size // self.vision_config.patch_size) ** 2

    @property
    def crops_per_image(self) -> int:
        """CLIP passes per image: the grid tiles, plus the global view in HD."""
        return self.image_grid ** 2 + (1 if self.image_global and self.image_grid > 1 else 0)

    @property
    def visual_tokens(self) -> int:
        return self.tokens_per_crop * self.crops_per_image


class PatchInfoMining(nn.Module):
    """Each low-res token attends to the high-res positions of its own sub-window.

    ``forward(low_res (N, T, C), high_res (N, C_aux, H, W))``: the T tokens form a sqrt(T)
    square grid; the map is cut into the same grid of (H/sqrt(T)) x (W/sqrt(T)) windows
    (8x8 = 64 positions for 24x24 tokens over a 192x192 map). One head, width C.
    """

    def __init__(self, low_res_channels: int, high_res_channels: int) -> None:
        super().__init__()
        self.query = nn.Sequential(nn.LayerNorm(low_res_channels), nn.Linear(low_res_channels, low_res_channels))
        self.key = nn.Sequential(nn.LayerNorm(high_res_channels), nn.Linear(high_res_channels, low_res_channels))
        self.value = nn.Sequential(nn.LayerNorm(high_res_channels), nn.Linear(high_res_channels, low_res_channels))

    @staticmethod
    def windows(high_res: torch.Tensor, side: int) -> torch.Tensor:
        """(N, C, H, W) -> (N, side*side, window positions, C), windows in row-major order."""
        n, channels, height, width = high_res.shape
        if height % side or width % side:
            raise ValueError(f"high-res map {height}x{width} does not split into {side}x{side} windows")
        wh, ww = height // side, width // side
        grid = high_res.permute(0, 2, 3, 1).reshape(n, side, wh, side, ww, channels)
        return grid.permute(0, 1, 3, 2, 4, 5).reshape(n, side * side, wh * ww, channels)

    def forward(self, low_res: torch.Tensor, high_res: torch.Tensor) -> torch.Tensor:
        side = math.isqrt(low_res.shape[1])
        if side * side != low_res.shape[1]:
            raise ValueError(f"{low_res.shape[1]} low-res tokens do not form a square grid")
        windows = self.windows(high_res.to(low_res.dtype), side)
        query = self.query(low_res).unsqueeze(2)  # (N, T, 1, C)
        key = self.key(windows)  # (N, T, positions, C)
        value = self.value(windows)
        scores = query @ (key.transpose(-1, -2) / math.sqrt(key.shape[-1]))  # (N, T, 1, positions)
        mined = scores.nan_to_num().softmax(dim=-1) @ value
        return low_res + mined.squeeze(2)


def split_into_tiles(feature_map: torch.Tensor, grid: int) -> torch.Tensor:
    """(N, C, H, W) -> (N * grid**2, C, H/grid, W/grid), tiles row-major per image."""
    n, channels, height, width = feature_map.shape
    tiles = feature_map.reshape(n, channels, grid, height // grid, grid, width // grid)
    return tiles.permute(0, 2, 4, 1, 3, 5).reshape(n * grid * grid, channels, height // grid, width // grid)


class MGMVisionPipeline(nn.Module):
    """pixel_values (+ pixel_values_aux) -> visual embeddings (images, 576 | 2880, LLM width).

    ``pixel_values``: (B, 3, 336, 336), or in HD (B, grid**2 [+1 global], 3, 336, 336) with
    the tiles first and the global view last (the order of MGM's preprocessing).
    ``pixel_values_aux``: (B, 3, image_size_aux, image_size_aux).
    """

    def __init__(self, config: MGMConfig) -> None:
        super().__init__()
        self.config = config
        self.clip = CLIPVisionModel(config.vision_config)
        self.convnext = ConvNeXtMultiScale(config.aux_config)
        clip_width = config.vision_config.hidden_size
        self.mining = PatchInfoMining(clip_width, self.convnext.out_channels)
        text_width = config.text_config.hidden_size
        self.projector = nn.Sequential(nn.Linear(clip_width, text_width), nn.GELU(), nn.Linear(text_width, text_width))

    def low_res_features(self, crops: torch.Tensor) -> torch.Tensor:
        """(crops, 3, 336, 336) -> (crops, 576, 1024): CLIP layer -2 without CLS."""
        out = self.clip(pixel_values=crops, output_hidden_states=True)
        return out.hidden_states[self.config.vision_feature_layer][:, 1:]

    def mined_features(self, pixel_values: torch.Tensor, pixel_values_aux: torch.Tensor) -> torch.Tensor:
        """Low-res tokens after patch info mining, before the projector: (B, tokens, 1024)."""
        grid = self.config.image_grid
        high_res = self.convnext(pixel_values_aux)
        if grid == 1:
            return self.mining(self.low_res_features(pixel_values), high_res)
        batch, n_tiles = pixel_values.shape[0], grid * grid
        views = [pixel_values[:, :n_tiles].flatten(0, 1)]
        if self.config.image_global:
            views.append(pixel_values[:, n_tiles])
        low_res = self.low_res_features(torch.cat(views))
        tiles = self.mining(low_res[: batch * n_tiles], split_into_tiles(high_res, grid))
        parts = [tiles.reshape(batch, n_tiles * tiles.shape[1], tiles.shape[2])]
        if self.config.image_global:
            shrunk = F.interpolate(high_res.float(), size=(high_res.shape[-2] // grid, high_res.shape[-1] // grid),
                                   mode="bilinear", align_corners=False).to(high_res.dtype)
            parts.insert(0, self.mining(low_res[batch * n_tiles:], shrunk))
        return torch.cat(parts, dim=1)

    def forward(self, pixel_values: torch.Tensor, pixel_values_aux: Optional[torch.Tensor] = None) -> torch.Tensor:
        if pixel_values_aux is None:
            raise ValueError("MGM needs pixel_values_aux (the high-resolution view)")
        return self.projector(self.mined_features(pixel_values, pixel_values_aux))


class MGMForCausalLM(VisionLanguageForCausalLM):
    config_class = MGMConfig
    image_input_names = ("pixel_values", "pixel_values_aux")
    _no_split_modules = ["CLIPEncoderLayer", "ConvNextLayer", "LlamaDecoderLayer", "GemmaDecoderLayer",
                         "MixtralDecoderLayer"]

    def __init__(self, config: MGMConfig) -> None:
        super().__init__(config)
        model_type = config.text_config.model_type
        if model_type not in LANGUAGE_MODELS:
            raise ValueError(f"MGM language model {model_type!r} not supported (known: {sorted(LANGUAGE_MODELS)})")
        self.build(MGMVisionPipeline(config), LANGUAGE_MODELS[model_type](config.text_config))
        self.post_init()
        if getattr(config.text_config, "tie_word_embeddings", False):
            # Gemma shares lm_head with the embeddings. transformers ties them in ``init_weights``,
            # which ``no_init_weights`` (vlmbench's fast random init, meta counts) switches off.
            self.language_model.get_output_embeddings().weight = self.get_input_embeddings().weight

    def forward(self, input_ids: Optional[torch.LongTensor] = None, attention_mask: Optional[torch.Tensor] = None,
                position_ids: Optional[torch.LongTensor] = None, inputs_embeds: Optional[torch.Tensor] = None,
                pixel_values: Optional[torch.Tensor] = None, logits_to_keep: Union[int, torch.Tensor] = 0,
                **kwargs: Any):
        """The base forward, with ``logits_to_keep`` declared: ``generate()`` passes 1 only to models
        whose signature names it, so the prefill computes the LM head for the last position
        only, as for native transformers models (not 2,900 x 256,000 logits for MGM-HD/Gemma)."""
        return super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                               inputs_embeds=inputs_embeds, pixel_values=pixel_values,
                               logits_to_keep=logits_to_keep, **kwargs)
