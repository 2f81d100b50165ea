"""Typed run configuration. The CLI and suite files produce a ``RunConfig``; the runner
consumes it and writes it, resolved, into ``manifest.json``. Nothing is read from
environment variables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

WEIGHT_MODES = ("random", "pretrained")
DTYPES = ("auto", "float32", "bfloat16", "float16")
# RunConfig fields a single model may override (a suite's per-model mapping, a campaign target)
MODEL_OVERRIDABLE = (
    "dtype", "prompts", "repeats", "warmup", "warmup_shapes", "max_new_tokens", "batch_sizes", "scenarios", "attn", "cache",
    "compile", "model_timeout_s", "request_timeout_s",
)
DEFAULT_SUITE_FILE = Path(__file__).resolve().parent / "suites" / "default.yaml"


def _default_models() -> tuple[str, ...]:
    """The models of the built-in 'default' suite, its single source (suites/default.yaml)."""
    import yaml

    models = yaml.safe_load(DEFAULT_SUITE_FILE.read_text())["models"]
    return tuple(m["id"] if isinstance(m, dict) else m for m in models)


DEFAULT_MODELS = _default_models()


@dataclass
class RunConfig:
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    weights: str = "random"
    backend: str = "hf"
    device: str = "cpu"
    dtype: str = "auto"
    max_new_tokens: int = 32
    repeats: int = 3
    warmup: int = 1
    # before a scenario's first measured cell, one unrecorded 1-token pass (prefill) over every
    # distinct prompt group it measures, besides the ``warmup`` full requests (none when warmup
    # is 0); --no-warmup-shapes
    warmup_shapes: bool = True
    prompts: Optional[list[str]] = None  # prompt ids; None = the whole set
    promptset_version: str = "v1"
    promptset_dir: Optional[str] = None  # a folder with manifest.json + images instead of the packaged set
    batch_sizes: list[int] = field(default_factory=lambda: [1])
    scenarios: Optional[list[list[int]]] = None  # [[batch_size, max_new_tokens], ...]; overrides the two above
    suite: Optional[str] = None  # name of the suite the run came from
    out: Path = Path("results")
    run_id: Optional[str] = None
    trust_remote_code: bool = False
    seed: int = 0
    attn: Optional[str] = None  # eager | sdpa | flash_attention_2; None = transformers' default
    cache: str = "dynamic"
    compile: bool = False
    plugins: list[str] = field(default_factory=list)  # modules adding catalog entries
    model_timeout_s: Optional[float] = None  # per model, loading included
    progress: bool = True
    # --backend openai (OpenAI-compatible endpoints)
    endpoint: Optional[str] = None  # base URL, e.g. http://127.0.0.1:8000
    api_key_env: Optional[str] = None  # NAME of the variable holding the key; the key is never stored
    server_kind: str = "auto"  # auto | vllm | sglang | transformers | generic
    concurrency: list[int] = field(default_factory=list)  # closed-loop windows, requests in flight
    rates: list[float] = field(default_factory=list)  # Poisson-arrival windows, requests/s
    slo: Optional[str] = None  # "ttft=MS,tpot=MS[,e2e=MS]"
    cache_bust: bool = True  # make every request unique (text nonce + imperceptible image change); --no-cache-bust
    request_timeout_s: float = 300.0
    hardware: Optional[str] = None  # label for rows (default: remote)
    tokenizer: Optional[str] = None  # client-side token counting (default: the model folder if local)
    # model id -> {field: value} replacing the run's value for that model only (suite files:
    # a ``models`` item written as a mapping); keys are limited to MODEL_OVERRIDABLE
    model_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_connection_per_request: bool = False  # default: keep-alive connections, reused
    ca_bundle: Optional[str] = None  # PEM file of the certificates trusted for https endpoints

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunConfig":
        """Inverse of ``to_json`` (as stored in manifest.json); unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in names})
        config.out = Path(config.out)
        return config

    def for_model(self, model_id: str) -> "RunConfig":
        """This configuration as it applies to one model (its overrides, if any, applied)."""
        changes = self.model_overrides.get(model_id)
        if not changes:
            return self
        config = dataclasses.replace(self, **changes)
        if "batch_sizes" in changes or "max_new_tokens" in changes:
            config.scenarios = changes.get("scenarios")
        return config

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["out"] = str(self.out)
        return data
