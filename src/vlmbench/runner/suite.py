"""Suite files: a YAML file naming models, scenarios, a prompt subset, device and dtype.

Every problem is reported as one line ``FILE:LINE: key 'KEY': what is wrong`` (a UsageError,
exit code 2). The keys are the run options declared ``suite=True`` (``vlmbench.config`` and
``vlmbench.options``), checked by the same declarations; a suite becomes a ``RunConfig``.
Built-in suites live in ``vlmbench/suites/*.yaml``.

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
with its own values of the keys declared ``per_model`` (e.g. a real-size model on fewer prompts),
checked like the same keys at the top level.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, create_model, model_validator

from vlmbench.config import RunConfig, option_models
from vlmbench.errors import UsageError
from vlmbench.options.declare import at_least, options_of
from vlmbench.runner.yamlfile import check_mapping, compose_mapping, fail

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


class Scenario(BaseModel):
    """One ``scenarios`` item: every batch size with one output length."""

    model_config = ConfigDict(extra="forbid")
    batch_sizes: Annotated[list[int], at_least(1)] = [1]
    max_new_tokens: Annotated[int, at_least(1)]


def suite_keys(per_model: bool = False) -> dict[str, tuple[Any, Any]]:
    """Suite key -> (annotation, default) of every option suite files may set (per_model: those a
    per-model mapping may set), from the options' declarations."""
    keys: dict[str, tuple[Any, Any]] = {}
    for model in option_models():
        for name, field, opt in options_of(model):
            if opt.suite and (opt.per_model or not per_model) and name != "models":
                keys.setdefault(opt.suite_key or name, (Annotated[(field.annotation, *field.metadata)], None))
    keys["scenarios"] = (Optional[list[Scenario]], None)
    return keys


class _ModelItem(BaseModel):
    """A ``models`` item: an id, or ``{id: ID, KEY: VALUE}``."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _an_id(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value


@lru_cache(maxsize=None)
def suite_model() -> type[BaseModel]:
    """The model of a suite file (built once from the declarations)."""
    item = create_model("ModelItem", __base__=_ModelItem, id=(str, ...), **suite_keys(per_model=True))
    return create_model("SuiteFile", __config__=ConfigDict(extra="forbid"), name=(Optional[str], None),
                        description=(Optional[str], None), models=(list[item], ...), **suite_keys())


def unknown_key_words(prefix: str = "") -> dict[str, str]:
    """How an unknown key is named, by where it is."""
    per_model = ", ".join(suite_keys(per_model=True))
    return {"": f"unknown key (known: {', '.join(suite_model().model_fields)})",
            prefix + "models": f"not a per-model key (known: id, {per_model})",
            prefix + "scenarios": f"unknown scenario key (known: {', '.join(Scenario.model_fields)})"}


def parse_suite(path: Path) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """Read and type-check a suite file; returns (values, key -> value node for later checks)."""
    root = compose_mapping(path, f"--suite {path}", "a suite file", suite_model().model_fields)
    return parse_suite_node(path, root)


def parse_suite_node(path: Path, root: yaml.MappingNode, prefix: str = "",
                     model: Optional[type[BaseModel]] = None) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """Type-check the suite keys of one YAML mapping (a suite file, or a suite inside a campaign
    file, whose keys are reported as ``PREFIX.KEY``); ``model``: another model with suite keys."""
    words = unknown_key_words()
    return check_mapping(path, root, model or suite_model(), prefix, words)


def load_suite(path: Path, base: Optional[RunConfig] = None) -> RunConfig:
    """A RunConfig from a suite file; model ids are checked against the catalog (file:line)."""
    values, nodes = parse_suite(path)
    return suite_config(path, values, nodes, base, default_name=path.stem)


def suite_config(path: Path, values: dict[str, Any], nodes: dict[str, yaml.Node],
                 base: Optional[RunConfig] = None, default_name: str = "suite", prefix: str = "") -> RunConfig:
    """Apply checked suite values to a RunConfig; model ids are checked against the catalog."""
    from vlmbench.catalog import has, load_module

    base = base or RunConfig()
    for plugin in base.plugins:
        load_module(plugin)
    changes = as_config_keys(values)
    if changes.get("weights", base.weights) == "random" and "models" in values:
        for item, model in zip(nodes["models"].value, changes["models"]):
            if not has(model):
                raise fail(path, item, f"{prefix}models", f"unknown catalog id {model!r}")
    changes["suite"] = values.get("name", base.suite or default_name)
    if changes.get("dataset") and not Path(changes["dataset"]).is_absolute():
        changes["dataset"] = str(Path(path).parent / changes["dataset"])  # relative to the suite file
    try:
        return base.replace(**changes)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def as_config_keys(values: dict[str, Any]) -> dict[str, Any]:
    """Checked suite values -> RunConfig fields (models split into ids and per-model values)."""
    names = {opt.suite_key: name for model in option_models() for name, _, opt in options_of(model) if opt.suite_key}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("name", "description"):
            continue
        if key == "models":
            out["models"], out["model_overrides"] = split_models(value)
        elif key == "scenarios":
            out["scenarios"] = scenario_pairs(value)
        else:
            out[names.get(key, key)] = value
    if "batch_sizes" in values or "max_new_tokens" in values:
        out["scenarios"] = out.get("scenarios")
    return out


def scenario_pairs(items: Optional[list[dict[str, Any]]]) -> Optional[list[list[int]]]:
    if items is None:
        return None
    return [[b, item["max_new_tokens"]] for item in items for b in item.get("batch_sizes", [1])]


def split_models(items: list[dict[str, Any]]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Suite ``models`` items -> (model ids, model id -> its own values)."""
    ids: list[str] = []
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        ids.append(item["id"])
        own = as_config_keys({k: v for k, v in item.items() if k != "id"})
        if own:
            overrides[item["id"]] = own
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
