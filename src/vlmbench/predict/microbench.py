"""``vlmbench calibrate --device cpu|cuda[:N]``: micro-benchmarks of a device -> a profile.

Under 60 s on a 2-core CPU (``quick`` mode, for tests: a few seconds). Each figure is the best of a
few repetitions (the least disturbed one), timed with the device's own marks
(:mod:`vlmbench.measure.device`: the host clock on the CPU, CUDA events on GPUs):

- memory bandwidth: :func:`vlmbench.measure.bandwidth.measure_copy_bandwidth` (read + write);
  element-wise bandwidth: ``torch.add(a, b, out=c)`` (2 reads + 1 write);
- GEMM throughput per dtype against M (1 .. 4096 on GPUs, 1 .. 512 on the CPU) at the widths catalog
  models use (K = N = 4096; on the CPU K = N = 2048 above M = 64, where the GEMM is compute-bound);
- attention (``scaled_dot_product_attention``, 16 heads of 64) against sequence length, and a decode
  step's attention (one query against L cached keys, 32 heads) against L;
- grouped (depthwise 7x7) convolution throughput against output elements, at ConvNeXt's stage widths;
- host cost per ATen op (an in-place add on a 1-element tensor, ``launch_us``) and per
  ``nn.Module`` call (``module_us``);
- fixed cost per ``generate`` step and its set-up: a 2-layer, 64-wide Llama generating 2 and 10
  tokens, minus its own per-op and per-module costs;
- host preprocessing: PNG decode ns per pixel, resize + normalise ns per output element.
"""

from __future__ import annotations

import io
import time
from typing import Any, Callable

import torch

from vlmbench.measure.bandwidth import measure_copy_bandwidth
from vlmbench.measure.device import DeviceOps, device_ops
from vlmbench.predict.profiles.schema import Profile

GEMM_K = 4096
GEMM_N_SMALL_M = 4096
CPU_LARGE_M_WIDTH = 2048
MICRO_INTERVAL = {"preprocess": [0.7, 1.5], "vision": [0.7, 1.45], "prefill": [0.7, 1.45], "ttft": [0.7, 1.45],
                  "tpot": [0.7, 1.45], "e2e": [0.7, 1.45], "peak_memory": [0.85, 1.2]}


def _best_ms(ops: DeviceOps, fn: Callable[[], Any], repeats: int, budget_s: float) -> float:
    """Best of up to ``repeats + 1`` calls (the first one warms up), stopping once ``budget_s`` is spent."""
    best = float("inf")
    t_end = time.perf_counter() + budget_s
    ops.synchronize()
    for _ in range(repeats + 1):
        start = ops.mark()
        fn()
        end = ops.mark()
        best = min(best, ops.elapsed_ms(start, end))
        if time.perf_counter() > t_end:
            break
    return best


def gemm_curve(ops: DeviceOps, dtype: torch.dtype, ms: tuple[int, ...], k: int, budget_s: float) -> list[list[float]]:
    dev = ops.device
    out = []
    for m in ms:
        # small M: K x N = 4096 x 4096 (weights far larger than the caches, streamed as in a decode
        # step); large M (compute-bound) on the CPU: 2048 x 2048, so one call stays within a few GFLOP
        kk, n = (k, GEMM_N_SMALL_M) if m <= 64 or dev.type != "cpu" else (CPU_LARGE_M_WIDTH, CPU_LARGE_M_WIDTH)
        a = torch.randn(m, kk, device=dev).to(dtype)
        w = torch.randn(n, kk, device=dev).to(dtype) * 0.02  # nn.Linear's layout: the kernel models use
        with torch.inference_mode():
            t = _best_ms(ops, lambda: torch.nn.functional.linear(a, w), 5, budget_s)
        out.append([float(m), 2.0 * m * kk * n / (t / 1000.0)])
        del a, w
    return out


def attention_curve(ops: DeviceOps, dtype: torch.dtype, lengths: tuple[int, ...], budget_s: float) -> list[list[float]]:
    dev = ops.device
    heads, d = 16, 64
    out = []
    for length in lengths:
        q = torch.randn(1, heads, length, d, device=dev).to(dtype)
        t = _best_ms(ops, lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q), 5, budget_s)
        out.append([float(length), 4.0 * heads * length * length * d / (t / 1000.0)])
        del q
    return out


def decode_attention_curve(ops: DeviceOps, dtype: torch.dtype, lengths: tuple[int, ...],
                           budget_s: float) -> list[list[float]]:
    """SDPA of one query position against ``L`` cached keys (a decode step), 32 heads of 64."""
    dev = ops.device
    heads, d = 32, 64
    out = []
    for length in lengths:
        q = torch.randn(1, heads, 1, d, device=dev).to(dtype)
        kv = torch.randn(1, heads, length, d, device=dev).to(dtype)
        with torch.inference_mode():
            t = _best_ms(ops, lambda: torch.nn.functional.scaled_dot_product_attention(q, kv, kv), 5, budget_s)
        out.append([float(length), 4.0 * heads * length * d / (t / 1000.0)])
        del q, kv
    return out


