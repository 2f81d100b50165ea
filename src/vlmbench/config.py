"""Typed run configuration. The CLI and suite files produce a ``RunConfig``; the runner
consumes it and writes it, resolved, into ``manifest.json``. Nothing is read from
environment variables.

Every option is declared once, here (the options every backend reads) or in
``vlmbench.options`` (the part one backend reads, ``RunConfig.options``): its type, default,
checks, command-line flag and whether suite files may set it. ``RunConfig(**flat)`` accepts the
flat form (``backend="openai", endpoint=...``) used by the CLI, suite files and manifest.json;
a problem is a ``UsageError`` naming the flag: ``--repeats 0: must be at least 1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, ValidationError, model_validator

from vlmbench.errors import UsageError
from vlmbench.options import BACKEND_OPTIONS, DEFAULT_BACKEND, BackendOptions, selected_backend
from vlmbench.options.declare import Opt, at_least, more_than, option_of, problem
from vlmbench.vocab.listargs import int_list

DTYPES = ("auto", "float32", "bfloat16", "float16")
DEFAULT_SUITE_FILE = Path(__file__).resolve().parent / "suites" / "default.yaml"


def _default_models() -> tuple[str, ...]:
    """The models of the built-in 'default' suite, its single source (suites/default.yaml)."""
    import yaml

    models = yaml.safe_load(DEFAULT_SUITE_FILE.read_text())["models"]
    return tuple(m["id"] if isinstance(m, dict) else m for m in models)


DEFAULT_MODELS = _default_models()

# The union of the registered backends' options, told apart by their ``backend`` field.
AnyBackendOptions = Annotated[Union[tuple(BACKEND_OPTIONS.values())], Discriminator("backend")]  # type: ignore[misc]


def _comma_list(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: Annotated[list[str], Opt(
        "--model", action="append", metavar="ID", suite=True,
        help="catalog id, hub id or local folder (repeatable)")] = Field(default_factory=lambda: list(DEFAULT_MODELS))
    weights: Annotated[Literal["random", "pretrained"], Opt(
        "--weights", suite=True, help="random (default): published shapes with random weights (offline); "
                                      "pretrained: load a checkpoint")] = "random"
    device: Annotated[str, Opt("--device", suite=True, help="cpu (default), cuda or cuda:N")] = "cpu"
    dtype: Annotated[str, Opt("--dtype", suite=True, per_model=True,
                              help=f"one of {', '.join(DTYPES)} (default auto)")] = "auto"
    max_new_tokens: Annotated[int, at_least(1), Opt(
        "--max-new-tokens", suite=True, per_model=True,
        help="output length, enforced exactly (min = max); default 32")] = 32
    repeats: Annotated[int, at_least(1), Opt(
        "--repeats", suite=True, per_model=True, help="measured repeats of each prompt (default 3)")] = 3
    warmup: Annotated[int, at_least(0), Opt(
        "--warmup", suite=True, per_model=True,
        help="unrecorded warmup requests per model and scenario (default 1)")] = 1
    # before a scenario's first measured cell, one unrecorded 1-token pass (prefill) over every
    # distinct prompt group it measures, besides the ``warmup`` full requests (none when warmup is 0)
    warmup_shapes: Annotated[bool, Opt(
        "--warmup-shapes", action="bool", suite=True, per_model=True,
        help="in-process backends: also run every distinct prompt of a scenario once, prefill only "
             "(1 output token), before its first measured request, so one-time costs per input shape "
             "stay out of the first repeat (default on; none with --warmup 0)")] = True
    prompts: Annotated[Optional[list[str]], Opt(
        "--prompts", parse=_comma_list, metavar="ID,ID", suite=True, per_model=True,
        help="subset of prompt ids (default: the whole set)")] = None
    promptset_version: Annotated[str, Opt(
        "--promptset", suite=True, suite_key="promptset", help="prompt-set version (default v1)")] = "v1"
    promptset_dir: Annotated[Optional[str], Opt(
        "--promptset-dir", metavar="DIR",
        help="use the prompt set in DIR (manifest.json + images) instead of the packaged one")] = None
    # the image axis (promptset/generated.py, promptset/dataset.py, runner/grid.py)
    images: Annotated[list[str], Opt(
        "--images", parse=_comma_list, metavar="WxH,WxH", suite=True,
        help="add generated images of these sizes (photo mosaics, deterministic from --seed; each "
             "image's sha256 is recorded); without --prompts only these are measured")] = []
    image_format: Annotated[Literal["jpeg", "png"], Opt(
        "--image-format", suite=True, help="encoding of generated images (default jpeg)")] = "jpeg"
    images_per_request: Annotated[int, at_least(1), Opt(
        "--images-per-request", metavar="N", suite=True,
        help="generated images per request (default 1); a model that takes fewer refuses the run")] = 1
    image_grid: Annotated[Optional[str], Opt(
        "--image-grid", metavar="auto|auto:N", suite=True,
        help="per model, generated sizes on both sides of every step of its visual-token count "
             "(its processor's own rule) up to its maximum, plus its native size; auto:N keeps N")] = None
    # --image-grid resolved before the run: model -> [[width, height, image tokens], ...]
    grid_sizes: dict[str, list[list[int]]] = {}
    dataset: Annotated[Optional[str], Opt(
        "--dataset", metavar="FILE.jsonl", suite=True,
        help="prompts with local images, one JSON object a line (vLLM custom JSONL shape, interleaved "
             "content parts accepted); hashed into the manifest")] = None
    cache_states: Annotated[list[Literal["cold", "same-image", "identical"]], Opt(
        "--cache-state", parse=_comma_list, metavar="STATE,STATE", suite=True,
        help="cold (unique image bytes and text per request), same-image (same image bytes, new text: an "
             "encoder/processor-cache hit), identical (an exact repeat: a prefix-cache hit); each state is "
             "its own scenario, recorded per row (default: cold, or identical with --no-cache-bust, which "
             "remain as aliases)")] = []
    batch_sizes: Annotated[list[int], at_least(1), Opt(
        "--batch-sizes", parse=int_list, metavar="B,B", suite=True, per_model=True,
        help="batch sizes, each one generate call over different images (default 1)")] = [1]
    # [[batch_size, max_new_tokens], ...]; overrides the two above (suite files: ``scenarios``)
    scenarios: Optional[list[list[int]]] = None
    suite: Optional[str] = None  # name of the suite the run came from
    out: Annotated[Path, Opt("--out", help="results root (default ./results)")] = Path("results")
    run_id: Annotated[Optional[str], Opt(
        "--run-id", help="name of the run folder (default: time-host-random)")] = None
    trust_remote_code: Annotated[bool, Opt(
        "--trust-remote-code", action="store_true", suite=True,
        help="allow a pretrained checkpoint to run its own code (off unless given)")] = False
    seed: Annotated[int, Opt("--seed", suite=True)] = 0
    plugins: Annotated[list[str], Opt(
        "--plugin", action="append", metavar="MODULE",
        help="import MODULE and add its ENTRIES to the catalog (repeatable)")] = []
    model_timeout_s: Annotated[Optional[float], more_than(0, " s"), Opt(
        "--model-timeout", metavar="S", suite=True, per_model=True,
        help="give up on a model after S seconds (rows become status=timeout)")] = None
    request_timeout_s: Annotated[float, more_than(0, " s"), Opt(
        "--request-timeout", metavar="S", suite=True, per_model=True,
        help="give up on one request after S seconds (row status=timeout; default 300). In-process, "
             "the worker is killed and a fresh one continues with the model's other requests")] = 300.0
    progress: Annotated[bool, Opt("--no-progress", action="store_false", help="no progress bar")] = True
    # model id -> {field: value} replacing the run's value for that model only (suite files: a
    # ``models`` item written as a mapping); keys are the fields declared ``per_model``
    model_overrides: dict[str, dict[str, Any]] = {}
    # the part only the chosen backend reads (vlmbench.options.BACKEND_OPTIONS)
    options: AnyBackendOptions = Field(default_factory=lambda: BACKEND_OPTIONS[DEFAULT_BACKEND]())

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise UsageError(describe(exc, data)) from None

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        """The flat form -> ``options``: ``backend`` and the keys of that backend's model move
        into it; a key of another backend's model is refused naming its flag."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        options = data.pop("options", None)
        options = dict(options.model_dump() if isinstance(options, BaseModel) else options or {})
        backend = data.pop("backend", None) or options.get("backend") or selected_backend(data) or DEFAULT_BACKEND
        options["backend"] = backend
        own = BACKEND_OPTIONS.get(backend)
        if own is None:
            raise ValueError(f"--backend {backend!r}: unknown backend (known: {', '.join(BACKEND_OPTIONS)})")
        for key in [k for k in data if k not in cls.model_fields]:
            if key in own.model_fields:
                options[key] = data.pop(key)
                continue
            owner = next((name for name, model in BACKEND_OPTIONS.items() if key in model.model_fields), None)
            if owner is not None:
                flag = option_of(BACKEND_OPTIONS[owner].model_fields[key])
                raise ValueError(f"{flag.flag if flag else key}: only with --backend {owner}")
        data["options"] = options
        return data

    @property
    def backend(self) -> str:
        return self.options.backend

    def __getattr__(self, name: str) -> Any:
        """The chosen backend's options read as the run's own (``config.cache_bust``)."""
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except AttributeError:
            options = self.__dict__.get("options")
            if options is not None and name in type(options).model_fields:
                return getattr(options, name)
            raise

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RunConfig":
        """Inverse of ``to_json`` (as stored in manifest.json); unknown keys are ignored, and so
        are other backends' options (older manifests hold every backend's)."""
        backend = data.get("backend") or DEFAULT_BACKEND
        known = set(cls.model_fields) | set(BACKEND_OPTIONS.get(backend, BackendOptions).model_fields)
        return cls(**{k: v for k, v in data.items() if k in known and k != "options"})

    def flat(self) -> dict[str, Any]:
        """The flat form: every field, the backend's options among them (``RunConfig(**flat)``
        gives this configuration back)."""
        data = self.model_dump(exclude={"options"})
        return {**data, **self.options.model_dump()}

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with ``changes`` (flat keys) applied and checked; changing ``backend`` drops
        the options of the one before."""
        data = self.flat()
        if "backend" not in changes and selected_backend(changes):
            changes = {**changes, "backend": selected_backend(changes)}
        if changes.get("backend", self.backend) != self.backend:
            for name in type(self.options).model_fields:
                data.pop(name)
        return RunConfig(**{**data, **changes})

    def for_model(self, model_id: str) -> "RunConfig":
        """This configuration as it applies to one model (its overrides, if any, applied)."""
        changes = self.model_overrides.get(model_id)
        if not changes:
            return self
        changes = dict(changes)
        if "batch_sizes" in changes or "max_new_tokens" in changes:
            changes["scenarios"] = changes.get("scenarios")
        return self.replace(**changes)

    def to_json(self) -> dict[str, Any]:
        data = self.flat()
        data["out"] = str(self.out)
        return data


def describe(exc: ValidationError, given: dict[str, Any]) -> str:
    """The first problem of a RunConfig, in one line naming the flag and the value given."""
    error = exc.errors(include_url=False)[0]
    names = [part for part in error["loc"] if isinstance(part, str)]
    if not names:  # raised by a model validator: already worded
        return problem(error)
    field, flag = _declared(names[-1] if names[0] == "options" else names[0])
    if error["type"] == "union_tag_invalid":  # an unknown --backend
        return f"--backend {error['ctx']['tag']!r}: unknown backend (known: {', '.join(BACKEND_OPTIONS)})"
    name = flag.flag if flag else names[-1]
    if error["type"] == "extra_forbidden":
        return f"{name}: unknown option"
    value = given.get(names[-1], error.get("input"))
    return f"{name} {value!r}: {problem(error, field.annotation if field else None)}"


def _declared(name: str) -> tuple[Any, Optional[Opt]]:
    for model in option_models():
        field = model.model_fields.get(name)
        if field is not None:
            return field, option_of(field)
    return None, None


def option_models() -> tuple[type[BaseModel], ...]:
    """Every model declaring run options: RunConfig, the ``backend`` choice, each backend's options."""
    return (RunConfig, BackendOptions, *BACKEND_OPTIONS.values())
