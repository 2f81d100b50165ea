"""The backend protocol: how a runner worker asks a backend to load a model and measure.

A backend returns, per request, a dict of schema columns (timings, token counts, memory);
the worker adds identity columns (run, model, prompt, repeat, ...) and sends the row on.
A new backend is one module and one line in ``vlmbench.backends.BACKENDS`` (with its
capabilities). Every hook the runner may call is declared here with its default, so the
runner never asks a backend whether it has one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from vlmbench.config import RunConfig
from vlmbench.promptset import PromptItem, PromptSet
from vlmbench.vocab.cells import Cell, Scenario

if TYPE_CHECKING:
    from vlmbench.backends import Capabilities

# emit(cell, slot, columns): one measured request of a backend that drives its own job
Emit = Callable[[Cell, int, dict[str, Any]], None]
# side(file, record): one line for a side file of the run folder, written by the driver wherever the worker ran
Side = Callable[[str, dict[str, Any]], None]


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
        self.side: Side = lambda file, record: None  # the worker connects it to the driver (SideRecord)

    # -- class level: before any worker starts ---------------------------------------------
    @classmethod
    def capabilities(cls) -> "Capabilities":
        """What this backend can do (declared with its line in ``vlmbench.backends.BACKENDS``)."""
        from vlmbench.backends import capabilities

        return capabilities(cls.name)

    @classmethod
    def validate_config(cls, config: RunConfig, check_device: bool = True) -> None:
        """Raise UsageError for what this backend cannot run (``check_device=False``: the device
        is another machine's, a campaign target's). Types and ranges are checked already."""

    @classmethod
    def scenarios(cls, config: RunConfig) -> Optional[list[Scenario]]:
        """The backend's own scenarios (endpoint load windows), or None: batch sizes x output
        lengths from the configuration."""
        return None

    @classmethod
    def environment_facts(cls, config: RunConfig) -> dict[str, Any]:
        """Sections this backend adds to the run's fingerprint (``manifest.json`` -> ``environment``)
        beside the machine's: facts that change what timings mean (an engine's version and command line)."""
        return {}

    @classmethod
    def fallback_columns(cls, config: RunConfig) -> dict[str, Any]:
        """Columns for rows the runner writes itself when a worker dies before loading."""
        return {"backend": config.backend, "device": config.device}

    # -- worker side ----------------------------------------------------------------------------
    def memory_plan(self, scenarios: Sequence[Scenario]) -> dict[str, str]:
        """Scenario name -> why it cannot fit (recorded as skipped without being tried)."""
        return {}

    @abstractmethod
    def load(self) -> dict[str, Any]:
        """Load or build the model. Returns columns constant for every row of this model
        (system, weights, dtype, processor_kind, weights_mb, model_load_ms, ...)."""

    def measure(self, items: Sequence[PromptItem], max_new_tokens: int) -> list[dict[str, Any]]:
        """Serve ``items`` as one batch; return one dict of columns per item, in order (the
        runner's scheduler calls it per cell unless the backend ``owns_scheduler``)."""
        raise NotImplementedError(f"backend {self.name!r} measures whole jobs (run_job)")

    def run_job(self, run_id: str, cells: Sequence[Cell], promptset: PromptSet, emit: Emit) -> None:
        """Measure every cell, scheduling them itself (``capabilities().owns_scheduler``)."""
        raise NotImplementedError(f"backend {self.name!r} is scheduled per cell (measure)")

    def release_memory(self) -> None:
        """After an out-of-memory: give cached device memory back so smaller batches can run."""

    def close(self) -> None:
        """Release the model."""

    def manifest_info(self) -> dict[str, Any]:
        """Extra facts for manifest.json (tokenizer kind, generation settings, ...)."""
        return {}