# (channels, height = width) of ConvNeXt-L's depthwise 7x7 convolutions at 768 px (MGM's auxiliary
# tower), one per stage; on a CPU the achieved rate falls several-fold once a stage outgrows the caches
GROUPED_CONV_SHAPES = ((192, 192), (384, 96), (768, 48), (1536, 24))


def grouped_conv_curve(ops: DeviceOps, dtype: torch.dtype, shapes: tuple[tuple[int, int], ...],
                       budget_s: float) -> list[list[float]]:
    """Depthwise 7x7 convolution (``groups = C``, padding 3, NCHW as ConvNeXt runs it): FLOP/s
    against output elements ``C H W``."""
    dev = ops.device
    out = []
    for channels, size in shapes:
        x = torch.randn(1, channels, size, size, device=dev).to(dtype)
        w = (torch.randn(channels, 1, 7, 7, device=dev) * 0.02).to(dtype)
        with torch.inference_mode():
            t = _best_ms(ops, lambda: torch.nn.functional.conv2d(x, w, padding=3, groups=channels), 3, budget_s)
        elements = channels * size * size
        out.append([float(elements), 2.0 * 49 * elements / (t / 1000.0)])
        del x, w
    return out


def elementwise_bandwidth(ops: DeviceOps, mib: int) -> float:
    n = mib * 1024 * 1024 // 4
    a = torch.ones(n, device=ops.device)
    b = torch.ones(n, device=ops.device)
    c = torch.empty_like(a)
    t = _best_ms(ops, lambda: torch.add(a, b, out=c), 5, 2.0)
    return 3.0 * n * 4 / (t / 1000.0)


def dispatch_costs(ops: DeviceOps, n: int) -> tuple[float, float]:
    """(us per ATen op, us per nn.Module call on top of its op)."""
    x = torch.zeros(1, device=ops.device)

    def ops_loop() -> None:
        for _ in range(n):
            x.add_(1.0)

    class Add(torch.nn.Module):
        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return t.add_(1.0)

    mod = Add()

    def module_loop() -> None:
        for _ in range(n):
            mod(x)

    with torch.inference_mode():
        t_ops = _best_ms(ops, ops_loop, 3, 3.0)
        t_mod = _best_ms(ops, module_loop, 3, 3.0)
    launch = t_ops * 1000.0 / n
    return launch, max(0.0, t_mod * 1000.0 / n - launch)


def generate_costs(ops: DeviceOps, launch_us: float, module_us: float) -> tuple[float, float]:
    """(fixed ms per generate step, generate set-up ms) from a 2-layer 64-wide Llama."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from vlmbench.predict.trace import _Recorder, _State, Trace  # noqa: F401 - op counting

    cfg = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=4, vocab_size=1000, max_position_embeddings=512, pad_token_id=0,
                      eos_token_id=1, bos_token_id=2)
    model = LlamaForCausalLM(cfg).to(ops.device).eval()
    ids = torch.randint(3, 1000, (1, 16), device=ops.device)

    def gen(n: int) -> Callable[[], Any]:
        return lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
                                      min_new_tokens=n, do_sample=False, num_beams=1, pad_token_id=0)

    with torch.inference_mode():
        gen(1)()  # first call: lazy imports and set-up inside generate
        t2 = _best_ms(ops, gen(2), 2, 3.0)
        t10 = _best_ms(ops, gen(10), 2, 3.0)
        kernels, modules = _count_step(model, gen)
    step = (t10 - t2) / 8.0
    fixed = max(0.0, step - (kernels * launch_us + modules * module_us) / 1000.0)
    setup = max(0.0, t2 - 2.0 * step)
    return fixed, setup


def _count_step(model: torch.nn.Module, gen: Callable[[int], Callable[[], Any]]) -> tuple[float, float]:
    """Non-view ATen ops and module calls per decode step (difference of 10- and 2-token runs)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from vlmbench.predict.trace import _is_view

    counts = {"ops": 0, "modules": 0}

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not _is_view(str(func)):
                counts["ops"] += 1
            return func(*args, **(kwargs or {}))

    handles = [m.register_forward_pre_hook(lambda *_: counts.__setitem__("modules", counts["modules"] + 1))
               for m in model.modules()]
    try:
        result = []
        for n in (2, 10):
            counts.update(ops=0, modules=0)
            with Count():
                gen(n)()
            result.append((counts["ops"], counts["modules"]))
    finally:
        for h in handles:
            h.remove()
    return (result[1][0] - result[0][0]) / 8.0, (result[1][1] - result[0][1]) / 8.0


