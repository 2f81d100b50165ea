"""Built-in spec-sheet profiles: dense datasheet peaks, each with its source, plus default
efficiency priors (``kind="spec"``). ``vlmbench predict --profile h100`` needs no measurement.

Every compute figure is **dense** (vendor pages often headline the 2x sparse figure). Sources and
pitfalls are in the project's device-specs reference: the H100 is 989.4 TFLOPS dense bf16 (1,979 is
sparse) at 3.35 TB/s; the A10G is 70 TFLOPS (not the A10's 125); the RTX 4090 is 165.2 TFLOPS with
FP32 accumulation, which is what PyTorch's bf16 GEMMs use (330 assumes FP16 accumulation); the T4 has
no bf16 tensor cores, so bf16 runs at its CUDA-core rate.

Efficiency priors (not measured; calibration replaces them):

- GEMM: ``eff(M)`` of the dense peak, from 3 % at M = 1 to 75 % at M >= 2048 (small-M GEMMs are
  bandwidth-bound anyway: the predictor takes the larger of compute and memory time);
- attention (SDPA): 20 % at L = 128 up to 55 % at L >= 8192;
- memory: 80 % of peak bandwidth for streaming ops (the utilisation NVIDIA's AIConfigurator
  assumes for memory ops), 70 % for element-wise kernels;
- host: eager PyTorch dispatch 6 us per ATen op and 4 us per module call, asynchronous
  (``overlap``): a step takes the longer of device time and host time; 1.5 ms fixed per
  ``generate`` step, 5 ms set-up; image preprocessing at a generic server CPU's speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from vlmbench.errors import UsageError
from vlmbench.predict.profiles.schema import Profile

T = 1e12
GEMM_EFF = ((1, 0.03), (8, 0.15), (32, 0.40), (128, 0.60), (512, 0.70), (2048, 0.75), (16384, 0.75))
ATTN_EFF = ((16, 0.05), (128, 0.20), (512, 0.40), (2048, 0.50), (8192, 0.55), (65536, 0.55))
BANDWIDTH_EFF = 0.80
ELEMENTWISE_EFF = 0.70
SPEC_INTERVAL = {"preprocess": [0.5, 2.0], "vision": [0.6, 1.6], "prefill": [0.6, 1.6], "ttft": [0.6, 1.6],
                 "tpot": [0.6, 1.6], "e2e": [0.6, 1.6], "peak_memory": [0.85, 1.25]}
HOST_PRIOR = {"decode_ns_per_px": 8.0, "transform_ns_per_elem": 3.0, "fixed_ms": 2.0}
DENSE_NOTE = "dense (not sparse) figures"


@dataclass(frozen=True)
class Sheet:
    name: str
    device: str
    memory_gib: float
    bandwidth: float  # bytes/s
    flops: dict[str, float]  # dense FLOP/s per dtype
    sources: dict[str, str]


REF = "vlmbench shared reference device-specs.md"
SHEETS: dict[str, Sheet] = {
    "h100": Sheet("h100", "NVIDIA H100 SXM5 80GB", 80, 3.35e12,
                  {"bfloat16": 989.4 * T, "float16": 989.4 * T, "float32": 66.9 * T},
                  {"bandwidth": "3.35 TB/s HBM3: https://glennklockwood.com/garden/processors/h100 (" + REF + ")",
                   "flops": "989.4 TFLOPS dense BF16/FP16 tensor (1,979 is with sparsity): "
                            "https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html; FP32 66.9 TFLOPS "
                            "non-tensor (NVIDIA H100 datasheet)",
                   "memory": "80 GB HBM3 (NVIDIA H100 datasheet)"}),
    "h200": Sheet("h200", "NVIDIA H200 SXM 141GB", 141, 4.8e12,
                  {"bfloat16": 989.0 * T, "float16": 989.0 * T, "float32": 66.9 * T},
                  {"bandwidth": "4.8 TB/s HBM3e: https://lzwjava.github.io/nvidia-h200-gpu-specs-en; "
                                "AIConfigurator YAML mem_bw 4.8e12 (" + REF + ")",
                   "flops": "989 TFLOPS dense BF16 (same GH100 compute; 1.97 PFLOPS pages are sparse): "
                            "https://aiwiki.ai/wiki/nvidia_h200/raw; FP32 66.9 TFLOPS as H100",
                   "memory": "141 GB HBM3e (AIConfigurator mem_capacity 151397597184 bytes)"}),
    "a100-80gb": Sheet("a100-80gb", "NVIDIA A100 SXM4 80GB", 80, 2.039e12,
                       {"bfloat16": 312.0 * T, "float16": 312.0 * T, "float32": 19.5 * T},
                       {"bandwidth": "2.039 TB/s HBM2e (SXM4; the PCIe part is 1.935): LLM-Viewer "
                                     "hardware_params.py / NVIDIA Ampere whitepaper (" + REF + ")",
                        "flops": "312 TFLOPS dense BF16 (624 sparse): NVIDIA Ampere whitepaper; FP32 19.5 TFLOPS",
                        "memory": "80 GB HBM2e"}),
    "l4": Sheet("l4", "NVIDIA L4 24GB", 24, 300e9,
                {"bfloat16": 121.0 * T, "float16": 121.0 * T, "float32": 30.3 * T},
                {"bandwidth": "300 GB/s GDDR6: https://grokipedia.com/page/NVIDIA_L4_vs_L40S (" + REF + ")",
                 "flops": "121 TFLOPS dense BF16 (242 with sparsity): https://grokipedia.com/page/NVIDIA_L4_vs_L40S; "
                          "FP32 30.3 TFLOPS (NVIDIA L4 datasheet)",
                 "memory": "24 GB GDDR6"}),
    "a10g": Sheet("a10g", "NVIDIA A10G 24GB (AWS G5)", 24, 600e9,
                  {"bfloat16": 70.0 * T, "float16": 70.0 * T, "float32": 35.0 * T},
                  {"bandwidth": "600 GB/s GDDR6: https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/",
                   "flops": "70 TFLOPS dense BF16 (140 sparse), FP32 35 TFLOPS: A10G datasheet (AWS, 2022); "
                            "not the A10's 125 (" + REF + ")",
                   "memory": "24 GB GDDR6"}),
    "t4": Sheet("t4", "NVIDIA T4 16GB", 16, 320e9,
                {"bfloat16": 8.1 * T, "float16": 65.0 * T, "float32": 8.1 * T},
                {"bandwidth": "320 GB/s GDDR6: https://sysrqmts.com/en/gpus/nvidia/tesla/t4 (" + REF + ")",
                 "flops": "FP16 tensor 65 TFLOPS dense: https://sysrqmts.com/en/gpus/nvidia/tesla/t4; no BF16 "
                          "tensor cores (Turing): bfloat16 counted at the FP32 CUDA-core rate, 8.1 TFLOPS "
                          "(NVIDIA T4 datasheet); 70 W, clocks throttle",
                 "memory": "16 GB GDDR6"}),
    "rtx4090": Sheet("rtx4090", "NVIDIA GeForce RTX 4090 24GB", 24, 1.008e12,
                     {"bfloat16": 165.2 * T, "float16": 165.2 * T, "float32": 82.6 * T},
                     {"bandwidth": "1,008 GB/s GDDR6X: https://waredb.com/processor/nvidia-geforce-rtx-4090",
                      "flops": "165.2 TFLOPS BF16/FP16 with FP32 accumulation, dense (330 assumes FP16 accumulation; "
                               "PyTorch bf16 GEMMs accumulate in FP32): https://gigagpu.com/?p=34220 (" + REF + "); "
                               "FP32 82.6 TFLOPS",
                      "memory": "24 GB GDDR6X"}),
}
ALIASES = {"h100-sxm": "h100", "h100-sxm5": "h100", "a100": "a100-80gb", "a100-sxm": "a100-80gb",
           "4090": "rtx4090", "rtx-4090": "rtx4090", "h200-sxm": "h200"}


def _curve(peak: float, eff: tuple[tuple[int, float], ...]) -> list[list[float]]:
    return [[float(m), peak * e] for m, e in eff]


def _from_sheet(sheet: Sheet) -> Profile:
    return Profile(
        name=sheet.name, kind="spec", device=sheet.device, device_type="cuda", memory_gib=sheet.memory_gib,
        peak_flops_per_s=dict(sheet.flops), peak_bandwidth_bytes_per_s=sheet.bandwidth,
        matmul_curve={d: _curve(f, GEMM_EFF) for d, f in sheet.flops.items()},
        attention_curve={d: _curve(f, ATTN_EFF) for d, f in sheet.flops.items()},
        bandwidth_bytes_per_s=sheet.bandwidth * BANDWIDTH_EFF,
        elementwise_bytes_per_s=sheet.bandwidth * ELEMENTWISE_EFF,
        launch_us=6.0, module_us=4.0, step_overhead_ms=1.5, setup_ms=5.0, host=dict(HOST_PRIOR), overlap=True,
        memory_overhead_mb=600.0, interval={k: list(v) for k, v in SPEC_INTERVAL.items()},
        sources=dict(sheet.sources, efficiency="priors, not measured (see vlmbench.predict.profiles.spec)",
                     dense=DENSE_NOTE),
        dense=True,
        notes="spec-sheet profile: datasheet peaks x default efficiency priors; calibrate on measured rows "
              "for real error bars",
    )


def spec_profile(name: str) -> Profile:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SHEETS:
        raise UsageError(f"--profile {name!r}: no built-in profile (built-in: {', '.join(sorted(SPEC_PROFILES))})")
    return _from_sheet(SHEETS[key])


SPEC_PROFILES: dict[str, Callable[[], Profile]] = {
    n: (lambda n=n: spec_profile(n)) for n in list(SHEETS) + list(ALIASES)
}
