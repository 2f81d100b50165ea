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
DEFAULT_MODELS = ("llava-1.5-7b-tiny",)


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
    prompts: Optional[list[str]] = None  # prompt ids; None = the whole set
    promptset_version: str = "v1"
    promptset_dir: Optional[str] = None  # a folder with manifest.json + images instead of the packaged set
    batch_sizes: list[int] = field(default_factory=lambda: [1])
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

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["out"] = str(self.out)
        return data
