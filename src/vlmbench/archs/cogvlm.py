"""CogVLM-17B: EVA2-CLIP-E -> GLU adapter -> a Vicuna-7B-shaped LLM with a visual expert.

Facts (seed-architectures.md "CogVLM-17B"; read in THUDM/cogvlm-chat-hf ``modeling_cogvlm.py``
and ``visual.py``, and THUDM/CogVLM ``utils/utils/language.py``):

- vision: EVA2-CLIP-E (``archs/eva2_clip.py``) at 490 px (224 for cogvlm-base-224), CLS dropped
  -> 1225 (256) patch vectors;
- adapter ("GLU"): Linear(1792 -> 4096, no bias) -> LayerNorm -> GELU -> SwiGLU
  ``down(silu(gate(x)) * up(x))`` 4096 <-> 11008, bias-free (142,614,528 parameters);
- learned begin/end-of-image vectors around the patches -> 1227 (258) embeddings, placed at
  the prompt's image positions, right after BOS: ``[BOS] [BOI] patches [EOI] text``;
- every decoder layer of the Vicuna-7B-v1.5-shaped LLM (32 layers, 4096 wide, 32 heads, SwiGLU
  11008, RMSNorm, rotary, vocab 32000) holds TWO sets of weights, both bias-free: language
  (QKV 4096 -> 12288, output 4096 -> 4096, SwiGLU) and a visual expert of the same shapes
  (202,375,168 per layer). Each token goes through one set; q, k and v of all tokens then meet
  in ONE causal softmax. Routing (``get_expert_mask``): a token uses the expert when it and the
  NEXT token are image tokens, so BOI and the patches go to the expert and EOI (followed by
  text) to the language weights; generated tokens are text;
- rotary positions are compressed (``build_position_ids``): every text token, BOI and EOI
  advance the position by one, the first patch advances it by one and the other patches not
  at all, so an image occupies three positions (BOI p, all patches p + 1, EOI p + 2).

Left-padded rows (batch > 1) start at position 0 at their first real token (the public code
starts them at 1); unpadded rows follow the public rule exactly. Generation state that lives
for one request (the position offset of the next token, and CogAgent's cross-attention keys
and values) is a ``RequestState`` created at prefill and handed from step to step by
``generate`` through its model kwargs, like the KV cache; a new prompt gets a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache, LlamaConfig, PretrainedConfig
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.models.llama.modeling_llama import (
    LlamaMLP,
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
)

from vlmbench.archs.base import VisionLanguageConfig, VisionLanguageForCausalLM
from vlmbench.archs.eva2_clip import EVA2CLIPEncoder, EVA2CLIPVisionConfig

# transformers 5.2x names the cache field of model outputs ``cache``; 5.1x ``past_key_values``.
CACHE_FIELD = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"


def as_config(value: Any, config_class: type) -> PretrainedConfig:
    if isinstance(value, PretrainedConfig):
        return value
    return config_class(**dict(value or {}))


class CogVLMConfig(VisionLanguageConfig):
    """``text_config`` (LlamaConfig shapes of the LLM) + ``vision_config`` (EVA2-CLIP-E)."""

    model_type = "vlmbench_cogvlm"

    def __init__(self, text_config: Any = None, vision_config: Any = None, image_token_id: int = 3,
                 **kwargs: Any) -> None:
        self.vision_config = as_config(vision_config, EVA2CLIPVisionConfig)
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(text_config=as_config(text_config, LlamaConfig), image_token_id=image_token_id,
                         **kwargs)

    @property
    def image_tokens(self) -> int:
        """LLM positions per image: the patches plus BOI and EOI."""
        return self.vision_config.num_patches + 2


# --- token types and positions ------------------------------------------------------------

def vision_expert_mask(image_mask: torch.Tensor) -> torch.Tensor:
    """Tokens routed to the visual expert: image tokens whose next token is an image token too."""
    mask = torch.zeros_like(image_mask)
    mask[:, :-1] = image_mask[:, :-1] & image_mask[:, 1:]
    return mask


def compressed_position_ids(image_mask: torch.Tensor, attention_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Rotary positions with each image's patches sharing one position (see module docstring).

    ``image_mask`` (batch, length) marks the [BOI, patches..., EOI] runs; padding (attention
    mask 0) does not advance the position and gets position 0.
    """
    real = torch.ones_like(image_mask) if attention_mask is None else attention_mask.bool()
    image = image_mask & real
    previous = F.pad(image[:, :-1], (1, 0), value=False)
    following = F.pad(image[:, 1:], (0, 1), value=False)
    patch = image & previous & following  # neither the run's first (BOI) nor its last (EOI) token
    previous_patch = F.pad(patch[:, :-1], (1, 0), value=False)
    advances = real & ~(patch & previous_patch)
    return (advances.long().cumsum(-1) - 1).clamp_min(0)


