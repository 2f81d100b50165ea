"""Roofline of decoding at batch 1: the least time a decode step can take if it only had to
read its bytes from memory at the measured bandwidth, and the measured TPOT as a fraction of it.

At batch 1 a decode step does little arithmetic per byte: it must read every weight it uses
and the whole KV cache once, so ``t >= bytes / bandwidth``. Formulas (METRICS.md, "Roofline"):

- ``W`` weight bytes a decode step reads (:func:`decode_traffic`): the decoder the step runs
  and its output head, nothing else;
- ``C`` KV-cache bytes per cached position = ``2 x L x H_kv x d_head x s``
  (K and V, ``L`` decoder layers, ``H_kv`` key/value heads, ``d_head`` head dimension,
  ``s`` bytes per element of the cache, the model's dtype);
- ``X`` cross-attention keys/values every step reads, fixed per request (CogAgent: the cached
  K/V of the 6400 high-resolution positions, ``L x 2 x 6400 x 1024 x s``; Llama 3.2 Vision: its
  cross-attention layers' cached image K/V, 4 tiles x 1601 rows, and ``L`` in ``C`` counts only
  its self-attention layers, ``decode_self_attention_layers()``);
- ``Y`` cross-attention K/V per prompt position (encoder-decoder models: the decoder reads the
  cached K/V of every encoder position, ``2 x L_dec x H x d_kv x s``);
- decode step ``j`` (``j = 1 .. n_out - 1``) reads
  ``Q_j = W + X + Y x n_prompt + C x (P + j)`` bytes, where ``P`` is what the self-attention
  cache held after the first token: ``n_prompt`` for decoder-only models, 1 (the decoder start
  token) for encoder-decoder ones. Averaged over the steps (mean ``j`` = ``n_out / 2``):
  ``Q = W + X + Y x n_prompt + C x (P + n_out / 2)``;
- bound ``t_min = Q / B_mem`` (``B_mem`` from :mod:`vlmbench.measure.bandwidth`);
- ``roofline_fraction = t_min / tpot``: 1.0 = decoding at the bandwidth bound, 0.5 = twice
  as slow as the bound. Only at batch 1 (a batch shares each weight read among its rows).

What a decode step reads, per architecture (checked module by module, with forward hooks on the
tiny variants, in tests/test_trackers_roofline.py): the language model (``model.language_model``,
else ``get_decoder()``) and the output head; never the vision stage (it ran at prefill), nor
extra prefill-only parameters outside the decoder (LLaVA-NeXT's ``image_newline``, BLIP-2's
``query_tokens``); minus the modules the architecture declares unread by a decode step
(``decode_unread_modules()``: CogVLM/CogAgent's visual experts, since generated tokens are
text; CogAgent's cross-attention K/V projection and PaLI-3's decoder cross-attention K/V
projections, run once at prefill; PaLI-3's text encoder). Mixture-of-experts layers count
``k/E`` of their expert weights (a token visits ``k`` of the ``E`` experts of a layer).

What ``Q`` leaves out (it is a *lower* bound): activations, logits, the input-embedding row
of the new token, and any extra bytes an implementation reads (a static cache attends over
its whole allocated length; padding). A CogAgent prompt without an image has no
cross-attention (``X`` would be 0); vlmbench's prompts all carry one image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch


@dataclass(frozen=True)
class DecodeTraffic:
    """Bytes a decode step reads at batch 1 (see the module docstring for the terms).

    ``weight_bytes`` (W): numel x element size over the parameters a decode step reads;
    mixture-of-experts expert weights (parameters under ``.experts.``, not shared experts)
    count ``k/E``. ``kv_bytes_per_position`` (C): ``2 x L x H_kv x d_head x s``.
    ``cross_kv_bytes`` (X), ``cross_kv_bytes_per_prompt_position`` (Y): cached cross-attention
    keys/values. ``decoder_start_positions``: positions in the self-attention cache before the
    first decode step when they are not the prompt's (encoder-decoder: 1); None = the prompt.
    """

    weight_bytes: float
    kv_bytes_per_position: float
    moe_active_fraction: Optional[float] = None  # k / E where the decoder is a mixture of experts
    cross_kv_bytes: float = 0.0
    cross_kv_bytes_per_prompt_position: float = 0.0
    decoder_start_positions: Optional[int] = None

    def _fixed(self, n_prompt: int) -> tuple[float, float]:
        cached = n_prompt if self.decoder_start_positions is None else self.decoder_start_positions
        return self.weight_bytes + self.cross_kv_bytes + self.cross_kv_bytes_per_prompt_position * n_prompt, cached

    def bytes_at_step(self, n_prompt: int, step: int) -> float:
        """``Q_j`` bytes of decode step ``j = step`` (1 = the step that makes the second token)."""
        fixed, cached = self._fixed(n_prompt)
        return fixed + self.kv_bytes_per_position * (cached + step)

    def bytes_per_token(self, n_prompt: int, n_out: int) -> float:
        """``Q``: the mean of ``Q_j`` over the decode steps ``j = 1 .. n_out - 1``."""
        fixed, cached = self._fixed(n_prompt)
        return fixed + self.kv_bytes_per_position * (cached + n_out / 2.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "weight_bytes_per_token": int(self.weight_bytes),
            "kv_bytes_per_position": int(self.kv_bytes_per_position),
            "moe_active_fraction": self.moe_active_fraction,
            "cross_kv_bytes_per_token": int(self.cross_kv_bytes),
            "cross_kv_bytes_per_prompt_position": int(self.cross_kv_bytes_per_prompt_position),
            "decoder_start_positions": self.decoder_start_positions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DecodeTraffic":
        """The inverse of :meth:`to_json` (manifests written before the cross terms read as 0)."""
        return cls(float(data["weight_bytes_per_token"]), float(data["kv_bytes_per_position"]),
                   data.get("moe_active_fraction"), float(data.get("cross_kv_bytes_per_token") or 0),
                   float(data.get("cross_kv_bytes_per_prompt_position") or 0), data.get("decoder_start_positions"))


def _text_config(model: torch.nn.Module) -> Any:
    config = model.config
    getter = getattr(config, "get_text_config", None)
    return getter(decoder=True) if getter is not None else config


def _moe_fraction(text: Any) -> Optional[float]:
    k = getattr(text, "num_experts_per_tok", None)
    experts = next((getattr(text, a) for a in ("num_local_experts", "num_experts", "n_routed_experts")
                    if getattr(text, a, None)), None)
    if not k or not experts:
        return None
    return min(1.0, float(k) / float(experts))


def _is_expert_weight(name: str) -> bool:
    return ".experts." in f".{name}" and "shared_expert" not in name


def _decoder(model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """The language model a decode step runs: ``model.language_model`` (vlmbench's archs, BLIP-2,
    PaLI-3) or transformers' ``get_decoder()`` (LLaVA, LLaVA-NeXT, PaliGemma)."""
    lm = getattr(model, "language_model", None)
    if isinstance(lm, torch.nn.Module):
        return lm
    getter = getattr(model, "get_decoder", None)
    try:
        decoder = getter() if getter is not None else None
    except (AttributeError, NotImplementedError, TypeError):
        decoder = None
    return decoder if isinstance(decoder, torch.nn.Module) and decoder is not model else None


