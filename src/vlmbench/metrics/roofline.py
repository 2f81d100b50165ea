"""Roofline of decoding at batch 1: the least time a decode step can take if it only had to
read its bytes from memory at the measured bandwidth, and the measured TPOT as a fraction of it.

At batch 1 a decode step does little arithmetic per byte: it must read every weight it uses
and the whole KV cache once, so ``t >= bytes / bandwidth``. Formulas (METRICS.md, "Roofline"):

- ``W`` weight bytes read per decode token (:func:`decode_traffic`);
- ``C`` KV-cache bytes per position of context = ``2 x L x H_kv x d_head x s``
  (K and V, ``L`` decoder layers, ``H_kv`` key/value heads, ``d_head`` head dimension,
  ``s`` bytes per element of the cache, the model's dtype);
- bytes per decode token ``Q = W + C x (n_prompt + n_out / 2)``: decode step ``j``
  (``j = 1 .. n_out - 1``) attends to ``n_prompt + j`` positions, whose mean is
  ``n_prompt + n_out / 2``;
- bound ``t_min = Q / B_mem`` (``B_mem`` from :mod:`vlmbench.measure.bandwidth`);
- ``roofline_fraction = t_min / tpot``: 1.0 = decoding at the bandwidth bound, 0.5 = twice
  as slow as the bound. Only at batch 1 (a batch shares each weight read among its rows).

What ``Q`` leaves out (it is a *lower* bound): activations, logits, the input-embedding rows,
and any extra bytes an implementation reads (a static cache attends over its whole
allocated length; padding). What it approximates: mixture-of-experts layers are counted with
only ``k`` of their ``E`` experts (``k/E`` of the expert weights: a token visits ``k`` experts
per layer); weights used only for image tokens (e.g. CogVLM's visual experts) are counted as
if read at every step, which makes the bound a little too high for those models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch


@dataclass(frozen=True)
class DecodeTraffic:
    """Bytes a decode step reads at batch 1.

    ``weight_bytes`` (W): sum over parameters of numel x element size, leaving out the vision
    stage (encoder + projector: they run once, at prefill) and the input-embedding table (one
    row per token is read), unless that table is tied to the output head; mixture-of-experts
    expert weights (parameters under ``.experts.``, not shared experts) count ``k/E``.
    ``kv_bytes_per_position`` (C): ``2 x L x H_kv x d_head x s``.
    """

    weight_bytes: float
    kv_bytes_per_position: float
    moe_active_fraction: Optional[float] = None  # k / E where the decoder is a mixture of experts

    def bytes_per_token(self, n_prompt: int, n_out: int) -> float:
        """``Q = W + C x (n_prompt + n_out / 2)`` bytes, averaged over the decode steps."""
        return self.weight_bytes + self.kv_bytes_per_position * (n_prompt + n_out / 2.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "weight_bytes_per_token": int(self.weight_bytes),
            "kv_bytes_per_position": int(self.kv_bytes_per_position),
            "moe_active_fraction": self.moe_active_fraction,
        }


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


def decode_traffic(model: torch.nn.Module,
                   vision_modules: Sequence[torch.nn.Module]) -> tuple[Optional[DecodeTraffic], str]:
    """(traffic, "ok") or (None, why the bound cannot be stated for this model)."""
    config = model.config
    if getattr(config, "is_encoder_decoder", False):
        return None, "encoder-decoder model: decode reads only the decoder, not modelled"
    text = _text_config(model)
    layers = getattr(text, "num_hidden_layers", None)
    heads = getattr(text, "num_attention_heads", None)
    kv_heads = getattr(text, "num_key_value_heads", None) or heads
    head_dim = getattr(text, "head_dim", None)
    if head_dim is None and heads:
        hidden = getattr(text, "hidden_size", None)
        head_dim = hidden // heads if hidden else None
    if not (layers and kv_heads and head_dim):
        return None, "decoder shapes (layers, key/value heads, head dim) not found in the config"

    skip = {id(p) for m in vision_modules for p in m.parameters()}
    try:
        table = model.get_input_embeddings()
        head = model.get_output_embeddings()
    except (NotImplementedError, AttributeError):
        table = head = None
    if table is not None and not (head is not None and head.weight is table.weight):
        skip.add(id(table.weight))

    moe = _moe_fraction(text)
    weights = 0.0
    for name, p in model.named_parameters():
        if id(p) in skip:
            continue
        size = p.numel() * p.element_size()
        weights += size * moe if moe is not None and _is_expert_weight(name) else size
    dtype_bytes = torch.tensor([], dtype=next(model.parameters()).dtype).element_size()
    kv = 2.0 * layers * kv_heads * head_dim * dtype_bytes
    return DecodeTraffic(weights, kv, moe), "ok"


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
