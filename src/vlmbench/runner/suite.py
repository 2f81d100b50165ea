"""Suite files: a YAML file naming models, scenarios, a prompt subset, device and dtype.

Every problem is reported as one line ``FILE:LINE: key 'KEY': what is wrong`` (a UsageError,
exit code 2). Keys and their types are declared once in ``FIELDS``; a suite becomes a
``RunConfig``. Built-in suites live in ``vlmbench/suites/*.yaml``.

    name: default
    description: tiny variants of every seed system, on the CPU
    models: [llava-1.5-7b-tiny, ...]
    device: cpu
    dtype: auto
    prompts: [chart-bar-640x480, ...]     # optional subset of prompt ids
    repeats: 2
    warmup: 1
    scenarios:                            # optional; default: batch 1, max_new_tokens
      - {batch_sizes: [1, 4], max_new_tokens: 32}

A ``models`` item may be a mapping instead of an id: ``{id: ID, KEY: VALUE, ...}`` runs that model
with its own values of the keys in ``config.MODEL_OVERRIDABLE`` (e.g. a real-size model on fewer
prompts), checked like the same keys at the top level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from vlmbench.config import MODEL_OVERRIDABLE, WEIGHT_MODES, RunConfig
from vlmbench.errors import UsageError

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


@dataclass(frozen=True)
class Field:
    kind: str  # str | int | float | bool | list[str] | list[int] | scenarios | models | resources
    check: Optional[Callable[[Any], Optional[str]]] = None  # returns a problem or None


def _positive(v: Any) -> Optional[str]:
    return None if v >= 1 else "must be at least 1"


def _non_negative(v: Any) -> Optional[str]:
    return None if v >= 0 else "must be 0 or more"


def _weights(v: Any) -> Optional[str]:
    return None if v in WEIGHT_MODES else f"must be one of {', '.join(WEIGHT_MODES)}"


FIELDS: dict[str, Field] = {
    "name": Field("str"),
    "description": Field("str"),
    "models": Field("models"),
    "weights": Field("str", _weights),
    "backend": Field("str"),
    "device": Field("str"),
    "dtype": Field("str"),
    "prompts": Field("list[str]"),
    "promptset": Field("str"),
    "repeats": Field("int", _positive),
    "warmup": Field("int", _non_negative),
    "warmup_shapes": Field("bool"),
    "max_new_tokens": Field("int", _positive),
    "batch_sizes": Field("list[int]"),
    "scenarios": Field("scenarios"),
    "attn": Field("str"),
    "cache": Field("str"),
    "compile": Field("bool"),
    "seed": Field("int"),
    "model_timeout_s": Field("float"),
    "request_timeout_s": Field("float"),
    "trust_remote_code": Field("bool"),
}
SCENARIO_FIELDS = {"batch_sizes": "list[int]", "max_new_tokens": "int"}
REQUIRED = ("models",)
# suite key -> RunConfig field, where they differ
_CONFIG_NAME = {"promptset": "promptset_version"}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.path}:{node.start_mark.line + 1}: key {key!r}: {problem}")

    def scalar(self, node: yaml.Node, key: str, kind: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, f"expected {kind}, got a {'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}")
        value = yaml.safe_load(yaml.serialize(node))
        types = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}[kind]
        if isinstance(value, bool) and kind != "bool" or not isinstance(value, types):
            raise self.fail(node, key, f"expected {kind}, got {type(value).__name__} {value!r}")
        return float(value) if kind == "float" else value

    def sequence(self, node: yaml.Node, key: str, item_kind: str) -> list[Any]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, f"expected a list of {item_kind}")
        return [self.scalar(item, key, item_kind) for item in node.value]

    def value(self, node: yaml.Node, key: str, kind: str) -> Any:
        if kind.startswith("list["):
            return self.sequence(node, key, kind[5:-1])
        if kind == "scenarios":
            return self.scenarios(node, key)
        if kind == "models":
            return self.models(node, key)
        if kind == "resources":
            return self.resources(node, key)
        return self.scalar(node, key, kind)

    def resources(self, node: yaml.Node, key: str) -> dict[str, float]:
        """``{NAME: AMOUNT}`` with AMOUNT > 0 (a campaign target's Ray resources)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping {RESOURCE: AMOUNT}")
        out = {}
        for k_node, v_node in node.value:
            name = self.scalar(k_node, key, "str")
            amount = self.scalar(v_node, f"{key}.{name}", "float")
            if amount <= 0:
                raise self.fail(v_node, f"{key}.{name}", "must be more than 0")
            out[name] = amount
        return out

    def models(self, node: yaml.Node, key: str) -> list[Any]:
        """Model ids; an item may be ``{id: ID, KEY: VALUE}`` with per-model values of suite keys."""
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, "expected a list of model ids (or {id: ID, KEY: VALUE} mappings)")
        out: list[Any] = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                out.append(self.scalar(item, key, "str"))
                continue
            entry: dict[str, Any] = {}
            for k_node, v_node in item.value:
                name = self.scalar(k_node, key, "str")
                if name == "id":
                    entry["id"] = self.scalar(v_node, f"{key}.id", "str")
                    continue
                if name not in MODEL_OVERRIDABLE:
                    raise self.fail(k_node, f"{key}.{name}",
                                    f"not a per-model key (known: id, {', '.join(MODEL_OVERRIDABLE)})")
                spec = FIELDS[name]
                value = self.value(v_node, f"{key}.{name}", spec.kind)
                problem = spec.check(value) if spec.check else None
                if problem:
                    raise self.fail(v_node, f"{key}.{name}", problem)
                entry[name] = value
            if "id" not in entry:
                raise self.fail(item, f"{key}.id", "missing (a per-model mapping names its model with id: ID)")
            out.append(entry)
        return out

    def scenarios(self, node: yaml.Node, key: str) -> list[list[int]]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, "expected a list of {batch_sizes: [..], max_new_tokens: N}")
        pairs = []
        for item in node.value:
            if not isinstance(item, yaml.MappingNode):
                raise self.fail(item, key, "each scenario is a mapping {batch_sizes: [..], max_new_tokens: N}")
            fields = {}
            for k_node, v_node in item.value:
                name = self.scalar(k_node, key, "str")
                if name not in SCENARIO_FIELDS:
                    raise self.fail(k_node, f"{key}.{name}", f"unknown scenario key (known: {', '.join(SCENARIO_FIELDS)})")
                fields[name] = self.value(v_node, f"{key}.{name}", SCENARIO_FIELDS[name])
            if "max_new_tokens" not in fields:
                raise self.fail(item, f"{key}.max_new_tokens", "missing")
            for b in fields.get("batch_sizes", [1]):
                if b < 1 or fields["max_new_tokens"] < 1:
                    raise self.fail(item, key, "batch sizes and max_new_tokens must be at least 1")
                pairs.append([b, fields["max_new_tokens"]])
        return pairs