def _first(cfg: Any, *names: str) -> Optional[int]:
    return next((getattr(cfg, n) for n in names if getattr(cfg, n, None)), None)


def _kv_shapes(model: torch.nn.Module, text: Any) -> Optional[tuple[int, int, int]]:
    """(decoder layers, key/value heads, head dim) of the self-attention cache."""
    encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
    layers = _first(text, "num_decoder_layers", "num_hidden_layers", "num_layers") if encoder_decoder \
        else _first(text, "num_hidden_layers")
    heads = _first(text, "num_attention_heads", "num_heads")
    kv_heads = _first(text, "num_key_value_heads") or heads
    head_dim = _first(text, "head_dim", "d_kv")
    if head_dim is None and heads:
        hidden = _first(text, "hidden_size", "d_model")
        head_dim = hidden // heads if hidden else None
    if not (layers and kv_heads and head_dim):
        return None
    return layers, kv_heads, head_dim


def decode_traffic(model: torch.nn.Module,
                   vision_modules: Sequence[torch.nn.Module]) -> tuple[Optional[DecodeTraffic], str]:
    """(traffic, "ok") or (None, why the bound cannot be stated for this model)."""
    config = model.config
    encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
    text = _text_config(model)
    shapes = _kv_shapes(model, text)
    if shapes is None:
        return None, "decoder shapes (layers, key/value heads, head dim) not found in the config"
    layers, kv_heads, head_dim = shapes
    self_layers = getattr(model, "decode_self_attention_layers", None)
    if self_layers is not None:  # the other decoder layers cache the image's K/V (counted in X)
        layers = int(self_layers())
    unread = getattr(model, "decode_unread_modules", None)
    unread_modules = list(unread()) if unread is not None else []
    if encoder_decoder and unread is None:
        return None, "encoder-decoder model without decode_unread_modules(): what a decode step reads is not known"

    try:
        table = model.get_input_embeddings()
        head = model.get_output_embeddings()
    except (NotImplementedError, AttributeError):
        table = head = None
    decoder = _decoder(model)
    parts = [decoder] if decoder is not None else [model]
    skip = {id(p) for m in list(vision_modules) + unread_modules for p in m.parameters()}
    if table is not None:
        skip.add(id(table.weight))
    head_params = list(head.parameters()) if head is not None else []
    read: dict[int, tuple[str, torch.nn.Parameter]] = {}
    for part in parts:
        for name, p in part.named_parameters():
            if id(p) not in skip:
                read[id(p)] = (name, p)
    for p in head_params:  # the head is read even where it is the (tied) input table
        read.setdefault(id(p), ("lm_head.weight", p))

    moe = _moe_fraction(text)
    weights = 0.0
    for name, p in read.values():
        size = p.numel() * p.element_size()
        weights += size * moe if moe is not None and _is_expert_weight(name) else size
    dtype_bytes = torch.tensor([], dtype=next(model.parameters()).dtype).element_size()
    kv = 2.0 * layers * kv_heads * head_dim * dtype_bytes
    cross_getter = getattr(model, "decode_cross_kv_bytes", None)
    cross = float(cross_getter()) if cross_getter is not None else 0.0
    if encoder_decoder:
        # the decoder's cross-attention reads the cached K/V of every encoder position
        return DecodeTraffic(weights, kv, moe, cross, kv, decoder_start_positions=1), "ok"
    return DecodeTraffic(weights, kv, moe, cross), "ok"


class RooflineBound:
    """Least decode time per token: ``t_min_ms = Q / B_mem x 1000``, with ``Q`` from
    :meth:`DecodeTraffic.bytes_per_token` (bytes) and ``B_mem`` in bytes/s. ms/token."""

    unit = "ms/token"

    def compute(self, traffic: DecodeTraffic, bandwidth_bytes_per_s: float, n_prompt: int, n_out: int) -> float:
        return traffic.bytes_per_token(n_prompt, n_out) / bandwidth_bytes_per_s * 1000.0


class RooflineFraction:
    """Measured decode speed against the bandwidth bound: ``roofline_fraction = t_min_ms / tpot_ms``.

    Dimensionless; 1.0 = at the bound. Empty for batches larger than 1, without a TPOT
    (1-token outputs), or where the bound is not known (no bandwidth, shapes not found).
    """

    column = "roofline_fraction"
    unit = ""

    def compute(self, bound_ms: Optional[float], tpot_ms: Optional[float], batch_size: int) -> Optional[float]:
        if bound_ms is None or not tpot_ms or batch_size != 1:
            return None
        return bound_ms / tpot_ms