@dataclass
class RequestState:
    """What one request keeps between generation steps besides the KV cache."""

    rope_deltas: Optional[torch.Tensor] = None  # (batch, 1): position = cache index + delta
    has_padding: bool = False  # decided once at prefill: generated tokens add no padding
    cross_states: Optional[torch.Tensor] = None  # CogAgent: high-res features, prefill only
    cross_kv: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)  # CogAgent, per layer


@dataclass
class CogVLMCausalLMOutput(CausalLMOutputWithPast):
    request_state: Optional[RequestState] = None


# --- the LLM with the visual expert -------------------------------------------------------

def route(hidden_states: torch.Tensor, expert_mask: Optional[torch.Tensor], vision: nn.Module,
          language: nn.Module, out_features: int) -> torch.Tensor:
    """Apply ``vision`` to the rows selected by ``expert_mask`` and ``language`` to the rest."""
    if expert_mask is None:
        return language(hidden_states)
    out = hidden_states.new_empty(*hidden_states.shape[:-1], out_features)
    out[expert_mask] = vision(hidden_states[expert_mask])
    out[~expert_mask] = language(hidden_states[~expert_mask])
    return out


@dataclass
class LayerInputs:
    """Everything a decoder layer needs besides the hidden states (shared by all layers)."""

    expert_mask: Optional[torch.Tensor]
    position_embeddings: tuple[torch.Tensor, torch.Tensor]
    attention_mask: Optional[torch.Tensor]  # boolean (batch, 1, q, kv) or None
    is_causal: bool
    cache: Any
    state: RequestState


class VisualExpertAttention(nn.Module):
    """Expert-routed QKV and output projections around one shared causal softmax."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        width = config.hidden_size
        self.language_expert_qkv = nn.Linear(width, 3 * width, bias=False)
        self.vision_expert_qkv = nn.Linear(width, 3 * width, bias=False)
        self.language_expert_dense = nn.Linear(width, width, bias=False)
        self.vision_expert_dense = nn.Linear(width, width, bias=False)

    def forward(self, hidden_states: torch.Tensor, inputs: LayerInputs) -> torch.Tensor:
        batch, length, _ = hidden_states.shape
        qkv = route(hidden_states, inputs.expert_mask, self.vision_expert_qkv, self.language_expert_qkv,
                    3 * self.hidden_size)
        query, key, value = (t.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
                             for t in qkv.split(self.hidden_size, dim=-1))
        cos, sin = inputs.position_embeddings
        query, key = apply_rotary_pos_emb(query, key, cos, sin)
        if inputs.cache is not None:
            key, value = inputs.cache.update(key, value, self.layer_idx)
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=inputs.attention_mask,
                                                 is_causal=inputs.is_causal)
        context = context.transpose(1, 2).reshape(batch, length, self.hidden_size)
        return route(context, inputs.expert_mask, self.vision_expert_dense, self.language_expert_dense,
                     self.hidden_size)


class VisualExpertMLP(nn.Module):
    """Two bias-free SwiGLU MLPs of the same shape; image tokens use ``vision_mlp``."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.language_mlp = LlamaMLP(config)
        self.vision_mlp = LlamaMLP(config)
        self.hidden_size = config.hidden_size

    def forward(self, hidden_states: torch.Tensor, expert_mask: Optional[torch.Tensor]) -> torch.Tensor:
        return route(hidden_states, expert_mask, self.vision_mlp, self.language_mlp, self.hidden_size)


class CogVLMDecoderLayer(nn.Module):
    """Pre-RMSNorm layer: expert self-attention, then the expert MLP, each with a residual."""

    def __init__(self, config: LlamaConfig, layer_idx: int) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.input_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.self_attn = VisualExpertAttention(config, layer_idx)
        self.post_attention_layernorm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.mlp = VisualExpertMLP(config)

    def after_self_attention(self, hidden_states: torch.Tensor, inputs: LayerInputs) -> torch.Tensor:
        """Hook between attention and MLP (CogAgent's cross-attention goes here)."""
        return hidden_states

    def forward(self, hidden_states: torch.Tensor, inputs: LayerInputs) -> torch.Tensor:
        hidden_states = hidden_states + self.self_attn(self.input_layernorm(hidden_states), inputs)
        hidden_states = self.after_self_attention(hidden_states, inputs)
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states), inputs.expert_mask)


