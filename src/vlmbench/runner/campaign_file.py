"""Campaign files: one suite benchmarked on several targets (kinds of machine) of a Ray cluster.

    name: nightly
    suite: seed                     # a built-in suite, a suite file, or an inline suite mapping
    targets:
      - {label: h100, accelerator_type: H100, gpus: 1}
      - {label: a10g, accelerator_type: A10G, gpus: 1, batch_sizes: [1]}
      - {label: cpu, resources: {cpu_bench: 1}, device: cpu}

A target names what a node must have (``accelerator_type``, ``gpus``, custom ``resources``),
how many CPUs each of its jobs reserves (``cpus``; default 1 with GPUs, else every CPU of the
node, so two timing jobs never share cores), and may override any suite key for its own runs
(models, batch sizes, dtype, ...). Problems are one line ``FILE:LINE: key 'K': problem`` (exit 2).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.runner.suite import (FIELDS, Field, _Reader, compose_mapping, load_suite, parse_suite_node,
                                   resolve_suite, suite_config)

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _label(v: Any) -> Optional[str]:
    return None if _LABEL.match(v) else "letters, digits, '.', '_' and '-' only (it names a folder)"


def _non_negative(v: Any) -> Optional[str]:
    return None if v >= 0 else "must be 0 or more"


def _positive(v: Any) -> Optional[str]:
    return None if v > 0 else "must be more than 0"


TARGET_FIELDS: dict[str, Field] = {
    "label": Field("str", _label),
    "accelerator_type": Field("str"),
    "gpus": Field("int", _non_negative),
    "cpus": Field("float", _positive),
    "resources": Field("resources"),
    **{k: v for k, v in FIELDS.items() if k not in ("name", "description")},
}
CAMPAIGN_KEYS = ("name", "description", "suite", "targets")


@dataclass
class Target:
    label: str
    config: RunConfig
    accelerator_type: Optional[str] = None
    gpus: int = 0
    cpus: Optional[float] = None  # None: every CPU of the node (CPU targets)
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
    root = compose_mapping(path, f"campaign file {path}", "a campaign file", CAMPAIGN_KEYS)
    reader = _Reader(path)
    nodes: dict[str, yaml.Node] = {}
    for k_node, v_node in root.value:
        key = reader.scalar(k_node, "?", "str")
        if key not in CAMPAIGN_KEYS:
            raise reader.fail(k_node, key, f"unknown key (known: {', '.join(CAMPAIGN_KEYS)})")
        nodes[key] = v_node
    for key in ("name", "suite", "targets"):
        if key not in nodes:
            raise UsageError(f"{path}:1: key {key!r}: missing")
    name = reader.scalar(nodes["name"], "name", "str")
    problem = _label(name)
    if problem:
        raise reader.fail(nodes["name"], "name", problem)
    description = reader.scalar(nodes["description"], "description", "str") if "description" in nodes else ""

    base = base or RunConfig()
    suite_node = nodes["suite"]
    if isinstance(suite_node, yaml.MappingNode):
        values, vnodes = parse_suite_node(path, suite_node, prefix="suite.")
        suite = suite_config(path, values, vnodes, copy.deepcopy(base), default_name=name, prefix="suite.")
        suite_name = suite.suite
    else:
        ref = reader.scalar(suite_node, "suite", "str")
        local = path.parent / ref
        try:
            suite_path = local if ref.endswith((".yaml", ".yml")) and local.exists() else resolve_suite(ref)
        except UsageError as exc:
            raise reader.fail(suite_node, "suite", str(exc).replace("--suite ", "")) from None
        suite = load_suite(suite_path, base=copy.deepcopy(base))
        suite_name = ref

    targets_node = nodes["targets"]
    if not isinstance(targets_node, yaml.SequenceNode) or not targets_node.value:
        raise reader.fail(targets_node, "targets", "expected a non-empty list of {label: ..., ...} mappings")
    targets: list[Target] = []
    for item in targets_node.value:
        if not isinstance(item, yaml.MappingNode):
            raise reader.fail(item, "targets", "each target is a mapping {label: NAME, accelerator_type: ..., ...}")
        values, vnodes = parse_suite_node(path, item, prefix="targets.", fields=TARGET_FIELDS, required=("label",))
        label = values["label"]
        if any(t.label == label for t in targets):
            raise reader.fail(vnodes["label"], "targets.label", f"{label!r} given twice")
        own = {k: v for k, v in values.items() if k in FIELDS}
        if "gpus" in values and values["gpus"] > 0 and "device" not in own:
            own["device"] = "cuda"
        config = suite_config(path, own, vnodes, copy.deepcopy(suite), default_name=name, prefix="targets.")
        config.suite = suite_name
        targets.append(Target(label, config, values.get("accelerator_type"), values.get("gpus", 0),
                              values.get("cpus"), values.get("resources", {})))
    return Campaign(name, path, suite_name, targets, description)