def compose_mapping(path: Path, source: str, kind: str, keys: Any) -> yaml.MappingNode:
    """The mapping at the root of the YAML file ``path`` (nodes keep their line numbers), or a
    one-line UsageError: ``source`` names the file when it cannot be read (``--suite PATH``),
    ``kind`` what it should be (``a suite file``), ``keys`` the keys it may hold."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise UsageError(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(f"{path}:1: {kind} is a mapping of keys ({', '.join(keys)})")
    return root


def parse_suite(path: Path) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """Read and type-check a suite file; returns (values, key -> value node for later checks)."""
    return parse_suite_node(path, compose_mapping(path, f"--suite {path}", "a suite file", FIELDS))


def parse_suite_node(path: Path, root: yaml.MappingNode, prefix: str = "",
                     fields: Optional[dict[str, Field]] = None,
                     required: tuple[str, ...] = REQUIRED) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """Type-check the suite keys of one YAML mapping (a suite file, or a suite inside a campaign
    file, whose keys are reported as ``PREFIX.KEY``)."""
    reader = _Reader(path)
    fields = FIELDS if fields is None else fields
    values: dict[str, Any] = {}
    nodes: dict[str, yaml.Node] = {}
    for k_node, v_node in root.value:
        key = reader.scalar(k_node, "?", "str")
        spec = fields.get(key)
        if spec is None:
            raise reader.fail(k_node, prefix + key, f"unknown key (known: {', '.join(fields)})")
        value = reader.value(v_node, prefix + key, spec.kind)
        problem = spec.check(value) if spec.check else None
        if problem:
            raise reader.fail(v_node, prefix + key, problem)
        values[key] = value
        nodes[key] = v_node
    for key in required:
        if key not in values:
            raise UsageError(f"{path}:{root.start_mark.line + 1}: key {prefix + key!r}: missing")
    return values, nodes


def load_suite(path: Path, base: Optional[RunConfig] = None) -> RunConfig:
    """A RunConfig from a suite file; model ids are checked against the catalog (file:line)."""
    values, nodes = parse_suite(path)
    return suite_config(path, values, nodes, base, default_name=path.stem)


def suite_config(path: Path, values: dict[str, Any], nodes: dict[str, yaml.Node],
                 base: Optional[RunConfig] = None, default_name: str = "suite", prefix: str = "") -> RunConfig:
    """Apply checked suite values to a RunConfig; model ids are checked against the catalog."""
    from vlmbench.catalog import has, load_module

    config = base or RunConfig()
    for plugin in config.plugins:
        load_module(plugin)
    if values.get("weights", config.weights) == "random" and "models" in values:
        for item, model in zip(nodes["models"].value, values["models"]):
            model = model["id"] if isinstance(model, dict) else model
            if not has(model):
                raise UsageError(f"{path}:{item.start_mark.line + 1}: key '{prefix}models': "
                                 f"unknown catalog id {model!r}")
    values = dict(values)
    if "models" in values:
        models, overrides = split_models(values["models"])
        values["models"] = models
        config.model_overrides = overrides
    for key, value in values.items():
        if key in ("name", "description"):
            continue
        setattr(config, _CONFIG_NAME.get(key, key), value)
    if "batch_sizes" in values or "max_new_tokens" in values:
        config.scenarios = values.get("scenarios")
    config.suite = values.get("name", config.suite or default_name)
    return config


def split_models(items: list[Any]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Suite ``models`` items -> (model ids, model id -> its own values)."""
    ids: list[str] = []
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        if isinstance(item, dict):
            ids.append(item["id"])
            own = {k: v for k, v in item.items() if k != "id"}
            if own:
                overrides[item["id"]] = own
        else:
            ids.append(item)
    return ids, overrides


def builtin_suite_path(name: str) -> Optional[Path]:
    path = SUITES_DIR / f"{name}.yaml"
    return path if path.exists() else None


def resolve_suite(name_or_path: str) -> Path:
    """A built-in suite name (``default``, ``seed``) or a path to a YAML file."""
    builtin = builtin_suite_path(name_or_path)
    if builtin is not None:
        return builtin
    path = Path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.yaml")))
        raise UsageError(f"--suite {name_or_path}: no such file, and not a built-in suite ({known})")
    return path


def builtin_suites() -> list[tuple[str, str, Path]]:
    """(name, description, path) of every built-in suite."""
    out = []
    for path in sorted(SUITES_DIR.glob("*.yaml")):
        values, _ = parse_suite(path)
        out.append((values.get("name", path.stem), values.get("description", ""), path))
    return out
