"""The engine contract: what vlmbench needs from one serving engine (vLLM, SGLang, transformers serve).

An engine module declares its install plans, builds the command line that starts it on a model folder,
and says what it can do for timing (per-chunk token counts, restricting generation to visible-text
tokens) and where its Prometheus metrics are. Starting, waiting and stopping are common
(``engines/process.py``); so is the model-folder export (``engines/export.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from vlmbench.engines.install import InstallPlan


@dataclass(frozen=True)
class LaunchSpec:
    """Everything an engine's command line is built from."""
    model_dir: Path              # the exported folder, or a checkpoint folder / hub id (pretrained)
    served_name: str             # the model name requests carry
    host: str
    port: int
    device: str                  # cpu | cuda | cuda:N
    dtype: str                   # auto | float32 | bfloat16 | float16
    dummy_weights: bool
    recipe_args: tuple[str, ...] = ()   # from the recipe (engine x family), already resolved
    user_args: tuple[str, ...] = ()     # `args:` / --engine-arg, passed through last (they win)
    trust_remote_code: bool = False


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


class Engine(ABC):
    name: ClassVar[str]
    # Model types (config.model_type) this engine serves; with random weights an export function
    # (engines/export.py) must exist for the type too.
    model_types: ClassVar[tuple[str, ...]] = ()
    server_kind: ClassVar[str] = "generic"  # how requests force the output length (backends/openai/server_kinds)
    health_path: ClassVar[str] = "/health"
    metrics_path: ClassVar[str | None] = "/metrics"
    # What the engine does about tokens that decode to no visible text, for METRICS/README.
    visible_text_policy: ClassVar[str] = ""

    @abstractmethod
    def install_plan(self, build: str) -> InstallPlan | None:
        """The plan for build 'cpu' or 'cuda', or None where the engine does not install on it."""

    @abstractmethod
    def launch(self, spec: LaunchSpec, python: str) -> Launch:
        """The command line (and environment additions) that start the server."""

    def version_probe(self) -> str:
        """Python code printing the engine's version (run by the engine's own interpreter)."""
        return "import importlib.metadata as m; print(m.version(%r))" % self.package

    package: ClassVar[str] = ""

    def request_extras(self, model_dir: Path, random_weights: bool) -> dict:
        """Extra JSON fields for every chat request (e.g. vLLM's allowed_token_ids with random weights)."""
        return {}

    # The folder must hold weights (an engine without a dummy load format): random ones are written into it.
    needs_weights: ClassVar[bool] = False
    # Why the engine does not run on a CPU here (None: it does).
    not_on_cpu: ClassVar[str | None] = None

    def default_python(self) -> str | None:
        """The interpreter used when none is named and none was installed (None: install one)."""
        return None

    def served_name(self, model: str, folder: str) -> str:
        """The model name requests carry."""
        return model

    def check_shapes(self, config, device: str) -> str | None:
        """Why this engine cannot serve a model of these shapes on ``device`` (None: it can)."""
        return None

    def stream_options(self) -> dict:
        """``stream_options`` the engine honours for per-chunk token counts."""
        return {"include_usage": True}
