"""HPT (HyperGAI): vision tower -> H-Former -> causal LLM.

Built from transformers blocks: the vision tower is ``CLIPVisionModel`` (HPT 1.0 Air; its
config's ``image_size`` 588 gives the 42x42+1 position table that HyperGAI's code obtains by
bicubic interpolation of CLIP-L-336's 24x24+1 table) or ``SiglipVisionModel`` without the
pooling head (HPT 1.5 Air @448 and Edge @490, also position-interpolated by their code); the
H-Former is ``archs.hformer.HFormer`` (``Blip2QFormerModel`` + MLP [+ fusion]); the LLM is any
transformers ``*ForCausalLM`` (``LlamaForCausalLM`` for Yi-6B and Llama-3-8B,
``Phi3ForCausalLM`` for Phi-3-mini).

Vision features, as in HyperGAI/HPT ``vlmeval/vlm/hpt*.py``: the whole tower runs and the
hidden states of layer ``vision_feature_layer`` (-2) are taken; CLIP's CLS is dropped
(``vision_drop_cls``), SigLIP has none. The H-Former's output replaces the image placeholders
(``archs.base``). See ``archs/hformer.py`` for what is known and what is assumed.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM, Blip2QFormerConfig, PretrainedConfig

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.hformer import HFormer


class HPTConfig(VisionLanguageConfig):
    """HPT shapes: ``vision_config`` (CLIP or SigLIP vision config), ``text_config`` (the LLM's)
    and the H-Former's fields (plain values, so the config serialises as JSON).

    Fields are set in ``__init__`` (no annotated class attributes: transformers 5.24 turns
    config subclasses into dataclasses).
    """

    model_type = "vlmbench_hpt"

    def __init__(
        self,
        vision_config: Optional[PretrainedConfig] = None,
        text_config: Optional[PretrainedConfig] = None,
        vision_feature_layer: int = -2,
        vision_drop_cls: bool = False,
        num_query_tokens: int = 32,
        qformer_hidden_size: int = 768,
        qformer_num_layers: int = 12,
        qformer_num_heads: int = 12,
        qformer_intermediate_size: int = 3072,
        cross_attention_frequency: int = 2,
        fusion_embed_dim: Optional[int] = None,
        fusion_num_heads: int = 8,
        image_token_id: int = 3,
        **kwargs: Any,
    ) -> None:
        self.vision_config = vision_config
        self.vision_feature_layer = vision_feature_layer
        self.vision_drop_cls = vision_drop_cls
        self.num_query_tokens = num_query_tokens
        self.qformer_hidden_size = qformer_hidden_size
        self.qformer_num_layers = qformer_num_layers
        self.qformer_num_heads = qformer_num_heads
        self.qformer_intermediate_size = qformer_intermediate_size
        self.cross_attention_frequency = cross_attention_frequency
        self.fusion_embed_dim = fusion_embed_dim
        self.fusion_num_heads = fusion_num_heads
        super().__init__(text_config=text_config, image_token_id=image_token_id, **kwargs)

    def qformer_config(self) -> Blip2QFormerConfig:
        """BERT-base Q-Former (BLIP-2 layout) cross-attending into the vision width."""
        return Blip2QFormerConfig(
            hidden_size=self.qformer_hidden_size,
            num_hidden_layers=self.qformer_num_layers,
            num_attention_heads=self.qformer_num_heads,
            intermediate_size=self.qformer_intermediate_size,
            cross_attention_frequency=self.cross_attention_frequency,
            encoder_hidden_size=self.vision_config.hidden_size,
        )

    def visual_tokens(self) -> int:
        """LLM positions per image: the query tokens plus every patch (the assumption)."""
        v = self.vision_config
        return self.num_query_tokens + (v.image_size // v.patch_size) ** 2


class HPTVision(nn.Module):
    """Vision tower + H-Former: pixel_values -> (images, 32 + patches, LLM width)."""

    def __init__(self, config: HPTConfig) -> None:
        super().__init__()
        self.feature_layer = config.vision_feature_layer
        self.drop_cls = config.vision_drop_cls
        self.tower = AutoModel.from_config(config.vision_config)
        self.hformer = HFormer(
            vision_width=config.vision_config.hidden_size,
            llm_width=config.text_config.hidden_size,
            qformer_config=config.qformer_config(),
            num_query_tokens=config.num_query_tokens,
            fusion_embed_dim=config.fusion_embed_dim,
            fusion_num_heads=config.fusion_num_heads,
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.tower(pixel_values=pixel_values, output_hidden_states=True)
        features = out.hidden_states[self.feature_layer]
        if self.drop_cls:
            features = features[:, 1:]
        return self.hformer(features)


class HPTForCausalLM(VisionLanguageForCausalLM):
    """HPT 1.0 Air / 1.5 Air / 1.5 Edge with the LLM named by ``config.text_config``."""

    config_class = HPTConfig

    def __init__(self, config: HPTConfig) -> None:
        super().__init__(config)
        self.build(HPTVision(config), AutoModelForCausalLM.from_config(config.text_config))
        self.post_init()
