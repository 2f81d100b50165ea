"""Campaign files: one suite benchmarked on several targets (kinds of machine) of a Ray cluster.

    name: nightly
    suite: seed                     # a built-in suite, a suite file, or an inline suite mapping
    targets:
      - {label: h100, accelerator_type: H100, gpus: 1}
      - {label: a10g, accelerator_type: A10G, gpus: 1, batch_sizes: [1]}
      - {label: cpu, resources: {cpu_bench: 1}, device: cpu}

A target names what a node must have (``accelerator_type``, ``gpus``, custom ``resources``),
how many CPUs each of its jobs reserves (``cpus``; by default the Ray executor reserves every
CPU of the node for a CPU target, so nothing else runs beside a CPU timing job, and the node's
CPUs divided by its GPUs for a GPU target: see executors/ray.py), and may override any suite key
for its own runs
(models, batch sizes, dtype, ...). Problems are one line ``FILE:LINE: key 'K': problem`` (exit 2).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Optional

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.options.declare import at_least, more_than
from vlmbench.runner.suite import (load_suite, parse_suite_node, resolve_suite, suite_config, suite_keys, suite_model,
                                   unknown_key_words)
from vlmbench.runner.yamlfile import check_mapping, compose_mapping, fail

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _label(v: str) -> str:
    if not _LABEL.match(v):
        raise ValueError("letters, digits, '.', '_' and '-' only (it names a folder)")
    return v


Label = Annotated[str, AfterValidator(_label)]


@lru_cache(maxsize=None)
def target_model() -> type[BaseModel]:
    """A ``targets`` item: what a node must have, plus any suite key for this target's runs."""
    return create_model(
        "TargetFile", __config__=ConfigDict(extra="forbid"), label=(Label, ...),
        accelerator_type=(Optional[str], None), gpus=(Annotated[int, at_least(0)], 0),
        cpus=(Optional[Annotated[float, more_than(0)]], None),
        resources=(dict[str, Annotated[float, more_than(0)]], {}),
        models=(suite_model().model_fields["models"].annotation, None), **suite_keys())


class CampaignFile(BaseModel):
    """The keys of a campaign file (``suite`` and ``targets`` are checked by their own models)."""

    model_config = ConfigDict(extra="forbid")
    name: Label
    description: str = ""
    suite: Any
    targets: Annotated[list[Any], Field(min_length=1)]


@dataclass
class Target:
    label: str
    config: RunConfig
    accelerator_type: Optional[str] = None
    gpus: int = 0
    cpus: Optional[float] = None  # None: the executor's default share (whole node / CPUs per GPU)
    resources: dict[str, float] = field(default_factory=dict)

    def requirements(self) -> dict[str, float]:
        """Ray resources a node must have for this target (what a missing target is missing)."""
        needs = dict(self.resources)
        if self.accelerator_type:
            needs[f"accelerator_type:{self.accelerator_type}"] = 0.001
        if self.gpus:
            needs["GPU"] = float(self.gpus)
        return needs

    def describe(self) -> str:
        needs = self.requirements()
        return ", ".join(f"{k}={v:g}" for k, v in needs.items()) if needs else "any node"

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "accelerator_type": self.accelerator_type, "gpus": self.gpus,
                "cpus": self.cpus, "resources": self.resources, "device": self.config.device}


@dataclass
class Campaign:
    name: str
    path: Path
    suite: str
    targets: list[Target]
    description: str = ""


def parse_campaign(path: Path, base: Optional[RunConfig] = None) -> Campaign:
    path = Path(path)
    root = compose_mapping(path, f"campaign file {path}", "a campaign file", CampaignFile.model_fields)
    top, nodes = check_mapping(path, root, CampaignFile)
    name = top["name"]

    base = base or RunConfig()
    suite_node = nodes["suite"]
    if isinstance(suite_node, yaml.MappingNode):
        values, vnodes = parse_suite_node(path, suite_node, prefix="suite.")
        suite = suite_config(path, values, vnodes, copy.deepcopy(base), default_name=name, prefix="suite.")
        suite_name = suite.suite
    elif not isinstance(top["suite"], str):
        raise fail(path, suite_node, "suite", "expected str (a suite name or file) or a suite mapping")
    else:
        ref = top["suite"]
        local = path.parent / ref
        try:
            suite_path = local if ref.endswith((".yaml", ".yml")) and local.exists() else resolve_suite(ref)
        except UsageError as exc:
            raise fail(path, suite_node, "suite", str(exc).replace("--suite ", "")) from None
        suite = load_suite(suite_path, base=copy.deepcopy(base))
        suite_name = ref

    targets: list[Target] = []
    for item in nodes["targets"].value:
        if not isinstance(item, yaml.MappingNode):
            raise fail(path, item, "targets", "each target is a mapping {label: NAME, accelerator_type: ..., ...}")
        values, vnodes = check_mapping(path, item, target_model(), "targets.", unknown_key_words("targets."))
        label = values["label"]
        if any(t.label == label for t in targets):
            raise fail(path, vnodes["label"], "targets.label", f"{label!r} given twice")
        own = {k: v for k, v in values.items() if k not in ("label", "accelerator_type", "gpus", "cpus", "resources")}
        if values.get("gpus", 0) > 0 and "device" not in own:
            own["device"] = "cuda"
        config = suite_config(path, own, vnodes, copy.deepcopy(suite), default_name=name, prefix="targets.")
        config.suite = suite_name
        targets.append(Target(label, config, values.get("accelerator_type"), values.get("gpus", 0),
                              values.get("cpus"), values.get("resources", {})))
    return Campaign(name, path, suite_name, targets, top.get("description", ""))
