"""What a plan is made of: scenarios, cells (one ``generate`` call each) and one job per model.

``runner/plan.py`` builds these from a RunConfig; backends, executors and the worker read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# Cache states (--cache-state): what a request shares with the ones before it.
# cold: unique image bytes and text; same-image: identical image bytes, new text (an encoder /
# processor cache hit); identical: an exact repeat (a prefix-cache hit).
CACHE_STATES = ("cold", "same-image", "identical")


@dataclass(frozen=True)
class Scenario:
    batch_size: int
    max_new_tokens: int
    # "" = the run's one cache state (from --cache-bust), not part of the name; else a state
    # of --cache-state, kept apart as its own scenario ("...-same-image")
    cache_state: str = ""

    @property
    def name(self) -> str:
        return f"b{self.batch_size}-n{self.max_new_tokens}{self.state_suffix}"

    @property
    def state_suffix(self) -> str:
        return f"-{self.cache_state}" if self.cache_state else ""

    def repeats_for(self, repeats: int, groups: int) -> int:
        """Repeats the plan makes of ``groups`` prompt groups (a load window may need more)."""
        return repeats


@dataclass(frozen=True)
class Cell:
    """One ``generate`` call: a batch of prompts for one model, scenario and repeat."""

    model_id: str
    scenario: Scenario
    prompt_ids: tuple[str, ...]
    repeat: int

    @property
    def window_id(self) -> str:
        return f"{self.model_id}|{self.scenario.name}|{'+'.join(self.prompt_ids)}|r{self.repeat}"

    def request_id(self, slot: int) -> str:
        return f"{self.model_id}|{self.scenario.name}|{self.prompt_ids[slot]}|r{self.repeat}|s{slot}"

    def request_ids(self) -> list[str]:
        return [self.request_id(i) for i in range(len(self.prompt_ids))]


@dataclass
class ModelJob:
    """One model's cells; ``spec`` is the backend's ``ModelSpec`` (model id, weights, remote code)."""

    spec: Any
    cells: list[Cell] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return sum(len(c.prompt_ids) for c in self.cells)
