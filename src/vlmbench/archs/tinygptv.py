"""TinyGPT-V: EVA ViT-g + BLIP-2 Q-Former, two linears, Phi-2 with extra norms.

Facts (seed-architectures.md "TinyGPT-V"; read in DLYuanGod/TinyGPT-V
``minigpt4/models/minigpt4.py`` / ``minigpt_v2.py`` ``encode_img``, ``base_model.py``
``init_llm`` and its replacement ``modeling_phi.py``):

- vision: EVA ViT-g/14 (BLIP-2 cut, 39 layers, width 1408) + ``ln_vision``, all tokens
  (CLS kept) into the Q-Former: transformers' ``Blip2VisionModel`` (its ``post_layernorm``
  is ``ln_vision``). 224 in stages 1-3, 448 in stage 4;
- BLIP-2 Q-Former (BERT-base, 12 layers, cross-attention into width 1408 every 2nd layer,
  text path removed) over 32 learned queries: transformers' ``Blip2QFormerModel``
  (105,137,664 parameters) + ``query_tokens`` (1, 32, 768);
- ``llama_proj`` Linear(768 -> 4096) then ``llama_proj2`` Linear(4096 -> 2560), both biased,
  no activation between: **32 visual tokens** of width 2560;
- LLM: Phi-2 (transformers ``PhiForCausalLM`` shapes) modified as in TinyGPT-V's
  ``modeling_phi.py``: ``q_layernorm``/``k_layernorm`` (LayerNorm over each head's 80
  channels, weight and bias; transformers' ``qk_layernorm=True``) and, in every decoder
  layer, ``post_layernorm``: an RMSNorm (eps 1e-6, weight only) on the attention output
  after ``dense``, before the parallel-residual sum. +2,880 parameters per layer.
  LoRA (r 64 on q, v) is trained on top; merged, it changes no shape (see the catalog).

Generation, KV cache and the placeholder splice come from ``archs/base.py``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import (
    Blip2QFormerConfig,
    Blip2QFormerModel,
    Blip2VisionConfig,
    Blip2VisionModel,
    PhiConfig,
    PhiForCausalLM,
    PretrainedConfig,
)
from transformers.models.llama.modeling_llama import LlamaRMSNorm
from transformers.models.phi.modeling_phi import PhiDecoderLayer

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.subconfigs import as_config

# TinyGPT-V's modeling_phi.py: ``self.post_layernorm = LlamaRMSNorm(config.hidden_size)``,
# i.e. LlamaRMSNorm's default epsilon.
ATTENTION_OUTPUT_NORM_EPS = 1e-6


class TinyGPTVDecoderLayer(PhiDecoderLayer):
    """Phi's parallel block with TinyGPT-V's extra RMSNorm on the attention output:

    ``h = x + post_layernorm(attn(ln(x))) + mlp(ln(x))`` (dropout as in Phi).
    """

    def __init__(self, config: PhiConfig, layer_idx: int) -> None:
        super().__init__(config, layer_idx)
        self.post_layernorm = LlamaRMSNorm(config.hidden_size, eps=ATTENTION_OUTPUT_NORM_EPS)

    def forward(self, hidden_states: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        # kwargs (mask, positions, cache, rotary embeddings) go to the attention unchanged, as
        # PhiDecoderLayer passes them: their names differ between transformers releases.
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        attn_outputs, _ = self.self_attn(hidden_states=hidden_states, **kwargs)
        attn_outputs = self.resid_dropout(self.post_layernorm(attn_outputs))
        feed_forward_hidden_states = self.resid_dropout(self.mlp(hidden_states))
        return attn_outputs + feed_forward_hidden_states + residual


class TinyGPTVPhiForCausalLM(PhiForCausalLM):
    """``PhiForCausalLM`` whose decoder layers are ``TinyGPTVDecoderLayer``s.

    The config must ask for ``qk_layernorm=True`` (TinyGPT-V always normalises q and k).
    """

    def __init__(self, config: PhiConfig) -> None:
        if not config.qk_layernorm:
            raise ValueError("TinyGPT-V's Phi-2 normalises q and k: set qk_layernorm=True")
        super().__init__(config)
        layers = self.model.layers
        for index in range(len(layers)):
            # One layer at a time, so the replaced layer's memory is reused by the next one.
            layers[index] = TinyGPTVDecoderLayer(config, index)


class TinyGPTVConfig(VisionLanguageConfig):
    """``vision_config`` (EVA ViT-g), ``qformer_config`` (BLIP-2 Q-Former), ``text_config``
    (Phi-2 with ``qk_layernorm=True``), ``num_query_tokens`` and ``bridge_width`` (the width
    between the two projection linears, 4096 in TinyGPT-V)."""

    model_type = "vlmbench_tinygptv"
    sub_configs = {"text_config": PhiConfig, "vision_config": Blip2VisionConfig,
                   "qformer_config": Blip2QFormerConfig}

    def __init__(self, vision_config: Any = None, qformer_config: Any = None, text_config: Any = None,
                 num_query_tokens: int = 32, bridge_width: int = 4096, image_token_id: int = 3,
                 **kwargs: Any) -> None:
        self.vision_config = as_config(vision_config, Blip2VisionConfig) or Blip2VisionConfig()
        self.qformer_config = as_config(qformer_config, Blip2QFormerConfig) or Blip2QFormerConfig()
        self.num_query_tokens = num_query_tokens
        self.bridge_width = bridge_width
        super().__init__(text_config=as_config(text_config, PhiConfig), image_token_id=image_token_id, **kwargs)

    @property
    def visual_tokens(self) -> int:
        return self.num_query_tokens


class TinyGPTVVision(nn.Module):
    """pixel_values (B, 3, S, S) -> (B, 32, Phi width): EVA -> Q-Former -> two linears."""

    def __init__(self, config: TinyGPTVConfig) -> None:
        super().__init__()
        qformer_width = config.qformer_config.hidden_size
        self.encoder = Blip2VisionModel(config.vision_config)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.num_query_tokens, qformer_width))
        self.qformer = Blip2QFormerModel(config.qformer_config)
        self.llama_proj = nn.Linear(qformer_width, config.bridge_width)
        self.llama_proj2 = nn.Linear(config.bridge_width, config.text_config.hidden_size)

    def query_outputs(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The Q-Former's 32 query outputs: (B, 32, 768)."""
        image_embeds = self.encoder(pixel_values=pixel_values).last_hidden_state
        queries = self.query_tokens.expand(image_embeds.shape[0], -1, -1)
        return self.qformer(query_embeds=queries, encoder_hidden_states=image_embeds).last_hidden_state

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.llama_proj2(self.llama_proj(self.query_outputs(pixel_values)))


class TinyGPTVForCausalLM(VisionLanguageForCausalLM):
    config_class = TinyGPTVConfig
    _no_split_modules = ["Blip2EncoderLayer", "Blip2QFormerLayer", "TinyGPTVDecoderLayer"]

    def __init__(self, config: TinyGPTVConfig) -> None:
        super().__init__(config)
        if not isinstance(config.text_config, PretrainedConfig):
            raise ValueError("TinyGPT-V needs a text_config (the Phi-2 LLM)")
        self.build(TinyGPTVVision(config), TinyGPTVPhiForCausalLM(config.text_config))
        self.post_init()
