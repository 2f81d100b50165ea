"""Map a twin's trace onto the real-size model: FLOPs and bytes per op class and stage.

The real model is built on the meta device (no memory, no compute) in the run's dtype, so every
width, depth, head count, vocabulary and expert count is the catalog's. For each traced record
at normalised path ``p`` the real module at ``p`` supplies the widths; the record is repeated
``n_real(p) / n_twin(p)`` times (a 2-layer twin stands for every real layer). A module the twin
ran but the real model lacks (or the reverse) contributes nothing.

Op classes and their counts (per call; ``a`` = activation bytes per element, ``w`` = weight bytes):

- ``gemm``: Linear ``2 M K N`` FLOPs, ``K N w + M (K + N) a`` bytes (M = rows that went through it,
  so MoE experts count only the tokens routed to them, visual experts only the image tokens);
  a dense Conv (``groups == 1``: patch embeddings, down-sampling) ``2 P C_in k_h k_w C_out`` with P output
  positions, run as the im2col GEMM it is; a matmul outside a Linear (``F.linear`` on a module's own
  weight, MoE grouped expert GEMMs) scales by the module's real/twin parameter ratio;
- ``grouped_conv``: a Conv with ``groups > 1`` (ConvNeXt's depthwise 7x7): ``2 P (C_in / g) k_h k_w C_out``
  FLOPs, weight + input + output bytes; no GEMM shape, so it has its own curve (against output elements
  ``P C_out``), or is bandwidth-bound where the profile has none;
- ``attention``: the twin's ``4 B H L_q L_kv d`` times the width ratio ``real / twin``, and its
  q/k/v/out bytes likewise; decode records grow by one key/value position per step;
- ``norm_elementwise``: bytes moved (inputs + outputs) times the width ratio;
- ``embedding``: rows x width x ``a`` bytes (a gather, not the whole table);
- ``lm_head``: the output projection, as a GEMM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from vlmbench.predict.trace import Trace, module_width
from vlmbench.predict.twin import PathNormaliser

OP_CLASSES = ("gemm", "grouped_conv", "attention", "norm_elementwise", "embedding", "lm_head")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def torch_dtype(name: str) -> torch.dtype:
    return _DTYPES.get(name.removeprefix("torch."), torch.bfloat16)


@dataclass
class Op:
    cls: str
    flops: float  # per call
    nbytes: float  # per call
    rows: float  # GEMM rows (M) for the efficiency curve; attention: key/value length; grouped_conv: output elements
    calls: float  # how many times (real instances x calls)
    grows: bool = False  # decode attention whose key/value length grows by one per step


@dataclass
class StageCounts:
    ops: list[Op] = field(default_factory=list)
    kernels: float = 0.0  # non-view ATen ops (each a kernel launch / dispatch)
    module_calls: float = 0.0

    def total(self, what: str, cls: Optional[str] = None) -> float:
        return sum(getattr(o, what) * o.calls for o in self.ops if cls is None or o.cls == cls)

    def by_class(self) -> dict[str, dict[str, float]]:
        return {c: {"flops": self.total("flops", c), "bytes": self.total("nbytes", c)} for c in OP_CLASSES}


@dataclass
class ModelCounts:
    model_id: str
    batch_size: int
    dtype: str
    n_prompt_tokens: int
    n_image_tokens: Optional[int]
    image_tensor_elems: int
    twin: str
    stages: dict[str, StageCounts]  # vision, prefill, decode (step 1 of the decode)
    decode_growth: float  # key/value positions added per decode step (1 for self-attention)
    params: int
    weight_bytes: float
    kv_bytes_per_position: float  # per sequence
    coverage: float  # share of the real model's Linear weights that the trace reached


def build_meta_model(entry: Any, dtype: torch.dtype) -> torch.nn.Module:
    from vlmbench.catalog.materialise import construct, default_dtype, no_init_weights

    with no_init_weights(), torch.device("meta"), default_dtype(dtype):
        return construct(entry.model_class, entry.build_config(), dtype)


def _text_config(config: Any) -> Any:
    getter = getattr(config, "get_text_config", None)
    try:
        text = getter(decoder=True) if getter else None
    except TypeError:
        text = getter() if getter else None
    return text if text is not None else config


def kv_bytes_per_position(config: Any, nbytes: int) -> float:
    text = _text_config(config)
    layers = getattr(text, "num_decoder_layers", None) or getattr(text, "num_hidden_layers", None) \
        or getattr(text, "num_layers", None) or 0
    heads = getattr(text, "num_attention_heads", None) or getattr(text, "num_heads", None) or 1
    kv = getattr(text, "num_key_value_heads", None) or heads
    hidden = getattr(text, "hidden_size", None) or getattr(text, "d_model", None) or 0
    head_dim = getattr(text, "head_dim", None) or getattr(text, "d_kv", None) or (hidden // heads if heads else 0)
    return 2.0 * layers * kv * head_dim * nbytes


def count_ops(entry: Any, trace: Trace, dtype_name: str = "bfloat16",
              model: Optional[torch.nn.Module] = None) -> ModelCounts:
    dtype = torch_dtype(dtype_name)
    model = model if model is not None else build_meta_model(entry, dtype)
    a = w = torch.tensor([], dtype=dtype).element_size()
    real: dict[str, torch.nn.Module] = {}
    n_real: dict[str, int] = {}
    normalise_path = PathNormaliser(model)
    for name, m in model.named_modules():
        p = normalise_path(name)
        n_real[p] = n_real.get(p, 0) + 1
        real.setdefault(p, m)
    try:
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        head = None
    head_paths = {normalise_path(n) for n, m in model.named_modules() if head is not None and m is head}

    def ratio(p: str) -> float:
        rw = module_width(real[p]) if p in real else None
        tw = trace.twin_widths.get(p)
        return rw / tw if rw and tw else 1.0

    real_params: dict[str, int] = {}

    def param_ratio(p: str) -> float:
        """Matmuls on a module's own weights (F.linear, grouped expert GEMMs) scale with its parameters."""
        if p not in real_params:
            real_params[p] = sum(t.numel() for t in real[p].parameters()) if p in real else 0
        tw = trace.twin_params.get(p, 0)
        return real_params[p] / tw if tw and real_params[p] else ratio(p) ** 2

    def mult(p: str) -> float:
        return n_real.get(p, 0) / max(1, trace.twin_instances.get(p, 1))

    stages: dict[str, StageCounts] = {}
    reached: set[str] = set()
    growth = 0.0
    for (stage, step), table in trace.ops.items():
        if stage == "decode" and step != 1:
            continue
        sc = stages.setdefault(stage, StageCounts())
        for (p, kind, rows), rec in table.items():
            if p not in real or mult(p) == 0:
                continue
            m = real[p]
            k = mult(p) * rec.count
            if kind == "linear" and isinstance(m, torch.nn.Linear):
                fl = 2.0 * rows * m.in_features * m.out_features
                by = m.in_features * m.out_features * w + rows * (m.in_features + m.out_features) * a
                sc.ops.append(Op("lm_head" if p in head_paths else "gemm", fl, by, rows, k))
                reached.add(p)
            elif kind == "conv" and isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
                kernel = m.weight.numel() // m.out_channels  # (C_in / g) x k_h x k_w
                fl = 2.0 * rows * kernel * m.out_channels
                if m.groups > 1:
                    by = m.weight.numel() * w + rows * (m.in_channels + m.out_channels) * a
                    sc.ops.append(Op("grouped_conv", fl, by, rows * m.out_channels, k))
                else:
                    by = m.weight.numel() * w + rows * (m.out_channels + kernel) * a
                    sc.ops.append(Op("gemm", fl, by, rows, k))
            elif kind == "embedding" and isinstance(m, torch.nn.Embedding):
                sc.ops.append(Op("embedding", 0.0, rows * m.embedding_dim * a + rows * 8, rows, k))
            elif kind == "attention":
                r = ratio(p)
                grows = stage == "decode"
                sc.ops.append(Op("attention", rec.flops / rec.count * r, rec.nbytes / rec.count * r * (a / 4.0),
                                 rec.lkv, k, grows))
            elif kind == "gemm":
                r = param_ratio(p)
                by = (rec.wbytes * r + rec.nbytes * ratio(p)) / rec.count * (a / 4.0)
                sc.ops.append(Op("gemm", rec.flops / rec.count * r, by, rows, k))
            elif kind in ("norm", "elementwise"):
                sc.ops.append(Op("norm_elementwise", 0.0, rec.nbytes / rec.count * ratio(p) * (a / 4.0), 0.0, k))
        sc.kernels += sum(n * (mult(p) if p in real else 1.0) for p, n in trace.kernels.get((stage, step), {}).items())
        sc.module_calls += sum(n * (mult(p) if p in real else 1.0)
                               for p, n in trace.module_calls.get((stage, step), {}).items())
    # key/value growth per decode step, from steps 1 and 2 of the trace
    d1 = {k: r.lkv for k, r in trace.ops.get(("decode", 1), {}).items() if r.kind == "attention"}
    d2 = {k: r.lkv for k, r in trace.ops.get(("decode", 2), {}).items() if r.kind == "attention"}
    for op_key, l1 in d1.items():
        if op_key in d2:
            growth = max(growth, d2[op_key] - l1)
    dec = stages.get("decode")
    if dec is not None:
        for o in dec.ops:
            if o.cls == "attention":
                o.grows = bool(growth > 0 and o.rows > 0)
    for s in ("vision", "prefill", "decode"):
        stages.setdefault(s, StageCounts())
    linear = [(normalise_path(n), m.weight.numel()) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    total_linear = sum(n for _, n in linear) or 1
    covered = sum(n for p, n in linear if p in reached)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    return ModelCounts(
        model_id=entry.id, batch_size=trace.batch_size, dtype=dtype_name, n_prompt_tokens=trace.n_prompt_tokens,
        n_image_tokens=trace.n_image_tokens, image_tensor_elems=trace.image_tensor_elems, twin=trace.how,
        stages=stages, decode_growth=growth or 1.0, params=params, weight_bytes=float(params * w + buffers),
        kv_bytes_per_position=kv_bytes_per_position(model.config, a), coverage=covered / total_linear,
    )
