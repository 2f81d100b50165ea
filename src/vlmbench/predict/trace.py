"""Run a twin (see :mod:`twin`) on a real prompt and record what ran, per module.

The twin processes the prompt through the entry's own stand-in processor (the one the runner
uses), so the number of image tokens, tiles, crops and scales is the real one, and generates
3 tokens greedily as the runner does. Forward hooks keep the stack of executing modules; a
``TorchDispatchMode`` sees every ATen op. Each op is recorded against the innermost module
running it, under its normalised path (layer index -> ``*``), with its stage:

- ``vision``: inside one of the entry's vision-stage modules (the span the runner times);
- ``prefill``: the first forward of the language model (and an encoder run before it);
- ``decode``: forward ``k >= 1`` (steps 1 and 2 are kept; attention lengths grow between them).

Kinds: ``linear`` / ``conv`` / ``embedding`` (module hooks: rows or output positions, the real
widths are read from the real-size model later), ``attention`` (scaled dot-product or batched
matmul: FLOPs, bytes and the key/value length), ``gemm`` (a matmul outside any Linear, e.g. MoE
experts' grouped GEMMs, which read the weights of the experts that received rows only),
``norm`` and ``elementwise`` (bytes moved), and a count of kernels (non-view ops) and module calls.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from vlmbench.predict.twin import PathNormaliser, Twin

VIEW_OPS = ("view", "reshape", "transpose", "expand", "slice", "select", "unsqueeze", "squeeze", "permute",
            "as_strided", "t.default", "detach", "alias", "_unsafe_view", "split", "chunk", "unbind",
            "narrow", "_reshape_alias", "lift_fresh", "empty", "_local_scalar_dense", "sym_size", "is_same_size",
            "unflatten", "flatten", "contiguous", "clone_noop")
TRACE_NEW_TOKENS = 3


@dataclass
class Rec:
    kind: str
    count: int = 0
    rows: float = 0.0  # linear/embedding: rows per call; conv: output positions per call
    flops: float = 0.0  # twin FLOPs (attention, gemm)
    nbytes: float = 0.0  # twin bytes (attention, norm, elementwise; a raw GEMM's activations)
    wbytes: float = 0.0  # twin weight bytes of a raw GEMM (scale with the module's parameters)
    lkv: float = 0.0  # attention: key/value length (max over calls)


@dataclass
class Trace:
    """What one twin run executed. ``ops[(stage, step)][(path, kind, rows)] -> Rec``."""

    how: str
    n_prompt_tokens: int
    n_image_tokens: Optional[int]
    batch_size: int
    image_tensor_elems: int  # elements of every float image tensor the processor returned (per batch)
    ops: dict[tuple[str, int], dict[tuple[str, str, float], Rec]] = field(default_factory=dict)
    kernels: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # per path
    module_calls: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    twin_instances: dict[str, int] = field(default_factory=dict)  # normalised path -> instances in the twin
    twin_widths: dict[str, float] = field(default_factory=dict)  # normalised path -> width
    twin_params: dict[str, int] = field(default_factory=dict)  # normalised path -> parameters (recursive)
    is_encoder_decoder: bool = False


def module_width(module: torch.nn.Module) -> Optional[float]:
    """A module's working width: its first Linear's input features, else its first parameter's last dim."""
    if isinstance(module, torch.nn.Linear):
        return float(module.in_features)
    for m in module.modules():
        if isinstance(m, torch.nn.Linear):
            return float(m.in_features)
    for p in module.parameters():
        if p.dim() >= 1:
            return float(p.shape[-1])
    return None


def _is_view(name: str) -> bool:
    return any(v in name for v in VIEW_OPS)


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _nbytes(ts: Sequence[torch.Tensor]) -> float:
    return float(sum(t.numel() * t.element_size() for t in ts))


class _Recorder(TorchDispatchMode):
    def __init__(self, state: "_State") -> None:
        super().__init__()
        self.state = state

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.state.on_op(str(func), args, kwargs, out)
        return out


