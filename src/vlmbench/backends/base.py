"""The backend protocol: how a runner worker asks a backend to load a model and measure.

A backend returns, per request, a dict of schema columns (timings, token counts, memory);
the worker adds identity columns (run, model, prompt, repeat, ...) and sends the row on.
A new backend is one module and one line in ``vlmbench.backends.BACKENDS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Sequence

from vlmbench.config import RunConfig
from vlmbench.promptset import PromptItem


@dataclass(frozen=True)
class ModelSpec:
    model: str  # catalog id, hub id or local folder
    weights: str  # random | pretrained
    trust_remote_code: bool = False


class Backend(ABC):
    name: str = ""

    def __init__(self, config: RunConfig, spec: ModelSpec) -> None:
        self.config = config
        self.spec = spec

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Load or build the model. Returns columns constant for every row of this model
        (system, weights, dtype, processor_kind, weights_mb, model_load_ms, ...)."""

    @abstractmethod
    def measure(self, items: Sequence[PromptItem], max_new_tokens: int) -> list[dict[str, Any]]:
        """Serve ``items`` as one batch; return one dict of columns per item, in order."""

    @classmethod
    def fallback_columns(cls, config: RunConfig) -> dict[str, Any]:
        """Columns for rows the runner writes itself when a worker dies before loading."""
        return {"backend": config.backend, "device": config.device}

    def close(self) -> None:
        """Release the model."""

    def manifest_info(self) -> dict[str, Any]:
        """Extra facts for manifest.json (tokenizer kind, generation settings, ...)."""
        return {}
