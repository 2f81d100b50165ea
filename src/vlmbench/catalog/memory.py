"""Estimate the device memory a catalog model needs before loading it.

    total = weights + KV cache + activations + runtime overhead

- weights: parameters (meta-device count) x bytes per element of the dtype;
- KV cache: 2 (K and V) x layers x KV heads x head dim x batch x (prompt + output tokens) x bytes,
  prompt = visual tokens + ``TEXT_TOKENS`` text tokens; where the model class states its cache layout
  (``kv_cache_layout(config)`` -> self-attention layers, cross-attention layers, image rows per image:
  Llama 3.2 Vision), only the self-attention layers grow with the sequence and each cross-attention
  layer holds the image's K/V rows (one image: 8 x 2 x 8 x 128 x 4 x 1601 x 2 bytes = 0.20 GiB at 11B bf16);
- activations (prefill, the peak): batch x prompt x (6 x hidden + 2 x FFN width) x bytes for one
  layer's working set (a mixture of experts: FFN width = k routed experts x expert width),
  plus fp32 logits for the last position (batch x vocab x 4 x 2);
- overhead: the CUDA context and allocator slack (``CUDA_OVERHEAD_MB``) or the interpreter and
  libraries on the CPU (``CPU_OVERHEAD_MB``).

It is deliberately simple and errs on the large side; it decides what is *not tried* (rows
``status=skipped``), while a real out-of-memory is still caught and recorded as ``oom``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from vlmbench.catalog.entry import CatalogEntry

MIB = 1024.0 * 1024.0
TEXT_TOKENS = 64
CUDA_OVERHEAD_MB = 600.0
CPU_OVERHEAD_MB = 800.0  # measured: a forkserver worker's RSS beyond weights is 665-710 MiB (bench/memory_estimate_vs_peak.py)
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class MemoryEstimate:
    weights_mb: float
    kv_cache_mb: float
    activations_mb: float
    overhead_mb: float

    @property
    def total_mb(self) -> float:
        return self.weights_mb + self.kv_cache_mb + self.activations_mb + self.overhead_mb

    def describe(self) -> str:
        gib = 1024.0
        return (f"estimated {self.total_mb / gib:.1f} GiB (weights {self.weights_mb / gib:.1f} + KV cache "
                f"{self.kv_cache_mb / gib:.1f} + activations {self.activations_mb / gib:.1f} + overhead "
                f"{self.overhead_mb / gib:.1f})")


def _text_config(config: Any) -> Any:
    getter = getattr(config, "get_text_config", None)
    text = getter() if getter else None
    return text if text is not None else getattr(config, "text_config", config)


def _first(cfg: Any, *names: str, default: Optional[int] = None) -> Optional[int]:
    for n in names:
        v = getattr(cfg, n, None)
        if isinstance(v, int) and v > 0:
            return v
    return default


def dtype_bytes(dtype_name: str) -> int:
    return _DTYPE_BYTES.get(dtype_name.removeprefix("torch."), 2)


def estimate(entry: CatalogEntry, batch_size: int, max_new_tokens: int, dtype_name: str = "bfloat16",
             device_type: str = "cuda", params: Optional[int] = None) -> MemoryEstimate:
    from vlmbench.catalog.describe import parameter_count

    nbytes = dtype_bytes(dtype_name)
    n_params = params if params is not None else parameter_count(entry.id)
    config = entry.build_config()
    text = _text_config(config)
    hidden = _first(text, "hidden_size", "d_model", default=4096)
    layers = _first(text, "num_hidden_layers", "num_layers", default=32)
    heads = _first(text, "num_attention_heads", "num_heads", default=32)
    kv_heads = _first(text, "num_key_value_heads", default=heads)
    head_dim = _first(text, "head_dim", "d_kv", default=hidden // heads)
    ffn = _first(text, "intermediate_size", "d_ff", default=4 * hidden)
    routed = _first(text, "num_experts_per_tok")
    expert_ffn = _first(text, "moe_intermediate_size")
    if routed and expert_ffn:  # mixture of experts: a token's FFN work is its k routed experts
        ffn = routed * expert_ffn
    vocab = _first(text, "vocab_size", default=32000)
    prompt = (entry.visual_tokens or 576) + TEXT_TOKENS
    seq = prompt + max_new_tokens
    layout = getattr(entry.model_class, "kv_cache_layout", None)
    self_layers, cross_layers, image_rows = layout(config) if layout else (layers, 0, 0)
    kv = 2 * kv_heads * head_dim * batch_size * (self_layers * seq + cross_layers * image_rows) * nbytes
    activations = batch_size * prompt * (6 * hidden + 2 * ffn) * nbytes + batch_size * vocab * 4 * 2
    overhead = CUDA_OVERHEAD_MB if device_type == "cuda" else CPU_OVERHEAD_MB
    return MemoryEstimate(n_params * nbytes / MIB, kv / MIB, activations / MIB, overhead)


def memory_rows(entries: list[CatalogEntry], device_memory_gib: float, batch_sizes: list[int],
                max_new_tokens: int, dtype_name: str, device_type: str) -> list[dict[str, Any]]:
    """Per entry and batch size: the estimate and whether it fits ``device_memory_gib``."""
    rows = []
    for e in entries:
        for b in batch_sizes:
            est = estimate(e, b, max_new_tokens, dtype_name, device_type)
            rows.append({
                "id": e.id, "batch_size": b, "max_new_tokens": max_new_tokens, "dtype": dtype_name,
                "weights_gib": est.weights_mb / 1024, "kv_cache_gib": est.kv_cache_mb / 1024,
                "activations_gib": est.activations_mb / 1024, "overhead_gib": est.overhead_mb / 1024,
                "total_gib": est.total_mb / 1024, "device_memory_gib": device_memory_gib,
                "fits": est.total_mb / 1024 <= device_memory_gib,
            })
    return rows


def memory_table(rows: list[dict[str, Any]]) -> str:
    header = ("id", "batch", "weights GiB", "KV GiB", "activations GiB", "total GiB", "fits")
    lines = [header] + [
        (r["id"], str(r["batch_size"]), f"{r['weights_gib']:.1f}", f"{r['kv_cache_gib']:.2f}",
         f"{r['activations_gib']:.2f}", f"{r['total_gib']:.1f}",
         "yes" if r["fits"] else f"no (> {r['device_memory_gib']:g})")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
