"""YAML files checked by pydantic models, every problem one line ``FILE:LINE: key 'KEY': problem``.

The YAML is composed into nodes (which keep their line numbers), loaded into plain values and
validated strictly (a YAML ``"2"`` is not an int); the first problem in file order is mapped
back to its node: the key's line for an unknown key, the value's line for a bad value, the
mapping's line for a missing key. Key paths skip list positions (``models.repeats``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import BaseModel, ValidationError

from vlmbench.errors import UsageError
from vlmbench.options.declare import problem


def compose_mapping(path: Path, source: str, kind: str, keys: Iterable[str]) -> yaml.MappingNode:
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


def fail(path: Path, node: yaml.Node, key: str, what: str) -> UsageError:
    return UsageError(f"{path}:{node.start_mark.line + 1}: key {key!r}: {what}")


def check_mapping(path: Path, node: yaml.MappingNode, model: type[BaseModel], prefix: str = "",
                  unknown: Optional[dict[str, str]] = None) -> tuple[dict[str, Any], dict[str, yaml.Node]]:
    """Validate one YAML mapping against ``model``; returns (the keys given, typed; key -> value
    node). ``unknown``: the words for an unknown key, by the path of its mapping ("" = this one)."""
    for k_node, _ in node.value:
        if not isinstance(k_node, yaml.ScalarNode) or not isinstance(yaml.safe_load(yaml.serialize(k_node)), str):
            raise fail(path, k_node, prefix + "?", "expected a str key")
    data = yaml.safe_load(yaml.serialize(node))
    try:
        checked = model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise _first_problem(path, node, model, exc, prefix, unknown or {}) from None
    values = checked.model_dump(exclude_unset=True)
    return values, {k.value: v for k, v in node.value}


def _first_problem(path: Path, root: yaml.MappingNode, model: type[BaseModel], exc: ValidationError,
                   prefix: str, unknown: dict[str, str]) -> UsageError:
    found = []
    for error in exc.errors(include_url=False):
        at, names, annotation, owner = _locate(root, model, error)
        if error["type"] == "extra_forbidden":
            known = ", ".join(getattr(owner, "model_fields", {}))
            what = unknown.get(".".join(names[:-1]), f"unknown key (known: {known})")
        else:
            what = problem(error, annotation)
        found.append((at.start_mark.line, prefix + ".".join(names), what))
    line, key, what = min(found, key=lambda f: f[0])
    return UsageError(f"{path}:{line + 1}: key {key!r}: {what}")


def _locate(root: yaml.Node, model: type[BaseModel],
            error: dict[str, Any]) -> tuple[yaml.Node, list[str], Any, Any]:
    """The node an error is about, the key path to it, the annotation of its field and the
    model whose field it is."""
    at, names, annotation = root, [], None
    current: Any = model
    owner: Any = model
    last = len(error["loc"]) - 1
    for i, part in enumerate(error["loc"]):
        if isinstance(part, int) and isinstance(at, yaml.SequenceNode) and part < len(at.value):
            at = at.value[part]
            continue
        if not isinstance(part, str):
            continue
        names.append(part)
        owner = current
        fields = getattr(current, "model_fields", {})
        annotation = fields[part].annotation if part in fields else None
        current = _model_in(annotation)
        pair = next(((k, v) for k, v in at.value if k.value == part), None) if isinstance(at, yaml.MappingNode) else None
        if pair is None:  # a missing key: the mapping's own line
            break
        at = pair[0] if error["type"] == "extra_forbidden" and i == last else pair[1]
    return at, names, annotation, owner


def _model_in(annotation: Any) -> Any:
    """The pydantic model a field holds (itself, or the items of a list of them), if any."""
    import typing

    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None
