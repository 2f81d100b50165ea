"""The device profile and its file format (``PROFILE.json``).

A profile holds curves and constants measured or looked up for one device, and a few
interpretable multipliers (:class:`Params`) that calibration on measured rows adjusts:

- ``matmul_curve[dtype]``: achieved GEMM FLOP/s against the row count M (log-log interpolated);
- ``attention_curve[dtype]``: achieved scaled-dot-product FLOP/s against the sequence length;
  ``attention_decode_curve[dtype]``: the same for one query position against L cached keys;
- ``grouped_conv_curve[dtype]``: achieved FLOP/s of grouped (depthwise) convolutions against their
  output elements (optional: without it they count as bandwidth-bound);
- ``bandwidth_bytes_per_s`` (copy, read + write) and ``elementwise_bytes_per_s``;
- ``launch_us`` (one kernel / ATen op dispatched), ``module_us`` (one ``nn.Module`` call),
  ``step_overhead_ms`` (fixed cost of one ``generate`` step: logits processing, stopping checks,
  the streamer), ``setup_ms`` (``generate`` set-up before the first forward);
- ``host``: image decode ns per input pixel, transform ns per output element, fixed ms;
- ``overlap``: the host dispatches asynchronously (GPUs): a stage takes ``max(device, host)``
  instead of ``device + host``;
- ``interval``: per stage ``[low, high]`` multipliers of the point prediction;
  ``interval_basis`` says what they rest on: ``{}`` priors (coverage unknown), or
  ``{"held_out": "model", "level": 0.8, "models": N, "stages": [...]}`` after calibration on N >= 3
  models: the stages listed have intervals from the held-out-model errors on the calibration
  machine (format version 2; a version-1 calibrated profile on >= 3 models is read as such).

``kind`` is ``spec`` (datasheet peaks x efficiency priors), ``micro-benchmark`` (``vlmbench calibrate
--device``) or ``calibrated`` (fitted to measured rows). Readers refuse other formats and versions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from vlmbench.errors import UsageError
from vlmbench.vocab.files import write_json_atomic

FORMAT = "vlmbench-device-profile"
VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: without interval_basis (derived on reading)
KINDS = ("spec", "micro-benchmark", "calibrated")
STAGES = ("preprocess", "vision", "prefill", "ttft", "tpot", "e2e", "peak_memory")


@dataclass
class Params:
    """Calibrated multipliers (1 = the profile's figures as they are) and additive fixed costs.

    ``gemm``: GEMM throughput x at M >= 64 rows; ``gemv``: the same at M <= 8 (decode steps; log-linear
    in between); ``attention``: attention throughput x; ``bandwidth``: achieved memory
    bandwidth x; ``dispatch``: per-op and per-module host cost x; ``vision``: vision-stage time x
    (encoders at large M often run below the GEMM curve); ``step_ms``: fixed ms per decode step
    added to the profile's ``step_overhead_ms``; ``host``: preprocessing time x;
    ``memory_overhead_mb``: process / context memory beside weights, KV cache and activations.
    """

    gemm: float = 1.0
    gemv: float = 1.0
    attention: float = 1.0
    bandwidth: float = 1.0
    dispatch: float = 1.0
    vision: float = 1.0
    step_ms: float = 0.0
    host: float = 1.0
    memory_overhead_mb: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Params":
        known = {k: float(v) for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Profile:
    name: str
    kind: str
    device: str
    device_type: str  # "cuda" | "cpu"
    memory_gib: Optional[float]
    peak_flops_per_s: dict[str, float]  # dense, per dtype
    peak_bandwidth_bytes_per_s: float
    matmul_curve: dict[str, list[list[float]]]
    attention_curve: dict[str, list[list[float]]]
    bandwidth_bytes_per_s: float
    elementwise_bytes_per_s: float
    launch_us: float
    module_us: float
    step_overhead_ms: float
    setup_ms: float
    host: dict[str, float]
    overlap: bool
    memory_overhead_mb: float
    params: Params = field(default_factory=Params)
    # decode-step attention (one query position) against the key/value length; empty: use attention_curve
    attention_decode_curve: dict[str, list[list[float]]] = field(default_factory=dict)
    # depthwise / grouped convolution FLOP/s against output elements; empty: bandwidth-bound
    grouped_conv_curve: dict[str, list[list[float]]] = field(default_factory=dict)
    stacks: dict[str, dict[str, float]] = field(default_factory=dict)  # stack key -> Params json
    interval: dict[str, list[float]] = field(default_factory=dict)
    interval_basis: dict[str, Any] = field(default_factory=dict)  # {} = priors; see the module docstring
    sources: dict[str, str] = field(default_factory=dict)
    dense: bool = True
    fingerprint: dict[str, Any] = field(default_factory=dict)
    calibrated_on: list[dict[str, Any]] = field(default_factory=list)  # runs: {"run": dir, "models": [...]}
    base: Optional[dict[str, Any]] = None  # the profile a calibration started from (its JSON)
    notes: str = ""

    def params_for(self, stack: Optional[str] = None) -> Params:
        if stack and stack in self.stacks:
            return Params.from_json(self.stacks[stack])
        return self.params

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["params"] = asdict(self.params)
        return {"format": FORMAT, "version": VERSION, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "profile") -> "Profile":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UsageError(f"{source}: not a vlmbench device profile (format {data.get('format') if isinstance(data, dict) else None!r})")
        if data.get("version") not in READABLE_VERSIONS:
            raise UsageError(f"{source}: device profile version {data.get('version')!r} not understood "
                             f"(this vlmbench reads versions {', '.join(map(str, READABLE_VERSIONS))})")
        if data.get("kind") not in KINDS:
            raise UsageError(f"{source}: profile kind {data.get('kind')!r} is not one of {', '.join(KINDS)}")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["params"] = Params.from_json(data.get("params") or {})
        if data["version"] == 1:
            fields["interval_basis"] = _v1_interval_basis(data)
        try:
            return cls(**fields)
        except TypeError as exc:
            raise UsageError(f"{source}: device profile is missing fields ({exc})") from None


HELD_OUT_LEVEL = 0.80  # [q10, q90] of the held-out ratios (predict/intervals.py)
MIN_HELD_OUT_MODELS = 3


def _v1_interval_basis(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 did not record it: its calibration replaced a stage's prior interval by held-out
    quantiles when it saw >= 3 models and >= 3 ratios of the stage: the stages whose interval
    differs from the base profile's prior are those."""
    models = {m for run in data.get("calibrated_on") or [] for m in run.get("models", [])}
    if data.get("kind") != "calibrated" or len(models) < MIN_HELD_OUT_MODELS:
        return {}
    prior = (data.get("base") or {}).get("interval") or {}
    stages = sorted(k for k, v in (data.get("interval") or {}).items() if list(v) != list(prior.get(k, [])))
    return {"held_out": "model", "level": HELD_OUT_LEVEL, "models": len(models), "stages": stages} if stages else {}


def write_profile(profile: Profile, path: str | Path) -> Path:
    """Atomic write: a temporary file in the same folder, then rename."""
    path = Path(path)
    write_json_atomic(path, profile.to_json(), indent=1, sort_keys=False)
    return path


def read_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--profile {str(path)!r}: no such file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--profile {str(path)!r}: not readable JSON ({exc})") from None
    return Profile.from_json(data, source=f"--profile {str(path)!r}")
