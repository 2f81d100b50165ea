"""How a run option is declared: one pydantic field whose ``Annotated`` metadata carries its
command-line flag (:class:`Opt`) and its checks (:func:`at_least`, :func:`more_than`, ...).

From these declarations come the argparse options (:func:`add_arguments`), the suite and
campaign file keys (``runner/suite.py``, ``runner/campaign_file.py``) and every error message:
a check raises ``ValueError("must be at least 1")`` and :func:`problem` turns a pydantic error
into the words vlmbench prints (``expected int, got str 'two'``, ``must be one of a, b``).
"""

from __future__ import annotations

import argparse
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class Opt:
    """The command-line face of a field (and whether suite files may set it)."""

    flag: str  # "--max-new-tokens"
    help: Optional[str] = None
    metavar: Optional[str] = None
    parse: Optional[Callable[[str], Any]] = None  # argparse ``type`` (default: from the annotation)
    action: Optional[str] = None  # append | store_true | store_false | bool (--x / --no-x)
    suite: bool = False  # a key of suite files (and campaign targets)
    per_model: bool = False  # a suite's per-model mapping may set it
    suite_key: Optional[str] = None  # the suite key, where it differs from the field name


def at_least(n: int) -> AfterValidator:
    """``>= n`` (``n`` = 0: "must be 0 or more"); on a list, every item."""
    words = "must be 0 or more" if n == 0 else f"must be at least {n}"

    def check(value: Any) -> Any:
        if isinstance(value, list):
            if any(v < n for v in value):
                raise ValueError(f"each {words}")
        elif value is not None and value < n:
            raise ValueError(words)
        return value

    return AfterValidator(check)


def more_than(n: float, unit: str = "") -> AfterValidator:
    """``> n`` (a float amount: a timeout, a share of CPUs, a resource)."""

    def check(value: Any) -> Any:
        if value is not None and not value > n:
            raise ValueError(f"must be more than {n:g}{unit}")
        return value

    return AfterValidator(check)


def option_of(field: FieldInfo) -> Optional[Opt]:
    return next((m for m in field.metadata if isinstance(m, Opt)), None)


def options_of(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo, Opt]]:
    for name, field in model.model_fields.items():
        opt = option_of(field)
        if opt is not None:
            yield name, field, opt


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def choices(annotation: Any) -> Optional[tuple[Any, ...]]:
    """The values a ``Literal`` (or ``Optional[Literal]``) field allows."""
    inner = _strip_optional(annotation)
    return typing.get_args(inner) if typing.get_origin(inner) is Literal else None


def add_arguments(parser: Any, model: type[BaseModel], skip: tuple[str, ...] = (),
                  only: Optional[tuple[str, ...]] = None) -> None:
    """One argparse option per declared field of ``model`` (or of the fields ``only`` names: another
    command sharing a run option); every default is None, so only what is given on the command line
    overrides a suite (``dest`` = the field name)."""
    for name, field, opt in options_of(model):
        if name in skip or (only is not None and name not in only):
            continue
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": opt.help}
        if opt.action == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif opt.action in ("store_true", "store_false"):
            kwargs["action"] = opt.action
        else:
            if opt.action:
                kwargs["action"] = opt.action
            allowed = choices(field.annotation)
            if allowed:
                kwargs["choices"] = allowed
            kwargs["type"] = opt.parse or _scalar_type(field.annotation)
            if opt.metavar:
                kwargs["metavar"] = opt.metavar
        parser.add_argument(opt.flag, **kwargs)


def _scalar_type(annotation: Any) -> Callable[[str], Any]:
    inner = _strip_optional(annotation)
    if typing.get_origin(inner) is list:
        inner = typing.get_args(inner)[0]
    if typing.get_origin(inner) is Literal:
        return type(typing.get_args(inner)[0])
    return inner if inner in (int, float, str, Path) else str


def problem(error: dict[str, Any], annotation: Any = None) -> str:
    """A pydantic error (one of ``ValidationError.errors()``) in vlmbench's words."""
    kind, value = error["type"], error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return "missing"
    if kind == "literal_error":
        allowed = choices(annotation) if annotation is not None else None
        return "must be one of " + (", ".join(map(str, allowed)) if allowed else ctx.get("expected", ""))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = {"int": "int", "float": "float", "bool": "bool", "string": "str", "list": "a list",
                    "dict": "a mapping", "model": "a mapping", "model_attributes": "a mapping"}
        want = expected.get(kind.rsplit("_", 1)[0], kind.rsplit("_", 1)[0])
        return f"expected {want}, got {type(value).__name__} {value!r}"
    if kind == "too_short":
        return "expected a non-empty list"
    return str(error["msg"])