def host_preprocessing(repeats: int = 3) -> dict[str, float]:
    """PNG decode ns per pixel; resize to 336 + to-tensor + normalise ns per output element."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    w, h = 1024, 768
    base = (rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8))
    img = Image.fromarray(base).resize((w, h))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    data = buf.getvalue()
    decode, transform = float("inf"), float("inf")
    mean = torch.tensor([0.48, 0.46, 0.41]).view(3, 1, 1)
    std = torch.tensor([0.27, 0.26, 0.28]).view(3, 1, 1)
    for _ in range(repeats):
        t0 = time.perf_counter()
        im = Image.open(io.BytesIO(data)).convert("RGB")
        im.load()
        t1 = time.perf_counter()
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1).unsqueeze(0).float()
        y = torch.nn.functional.interpolate(x, size=(336, 336), mode="bicubic", antialias=True)
        y = ((y / 255.0 - mean) / std).contiguous()
        t2 = time.perf_counter()
        decode = min(decode, (t1 - t0) * 1e9 / (w * h))
        transform = min(transform, (t2 - t1) * 1e9 / y.numel())
    return {"decode_ns_per_px": decode, "transform_ns_per_elem": transform, "fixed_ms": 1.0}


def calibrate_device(device: str, quick: bool = False) -> Profile:
    from vlmbench.measure.fingerprint import fingerprint

    ops = device_ops(device)
    dev = ops.device
    is_cuda = dev.type == "cuda"
    t0 = time.perf_counter()
    bw = measure_copy_bandwidth(ops, copy_mib=32 if quick else 256, repeats=3 if quick else 5)
    elem = elementwise_bandwidth(ops, 16 if quick else 128)
    dtypes = (torch.bfloat16, torch.float16, torch.float32) if is_cuda else (torch.bfloat16, torch.float32)
    if quick:
        ms, k, lengths, budget = (1, 16, 256), 1024, (64, 256), 0.3
    elif is_cuda:
        ms, k, lengths, budget = (1, 4, 16, 64, 256, 1024, 2048, 4096), GEMM_K, (128, 512, 1024, 2048, 4096, 8192), 1.0
    else:
        ms, k, lengths, budget = (1, 4, 16, 64, 256, 512), GEMM_K, (64, 256, 1024), 1.0
    mm = {str(d).removeprefix("torch."): gemm_curve(ops, d, ms, k, budget) for d in dtypes}
    at = {str(d).removeprefix("torch."): attention_curve(ops, d, lengths, budget) for d in dtypes}
    dec_lengths = (64, 512) if quick else (64, 256, 1024, 4096)
    at_dec = {str(d).removeprefix("torch."): decode_attention_curve(ops, d, dec_lengths, budget / 2) for d in dtypes}
    conv_shapes = GROUPED_CONV_SHAPES[1:2] if quick else GROUPED_CONV_SHAPES
    conv = {str(d).removeprefix("torch."): grouped_conv_curve(ops, d, conv_shapes, budget / 2) for d in dtypes}
    launch, module = dispatch_costs(ops, 500 if quick else 3000)
    step, setup = generate_costs(ops, launch, module)
    host = host_preprocessing(2 if quick else 5)
    name = ops.name()
    total = ops.total_memory_mb()
    peak_flops = {d: max(v for _, v in c) for d, c in mm.items()}
    profile = Profile(
        name=f"{dev.type}-micro", kind="micro-benchmark", device=name, device_type=dev.type,
        memory_gib=(total / 1024.0) if total else None,
        peak_flops_per_s=peak_flops, peak_bandwidth_bytes_per_s=bw.bytes_per_s,
        matmul_curve=mm, attention_curve=at, attention_decode_curve=at_dec, grouped_conv_curve=conv,
        bandwidth_bytes_per_s=bw.bytes_per_s,
        elementwise_bytes_per_s=elem, launch_us=launch, module_us=module, step_overhead_ms=step, setup_ms=setup,
        host=host, overlap=is_cuda, memory_overhead_mb=600.0 if is_cuda else 450.0,
        interval={k2: list(v) for k2, v in MICRO_INTERVAL.items()},
        sources={"all": f"vlmbench calibrate --device {device} (micro-benchmarks, {time.perf_counter() - t0:.1f} s"
                        f"{', quick mode' if quick else ''})",
                 "peak": "best measured GEMM throughput and copy bandwidth (the roofline baseline's peaks)"},
        dense=True, fingerprint=fingerprint(),
        notes="micro-benchmark profile; measured while the machine may have been shared",
    )
    profile.fingerprint["device_name"] = name
    profile.fingerprint["calibrate_seconds"] = round(time.perf_counter() - t0, 2)
    profile.fingerprint["bandwidth"] = bw.to_json()
    return profile
