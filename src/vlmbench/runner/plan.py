"""Plan: models x scenarios x prompt batches x repeats -> cells, grouped into one job per model."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from vlmbench.backends.base import ModelSpec
from vlmbench.config import RunConfig
from vlmbench.vocab.cells import Cell, ModelJob, Scenario

__all__ = ["Cell", "ModelJob", "Scenario", "batches", "plan", "scenarios"]


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
    """The run's scenarios; with --cache-state, each once per state (states kept apart)."""
    base = _base_scenarios(config)
    if not config.cache_states:
        return base
    return [replace(s, cache_state=state) for state in config.cache_states for s in base]


def _base_scenarios(config: RunConfig) -> list[Scenario]:
    from vlmbench.backends import backend_class

    own = backend_class(config.backend).scenarios(config)
    if own is not None:  # a backend with its own load modes (endpoint concurrency / arrival rate)
        return list(own)
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
            groups = batches(ids, scenario.batch_size)
            for repeat in range(scenario.repeats_for(own.repeats, len(groups))):
                for group in groups:
                    job.cells.append(Cell(model, scenario, group, repeat))
        jobs.append(job)
    return jobs