def attention_mask_4d(attention_mask: Optional[torch.Tensor], q_len: int, kv_len: int,
                      device: torch.device) -> tuple[Optional[torch.Tensor], bool]:
    """(boolean mask or None, is_causal) for scaled_dot_product_attention.

    ``attention_mask`` is None when the request has no padding: then no mask is built
    (``is_causal`` on a fresh prefill). With padding: causal AND key is real; query rows that
    would see no key at all (left padding) see every key instead, so no row is all -inf (NaN)
    and real rows are unaffected.
    """
    past = kv_len - q_len
    if attention_mask is None:
        if q_len == 1 or past == 0:
            return None, q_len > 1
        attention_mask = torch.ones(1, kv_len, dtype=torch.bool, device=device)
    query_pos = torch.arange(q_len, device=device)[:, None] + past
    causal = torch.arange(kv_len, device=device)[None, :] <= query_pos
    mask = causal[None, None] & attention_mask[:, None, None, -kv_len:].bool()
    return mask | ~mask.any(dim=-1, keepdim=True), False


class CogVLMLanguageModel(nn.Module):
    """Token embedding, the expert decoder layers, final RMSNorm (the LM head is outside)."""

    def __init__(self, config: LlamaConfig,
                 make_layer: Callable[[LlamaConfig, int], nn.Module] = CogVLMDecoderLayer) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(make_layer(config, i) for i in range(config.num_hidden_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary_emb = LlamaRotaryEmbedding(config=config)

    def get_input_embeddings(self) -> nn.Module:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embed_tokens = value

    def forward(self, inputs_embeds: torch.Tensor, position_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor], expert_mask: Optional[torch.Tensor],
                cache: Any, state: RequestState) -> torch.Tensor:
        q_len = inputs_embeds.shape[1]
        kv_len = q_len + (cache.get_seq_length() if cache is not None else 0)
        mask, is_causal = attention_mask_4d(attention_mask, q_len, kv_len, inputs_embeds.device)
        inputs = LayerInputs(
            expert_mask=expert_mask,
            position_embeddings=self.rotary_emb(inputs_embeds, position_ids),
            attention_mask=mask,
            is_causal=is_causal,
            cache=cache,
            state=state,
        )
        hidden_states = inputs_embeds
        for layer in self.layers:
            hidden_states = layer(hidden_states, inputs)
        return self.norm(hidden_states)


# --- the vision half ----------------------------------------------------------------------

class CogVLMAdapter(nn.Module):
    """The "GLU" adapter: Linear(no bias) -> LayerNorm -> GELU -> bias-free SwiGLU."""

    def __init__(self, vision_width: int, text_config: LlamaConfig) -> None:
        super().__init__()
        self.linear_proj = nn.Linear(vision_width, text_config.hidden_size, bias=False)
        self.norm1 = nn.LayerNorm(text_config.hidden_size)
        self.act1 = nn.GELU()
        self.swiglu = LlamaMLP(text_config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.swiglu(self.act1(self.norm1(self.linear_proj(x))))


class CogVLMVision(nn.Module):
    """EVA2-CLIP-E -> drop CLS -> adapter -> [BOI, patches, EOI] (images, patches + 2, hidden)."""

    def __init__(self, vision_config: EVA2CLIPVisionConfig, text_config: LlamaConfig) -> None:
        super().__init__()
        self.encoder = EVA2CLIPEncoder(vision_config)
        self.adapter = CogVLMAdapter(vision_config.hidden_size, text_config)
        self.boi = nn.Parameter(torch.zeros(1, 1, text_config.hidden_size))
        self.eoi = nn.Parameter(torch.zeros(1, 1, text_config.hidden_size))

    def patch_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixel_values)[:, 1:]

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.adapter(self.patch_features(pixel_values))
        n = x.shape[0]
        return torch.cat((self.boi.expand(n, -1, -1), x, self.eoi.expand(n, -1, -1)), dim=1)


# --- the model ----------------------------------------------------------------------------

class CogVLMForCausalLM(VisionLanguageForCausalLM):
    """``vision`` (CogVLMVision), ``language_model`` (expert LLM), ``lm_head``; ``generate()``-able."""

    config_class = CogVLMConfig
    image_input_names = ("pixel_values",)
    vision_class: type = CogVLMVision
    _no_split_modules = ["CogVLMDecoderLayer", "EVA2OutputNormLayer"]

    def __init__(self, config: CogVLMConfig) -> None:
        super().__init__(config)
        self.build_modules(config)
        self.post_init()

    def build_modules(self, config: CogVLMConfig) -> None:
        text = config.text_config
        self.build(self.vision_class(config.vision_config, text),
                   CogVLMLanguageModel(text, self.make_decoder_layer))
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=False)

    def make_decoder_layer(self, text_config: LlamaConfig, layer_idx: int) -> nn.Module:
        return CogVLMDecoderLayer(text_config, layer_idx)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def start_request(self, image_inputs: dict[str, torch.Tensor]) -> RequestState:
        """State for a new prompt (CogAgent adds its high-resolution features)."""
        return RequestState()

    def decode_unread_modules(self) -> list[nn.Module]:
        """Decoder modules a decode step does not run (for the roofline, metrics/roofline.py):
        generated tokens are text, so no layer's visual expert (QKV, output projection, MLP) runs."""
        return [m for layer in self.language_model.layers
                for m in (layer.self_attn.vision_expert_qkv, layer.self_attn.vision_expert_dense, layer.mlp.vision_mlp)]

    @staticmethod
    def prompt_positions(image_mask: Optional[torch.Tensor], attention_mask: Optional[torch.Tensor],
                         inputs_embeds: torch.Tensor, past: int, state: RequestState) -> torch.Tensor:
        """Compressed positions of the prompt; records the offset later tokens continue from."""
        length = inputs_embeds.shape[1]
        if image_mask is None:
            image_mask = torch.zeros(inputs_embeds.shape[:2], dtype=torch.bool, device=inputs_embeds.device)
        chunk_mask = attention_mask[:, -length:] if attention_mask is not None else None
        positions = compressed_position_ids(image_mask, chunk_mask) + past
        state.rope_deltas = positions[:, -1:] + 1 - (past + length)
        return positions

    def forward(
        self,
        input_ids: Optional[torch.LongTensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.LongTensor] = None,
        inputs_embeds: Optional[torch.Tensor] = None,
        pixel_values: Optional[torch.Tensor] = None,
        cache: Any = None,
        past_key_values: Any = None,
        use_cache: Optional[bool] = None,
        request_state: Optional[RequestState] = None,
        logits_to_keep: int = 0,
        **kwargs: Any,
    ) -> CogVLMCausalLMOutput:
        other_image_inputs = {k: kwargs.pop(k) for k in self.image_input_names if kwargs.get(k) is not None}
        cache = cache if cache is not None else past_key_values
        if use_cache is None:
            use_cache = getattr(self.config.text_config, "use_cache", True)
        if use_cache and cache is None:
            cache = DynamicCache()
        past = cache.get_seq_length() if cache is not None else 0

        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        image_mask = None
        if pixel_values is not None and input_ids is not None:
            image_mask = input_ids == self.config.image_token_id
            inputs_embeds = self.merge(input_ids, inputs_embeds, self.vision(pixel_values))
        length = inputs_embeds.shape[1]

        if request_state is None or past == 0:  # a new prompt (or no cache): fresh state
            request_state = self.start_request(other_image_inputs)
            request_state.has_padding = attention_mask is not None and not bool(attention_mask.all())
            positions = self.prompt_positions(image_mask, attention_mask, inputs_embeds, past, request_state)
        else:
            positions = torch.arange(past, past + length, device=inputs_embeds.device)[None] + request_state.rope_deltas
        if position_ids is not None:
            positions = position_ids

        expert_mask = vision_expert_mask(image_mask) if image_mask is not None else None
        padding_mask = attention_mask if request_state.has_padding else None
        hidden = self.language_model(inputs_embeds, positions, padding_mask, expert_mask, cache, request_state)
        request_state.cross_states = None  # folded into per-layer keys/values by now
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        return CogVLMCausalLMOutput(logits=self.lm_head(hidden), request_state=request_state,
                                    **{CACHE_FIELD: cache if use_cache else None})

    def _prepare_position_ids_for_generation(self, inputs_tensor: torch.Tensor, model_kwargs: dict[str, Any]) -> None:
        """No generic positions from ``generate`` (cumsum of the attention mask): the model
        computes its compressed ones at prefill and continues them from ``RequestState``."""
        return None

    def _update_model_kwargs_for_generation(self, outputs: Any, model_kwargs: dict[str, Any],
                                            *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Hand the request's state to the next step, as the KV cache is handed."""
        model_kwargs = super()._update_model_kwargs_for_generation(outputs, model_kwargs, *args, **kwargs)
        model_kwargs["request_state"] = outputs.request_state
        return model_kwargs