class _State:
    def __init__(self, model: torch.nn.Module, vision_paths: Sequence[str], trace: Trace) -> None:
        self.trace = trace
        self.stack: list[tuple[str, torch.nn.Module]] = []
        self.vision_paths = tuple(vision_paths)
        self.vision_depth = 0
        self.root_calls = 0
        self.model = model
        self.normalise = PathNormaliser(model)

    def stage_step(self) -> tuple[str, int]:
        if self.vision_depth > 0:
            return "vision", 0
        step = max(0, self.root_calls - 1)
        return ("prefill", 0) if step == 0 else ("decode", step)

    def rec(self, path: str, kind: str, rows: float = 0.0) -> Rec:
        key = self.stage_step()
        table = self.trace.ops.setdefault(key, {})
        k = (self.normalise(path), kind, rows)
        if k not in table:
            table[k] = Rec(kind)
        return table[k]

    def on_module(self, path: str, module: torch.nn.Module, inputs: tuple, output: Any) -> None:
        ss = self.stage_step()
        calls = self.trace.module_calls.setdefault(ss, defaultdict(int))
        calls[self.normalise(path)] += 1
        x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if isinstance(module, torch.nn.Linear) and x is not None:
            r = self.rec(path, "linear", float(x.numel() // max(1, module.in_features)))
            r.count += 1
        elif isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)) and isinstance(output, torch.Tensor):
            positions = output.numel() // max(1, output.shape[1])
            r = self.rec(path, "conv", float(positions))
            r.count += 1
        elif isinstance(module, torch.nn.Embedding) and x is not None:
            r = self.rec(path, "embedding", float(x.numel()))
            r.count += 1

    def on_op(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        path, module = self.stack[-1] if self.stack else ("", self.model)
        ss = self.stage_step()
        if _is_view(name):
            return
        kern = self.trace.kernels.setdefault(ss, defaultdict(int))
        kern[self.normalise(path)] += 1
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding, torch.nn.Conv1d, torch.nn.Conv2d,
                               torch.nn.Conv3d)):
            return  # counted by the module hook with the real widths
        ins = _tensors(args) + _tensors(kwargs)
        outs = _tensors(out)
        if "scaled_dot_product" in name and len(ins) >= 3:
            q, k = ins[0], ins[1]
            lq, lkv, d = q.shape[-2], k.shape[-2], q.shape[-1]
            bh = q.numel() // max(1, lq * d)
            r = self.rec(path, "attention")
            r.count += 1
            r.flops += 4.0 * bh * lq * lkv * d
            r.nbytes += _nbytes(ins[:3]) + _nbytes(outs[:1])
            r.lkv = max(r.lkv, float(lkv))
        elif "_grouped_mm" in name and len(ins) >= 2:
            # MoE experts: a [T, K] x b [E, K, N] grouped by expert; only experts given rows read weights
            a, b = ins[0], ins[1]
            k_dim, n_dim = a.shape[-1], b.shape[-1]
            active = b.shape[0] if b.dim() == 3 else 1
            if len(ins) >= 3 and ins[2].dim() == 1 and ins[2].numel() == b.shape[0]:
                ends = ins[2].detach().to("cpu", torch.long)
                sizes = torch.diff(ends, prepend=torch.zeros(1, dtype=torch.long))
                active = int((sizes > 0).sum())
            t = a.numel() // max(1, k_dim)
            r = self.rec(path, "gemm", float(t) / max(1, active))
            r.count += 1
            r.flops += 2.0 * t * k_dim * n_dim
            r.wbytes += active * k_dim * n_dim * b.element_size()
            r.nbytes += _nbytes([a]) + _nbytes(outs)
        elif any(s in name for s in ("aten.bmm", "aten.baddbmm", "aten.mm", "aten.addmm", "aten.matmul",
                                     "aten.linear")) and len(ins) >= 2:
            a, b = (ins[-2], ins[-1]) if "addmm" in name else (ins[0], ins[1])
            if "linear" in name:  # F.linear(x, weight): weight is [N, K]
                flops = 2.0 * a.numel() * b.shape[0]
            else:
                flops = 2.0 * a.numel() * (b.shape[-1] if b.dim() >= 1 else 1)
            kind = "attention" if "bmm" in name else "gemm"
            rows = float(a.numel() // max(1, a.shape[-1])) if kind == "gemm" and a.dim() >= 1 else 0.0
            r = self.rec(path, kind, rows)
            r.count += 1
            r.flops += flops
            if kind == "gemm":
                r.wbytes += _nbytes([b])
                r.nbytes += _nbytes([t for t in ins if t is not b]) + _nbytes(outs)
            else:
                r.nbytes += _nbytes(ins) + _nbytes(outs)
        else:
            kind = "norm" if "norm" in type(module).__name__.lower() or "norm" in name else "elementwise"
            r = self.rec(path, kind)
            r.count += 1
            r.nbytes += _nbytes([t for t in ins if t.dim() > 0]) + _nbytes(outs)


def _prompt_inputs(processor: Any, entry: Any, images: list[Any], prompts: list[str]) -> Any:
    from vlmbench.promptset.render import format_prompt

    texts = [format_prompt(processor, p, entry.prompt_template) for p in prompts]
    kwargs: dict[str, Any] = {"images": images, "text": texts, "return_tensors": "pt"}
    if len(images) > 1:
        kwargs["padding"] = True
    return processor(**kwargs)


def build_processor(entry: Any) -> tuple[Any, str]:
    from vlmbench.catalog.tokenizer import build_tokenizer

    spec = entry.processor
    tokenizer = build_tokenizer(spec.image_token, spec.extra_special_tokens, chat_template=spec.chat_template)
    processor = spec.build(tokenizer)
    image_token = spec.image_token or str(getattr(processor, "image_token", "") or "")
    return processor, image_token


def processor_inputs(entry: Any, images: list[Any], prompts: list[str]) -> tuple[Any, Any, str]:
    processor, image_token = build_processor(entry)
    tok = getattr(processor, "tokenizer", processor)
    if tok.padding_side != "left":
        tok.padding_side = "left"
    return processor, _prompt_inputs(processor, entry, images, prompts), image_token


def count_image_tokens(processor: Any, inputs: Any, image_token: str, config: Any = None) -> Optional[int]:
    """Image placeholders in the first prompt's ``input_ids`` (as the runner counts them)."""
    tok = getattr(processor, "tokenizer", processor)
    ids = inputs["input_ids"][0]
    token_id = None
    for attr in ("image_token_id", "image_token_index"):
        if config is not None and getattr(config, attr, None) is not None:
            token_id = int(getattr(config, attr))
    if token_id is None and image_token:
        token_id = int(tok.convert_tokens_to_ids(image_token))
    return int((ids == token_id).sum()) if token_id is not None else None


@torch.no_grad()
def run_trace(twin: Twin, images: list[Any], prompts: list[str]) -> Trace:
    """Build ``twin`` with random weights (float32, CPU) and trace one 3-token generate call."""
    from vlmbench.backends.hf.loader import _align_config_with_tokenizer
    from vlmbench.catalog.materialise import build_random_model

    entry = twin.entry
    processor, inputs, image_token = processor_inputs(entry, images, prompts)
    config = twin.config
    _align_config_with_tokenizer(config, processor, image_token)
    model = build_random_model(twin.model_class, config, "cpu", torch.float32, seed=0)
    n_image = count_image_tokens(processor, inputs, image_token, model.config)
    image_elems = sum(int(v.numel()) for k, v in inputs.items()
                      if isinstance(v, torch.Tensor) and torch.is_floating_point(v))
    mask = inputs.get("attention_mask")
    n_prompt = int(mask[0].sum()) if mask is not None else int(inputs["input_ids"].shape[1])
    trace = Trace(twin.how, n_prompt, n_image, len(images), image_elems,
                  is_encoder_decoder=bool(getattr(model.config, "is_encoder_decoder", False)))
    normalise = PathNormaliser(model)
    for name, m in model.named_modules():
        p = normalise(name)
        trace.twin_instances[p] = trace.twin_instances.get(p, 0) + 1
        w = module_width(m)
        if w is not None:
            trace.twin_widths.setdefault(p, w)
        trace.twin_params.setdefault(p, sum(t.numel() for t in m.parameters()))

    vision_paths = list(entry.vision_modules)
    state = _State(model, vision_paths, trace)
    handles = []
    vision_set = set(vision_paths)

    def pre(name: str):
        def hook(module, args):
            state.stack.append((name, module))
            if name in vision_set:
                state.vision_depth += 1
            if name == "":
                state.root_calls += 1
        return hook

    def post(name: str):
        def hook(module, args, output):
            state.stack.pop()
            state.on_module(name, module, args, output)
            if name in vision_set:
                state.vision_depth -= 1
        return hook

    for name, m in model.named_modules():
        handles.append(m.register_forward_pre_hook(pre(name)))
        handles.append(m.register_forward_hook(post(name)))
    gen = _generation_kwargs(model, processor)
    try:
        with _Recorder(state):
            model.generate(**inputs, **gen)
    finally:
        for h in handles:
            h.remove()
    return trace


def _generation_kwargs(model: Any, processor: Any) -> dict[str, Any]:
    import copy as _copy

    tok = getattr(processor, "tokenizer", processor)
    gc = _copy.deepcopy(model.generation_config)
    pad = gc.pad_token_id if gc.pad_token_id is not None else tok.pad_token_id
    if pad is None:
        pad = tok.eos_token_id or 0
    gc.update(max_new_tokens=TRACE_NEW_TOKENS, min_new_tokens=TRACE_NEW_TOKENS, do_sample=False, num_beams=1,
              temperature=None, top_p=None, top_k=None, use_cache=True, pad_token_id=pad)
    gc.disable_compile = True
    return {"generation_config": gc}
