"""Options of the engine backend (``--engine NAME``: vlmbench starts the serving engine, then benchmarks it
as an endpoint). The endpoint options (load modes, SLO, cache busting, ...) apply as they are; ``--endpoint``
does not (vlmbench names the server's address itself)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, model_validator

from vlmbench.options.declare import Opt, more_than
from vlmbench.options.endpoint import EndpointOptions


class EngineSpec(BaseModel):
    """A suite's or campaign target's ``engine:`` written as a mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    python: Optional[str] = None
    args: list[str] = []
    start_timeout_s: Annotated[Optional[float], more_than(0, " s")] = None
    recipe: Optional[str] = None
    host: Optional[str] = None
    port: Optional[int] = None


# EngineSpec key -> EngineOptions field
SPEC_FIELDS = {"python": "engine_python", "args": "engine_args", "start_timeout_s": "engine_start_timeout_s",
               "recipe": "engine_recipe", "host": "engine_host", "port": "engine_port"}


class EngineOptions(EndpointOptions):
    group: ClassVar[str] = "serving engines vlmbench starts (--engine)"
    selected_by: ClassVar[Optional[str]] = "engine"  # giving --engine (or a suite's engine:) selects this backend

    backend: Literal["engine"] = "engine"  # type: ignore[assignment]
    engine: Annotated[Optional[Union[str, EngineSpec]], Opt(
        "--engine", parse=str, metavar="NAME", suite=True,
        help="start this engine (vllm, sglang, transformers) for each model in turn, benchmark it over 127.0.0.1 "
             "with the endpoint scenarios (--concurrency, --rate), stop it; catalog entries are served from an "
             "exported model folder with dummy (random) weights. Suite/campaign files: engine: NAME or "
             "{name: NAME, python: PYTHON, args: [..], start_timeout_s: S}")] = None
    engine_python: Annotated[Optional[str], Opt(
        "--engine-python", metavar="PYTHON",
        help="the engine environment's interpreter (default: the one `vlmbench engine install NAME` built)")] = None
    engine_args: Annotated[list[str], Opt(
        "--engine-arg", action="append", metavar="ARG",
        help="an argument passed to the engine after the recipe's (repeatable; write --engine-arg=--flag)")] = []
    engine_start_timeout_s: Annotated[float, more_than(0, " s"), Opt(
        "--engine-start-timeout", metavar="S", help="seconds the engine has to answer GET /health (default 900)")] = 900.0
    engine_host: Annotated[str, Opt("--engine-host", metavar="HOST",
                                    help="address the engine binds (default 127.0.0.1)")] = "127.0.0.1"
    engine_port: Annotated[Optional[int], Opt("--engine-port", metavar="PORT",
                                              help="the engine's port (default: a free one)")] = None
    engines_dir: Annotated[Optional[str], Opt(
        "--engines-dir", metavar="DIR", suite=True,
        help="where engine environments (`vlmbench engine install`), exported model folders and engine logs "
             "live (default: <project>/.engines)")] = None
    engine_recipe: Annotated[Optional[str], Opt(
        "--engine-recipe", metavar="FILE",
        help="a recipe YAML instead of the packaged one for the engine and model family")] = None

    @model_validator(mode="before")
    @classmethod
    def _spec(cls, data: Any) -> Any:
        """``engine: {name: .., python: .., args: [..]}`` -> the flat fields (given flat fields win)."""
        if not isinstance(data, dict):
            return data
        spec = data.get("engine")
        if isinstance(spec, dict):
            spec = EngineSpec(**spec)
        if isinstance(spec, EngineSpec):
            data = dict(data)
            data["engine"] = spec.name
            for key, field in SPEC_FIELDS.items():
                value = getattr(spec, key)
                if value not in (None, []) and data.get(field) in (None, []):
                    data[field] = value
        return data
