"""Options of the in-process backend (``--backend hf``): how transformers runs the model."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from vlmbench.options.base import BackendOptions
from vlmbench.options.declare import Opt


class InProcessOptions(BackendOptions):
    group: ClassVar[str] = "in-process models (--backend hf)"

    backend: Literal["hf"] = "hf"
    attn: Annotated[Optional[Literal["eager", "sdpa", "flash_attention_2"]], Opt(
        "--attn", help="attention implementation: eager, sdpa, flash_attention_2 (default: transformers' "
                       "choice; rows record the one resolved)", suite=True, per_model=True)] = None
    cache: Annotated[Literal["dynamic", "static"], Opt(
        "--cache", help="KV cache implementation", suite=True, per_model=True)] = "dynamic"
    compile: Annotated[bool, Opt(
        "--compile", action="store_true", suite=True, per_model=True,
        help="torch.compile the decode step (transformers' generate auto-compile; uses a static KV cache)")] = False
