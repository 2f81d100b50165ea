"""Op counts -> milliseconds, against a profile's curves and calibrated multipliers.

Per op (``calls`` times): GEMM and lm_head ``max(F / (C_mm(M) x g(M)), B / (BW x p.bandwidth))`` with
``g = p.gemv`` at M <= 8, ``p.gemm`` at M >= 64 (log-linear between);
attention ``max(F / (C_attn(L) x p.attention), B / (BW x p.bandwidth))`` (in a decode step ``C_attn``
is the profile's decode-attention curve: one query against L keys); norms, element-wise
and embedding gathers ``B / (BW_elementwise x p.bandwidth)``; grouped convolutions
``max(F / C_conv(P C_out), B / (BW x p.bandwidth))`` against the profile's grouped-convolution curve,
``B / (BW_elementwise x p.bandwidth)`` where it has none (spec profiles). ``C(x)`` is interpolated
log-log in the profile's curve for the dtype (clamped at its ends).

A stage's host cost is ``(kernels x launch_us + module calls x module_us) x p.dispatch``. On a
device that runs asynchronously (``profile.overlap``, GPUs) a stage takes ``max(device, host)``;
on the CPU the host does the work itself, so ``device + host``. The vision stage is multiplied
by ``p.vision``. A decode step adds ``step_overhead_ms + p.step_ms``; the prefill stage adds one
step overhead (sampling the first token) and ``setup_ms``; decode step ``j`` attends to
``j - 1`` more positions than step 1.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Optional

from vlmbench.predict.opcount import ModelCounts, StageCounts
from vlmbench.predict.profiles.schema import Params, Profile


GEMV_ROWS, GEMM_ROWS = 8.0, 64.0


def interp_loglog(curve: list[list[float]], x: float) -> float:
    pts = sorted(curve)
    xs = [p[0] for p in pts]
    if x <= xs[0]:
        return pts[0][1]
    if x >= xs[-1]:
        return pts[-1][1]
    i = bisect.bisect_left(xs, x)
    (x0, y0), (x1, y1) = pts[i - 1], pts[i]
    t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
    return math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))


def _curve(curves: dict[str, list[list[float]]], dtype: str) -> list[list[float]]:
    return curves.get(dtype) or curves.get("bfloat16") or curves.get("float32") or next(iter(curves.values()))


def gemm_multiplier(params: Params, rows: float) -> float:
    """``params.gemv`` at M <= 8, ``params.gemm`` at M >= 64, geometric interpolation in between."""
    if rows <= GEMV_ROWS:
        return params.gemv
    if rows >= GEMM_ROWS:
        return params.gemm
    t = (math.log(rows) - math.log(GEMV_ROWS)) / (math.log(GEMM_ROWS) - math.log(GEMV_ROWS))
    return math.exp((1 - t) * math.log(params.gemv) + t * math.log(params.gemm))


@dataclass(frozen=True)
class StageTime:
    device_ms: float
    host_ms: float
    fixed_ms: float
    by_class_ms: dict[str, float]

    @property
    def total_ms(self) -> float:
        return self.device_ms + self.host_ms + self.fixed_ms


def stage_time(stage: StageCounts, profile: Profile, params: Params, dtype: str, extra_kv: float = 0.0,
               roofline: bool = False, decode: bool = False) -> StageTime:
    """Time of one pass over ``stage``. ``extra_kv``: key/value positions beyond the traced ones
    (decode steps after the first). ``roofline``: peak numbers only, no efficiency, no host cost."""
    mm = _curve(profile.matmul_curve, dtype)
    at = _curve(profile.attention_decode_curve if decode and profile.attention_decode_curve
                else profile.attention_curve, dtype)
    if roofline:
        peak = profile.peak_flops_per_s.get(dtype) or max(profile.peak_flops_per_s.values())
        bw = bw_e = profile.peak_bandwidth_bytes_per_s
    else:
        bw = profile.bandwidth_bytes_per_s * params.bandwidth
        bw_e = profile.elementwise_bytes_per_s * params.bandwidth
    by_class: dict[str, float] = {}
    for op in stage.ops:
        flops, nbytes = op.flops, op.nbytes
        if op.cls == "attention" and op.grows and op.rows > 0 and extra_kv:
            scale = (op.rows + extra_kv) / op.rows
            flops, nbytes = flops * scale, nbytes * scale
        if roofline:
            t = max(flops / peak, nbytes / bw)
        elif op.cls in ("gemm", "lm_head"):
            rows = max(op.rows, 1.0)
            t = max(flops / (interp_loglog(mm, rows) * gemm_multiplier(params, rows)), nbytes / bw)
        elif op.cls == "attention":
            t = max(flops / (interp_loglog(at, max(op.rows, 1.0)) * params.attention), nbytes / bw)
        elif op.cls == "grouped_conv" and profile.grouped_conv_curve:
            conv = _curve(profile.grouped_conv_curve, dtype)
            t = max(flops / interp_loglog(conv, max(op.rows, 1.0)), nbytes / bw)
        else:
            t = nbytes / bw_e
        by_class[op.cls] = by_class.get(op.cls, 0.0) + t * op.calls * 1000.0
    device = sum(by_class.values())
    if roofline:
        return StageTime(device, 0.0, 0.0, by_class)
    host = (stage.kernels * profile.launch_us + stage.module_calls * profile.module_us) * params.dispatch / 1000.0
    if profile.overlap:
        return StageTime(max(device, host), 0.0, 0.0, by_class)
    return StageTime(device, host, 0.0, by_class)


@dataclass(frozen=True)
class Times:
    preprocess_ms: float
    vision_ms: float
    prefill_ms: float
    ttft_ms: float
    tpot_ms: Optional[float]
    e2e_ms: float
    peak_allocated_mb: float  # results.selection.allocated_memory_mb: CUDA allocated / CPU RSS
    detail: dict[str, dict[str, float]]


def preprocess_ms(counts: ModelCounts, in_pixels: float, profile: Profile, params: Params) -> float:
    h = profile.host
    ns = in_pixels * h.get("decode_ns_per_px", 0.0) + counts.image_tensor_elems * h.get("transform_ns_per_elem", 0.0)
    return (h.get("fixed_ms", 0.0) + ns / 1e6) * params.host


def peak_allocated_mb(counts: ModelCounts, n_out: int, profile: Profile, params: Params) -> float:
    kv = counts.kv_bytes_per_position * counts.batch_size * (counts.n_prompt_tokens + n_out)
    # the largest activation-only op's traffic bounds the live tensors at the peak (GEMM traffic
    # includes its weight, which is counted already)
    act = max((op.nbytes for s in ("vision", "prefill") for op in counts.stages[s].ops
               if op.cls in ("attention", "norm_elementwise")), default=0.0)
    return (counts.weight_bytes + kv + 2.0 * act) / (1024.0 * 1024.0) + profile.memory_overhead_mb + \
        params.memory_overhead_mb


def predict_times(counts: ModelCounts, n_out: int, in_pixels: float, profile: Profile, params: Params,
                  roofline: bool = False) -> Times:
    dtype = counts.dtype
    vis = stage_time(counts.stages["vision"], profile, params, dtype, roofline=roofline)
    pre = stage_time(counts.stages["prefill"], profile, params, dtype, roofline=roofline)
    dec_stage = counts.stages["decode"]
    step_fixed = 0.0 if roofline else profile.step_overhead_ms + params.step_ms
    vision_ms = vis.total_ms * (1.0 if roofline else params.vision)
    prefill_ms = pre.total_ms + step_fixed
    ttft_ms = vision_ms + prefill_ms + (0.0 if roofline else profile.setup_ms)
    tpot = None
    steps = max(0, n_out - 1)
    if steps:
        # mean over decode steps j = 1 .. n_out - 1 of step j's time (attention grows linearly)
        mid = (steps - 1) / 2.0 * counts.decode_growth
        tpot = stage_time(dec_stage, profile, params, dtype, extra_kv=mid, roofline=roofline,
                          decode=True).total_ms + step_fixed
    e2e = ttft_ms + (tpot or 0.0) * steps
    detail = {"vision": vis.by_class_ms, "prefill": pre.by_class_ms}
    if steps:
        detail["decode_step"] = stage_time(dec_stage, profile, params, dtype, roofline=roofline,
                                           decode=True).by_class_ms
    return Times(
        preprocess_ms=preprocess_ms(counts, in_pixels, profile, params) if not roofline else float("nan"),
        vision_ms=vision_ms, prefill_ms=prefill_ms, ttft_ms=ttft_ms, tpot_ms=tpot, e2e_ms=e2e,
        peak_allocated_mb=peak_allocated_mb(counts, n_out, profile, params), detail=detail,
    )
