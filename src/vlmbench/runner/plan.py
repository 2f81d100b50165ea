"""Plan: models x scenarios x prompt batches x repeats -> cells, grouped into one job per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from vlmbench.backends.base import ModelSpec
from vlmbench.config import RunConfig


@dataclass(frozen=True)
class Scenario:
    batch_size: int
    max_new_tokens: int

    @property
    def name(self) -> str:
        return f"b{self.batch_size}-n{self.max_new_tokens}"


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
    spec: ModelSpec
    cells: list[Cell] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return sum(len(c.prompt_ids) for c in self.cells)


def batches(prompt_ids: list[str], batch_size: int) -> list[tuple[str, ...]]:
    """Consecutive groups of ``batch_size`` prompts; the last group wraps around to stay full."""
    if batch_size <= 1:
        return [(p,) for p in prompt_ids]
    groups = []
    for start in range(0, len(prompt_ids), batch_size):
        group = [prompt_ids[(start + k) % len(prompt_ids)] for k in range(batch_size)]
        groups.append(tuple(group))
    return groups


def scenarios(config: RunConfig) -> list[Scenario]:
    from vlmbench.backends import backend_class

    own = getattr(backend_class(config.backend), "scenarios", None)
    if own is not None:  # a backend with its own load modes (endpoint concurrency / arrival rate)
        return list(own(config))
    if config.scenarios:
        pairs = sorted({(int(b), int(n)) for b, n in config.scenarios}, key=lambda p: (p[1], p[0]))
        return [Scenario(b, n) for b, n in pairs]
    return [Scenario(b, config.max_new_tokens) for b in sorted(set(config.batch_sizes))]


def plan(config: RunConfig, prompt_ids: list[str], models: Optional[list[str]] = None) -> list[ModelJob]:
    jobs = []
    for model in models if models is not None else config.models:
        own = config.for_model(model)  # the model's own values (a suite's per-model mapping), if any
        ids = config.model_overrides.get(model, {}).get("prompts") or prompt_ids
        job = ModelJob(ModelSpec(model, config.weights, config.trust_remote_code))
        for scenario in scenarios(own):
            for repeat in range(own.repeats):
                for group in batches(ids, scenario.batch_size):
                    job.cells.append(Cell(model, scenario, group, repeat))
        jobs.append(job)
    return jobs
