"""The ``openai`` backend: benchmark an OpenAI-compatible chat endpoint with the prompt set.

``load`` resolves the endpoint, the API key (from the variable named by ``--api-key-env``;
never written anywhere), the server kind (``--server-kind``, or detected, see
:mod:`server_kinds`) and an optional client tokenizer. ``run_job`` drives the whole job,
one load window per scenario (see :mod:`load`):

1. the job's first request is measured alone, sequentially, before any warmup (``cold``);
2. before each window, ``--warmup`` unrecorded rounds at the window's own load (a burst of C
   requests for a closed loop, one request when sequential or at the Poisson rate);
3. every request body of the window is built (image encoding timed as ``encode_ms``), then
   the window runs under its load mode (at least ``--min-window-requests``, default 10 x C,
   requests: the plan repeats the prompts; with ``--window-seconds`` it keeps sending further
   repeats until that long since its first send), then rows are computed and sent on, window
   throughput over the steady interval and ramp/drain rows flagged (:mod:`steady`).

Every request, warmup included, is made unique (cache busting, see :mod:`request`) unless
``--no-cache-bust``; every row records which in ``cache_bust``. All requests of the job go
through one HTTP session (:mod:`session`): keep-alive connections reused from window to
window, at most max(``--concurrency``) of them open (no limit with ``--rate``), or one new
connection per request with ``--new-connection-per-request``.

Rows record ``device`` = endpoint ``host:port``, ``hardware`` = ``--hardware`` or ``remote``,
``processor_kind`` = ``remote``. An endpoint that cannot be probed for ``--server-kind auto``
gives every row of the job that error (e.g. ``connect_refused: ...``) rather than failing the
model load, so the rows still name the endpoint.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any, Optional, Sequence

from vlmbench.backends.base import Backend, Emit
from vlmbench.backends.openai.client import ChatClient
from vlmbench.backends.openai.columns import OutcomeColumns, TokenCounter
from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.load import (
    MIN_WINDOW_PER_LANE, ClosedLoop, LoadMode, LoadScenario, PoissonArrivals, Sequential, default_min_requests,
    load_modes,
)
from vlmbench.backends.openai.metrics import SLO
from vlmbench.backends.openai.parity import InputParity
from vlmbench.backends.openai.request import CacheBuster, RequestBuilder
from vlmbench.backends.openai.errors import EndpointError
from vlmbench.backends.openai.server_kinds import AUTO, KIND_CHOICES, SERVER_KINDS, ServerKind, detect, server_kind
from vlmbench.backends.openai.session import ConnectionOptions, tls_context
from vlmbench.backends.openai.window import run_window
from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.promptset import PromptItem, PromptSet
from vlmbench.vocab.cells import Cell

# Most requests a duration window builds ahead past its planned ones (bodies hold images).
MAX_PREBUILT_EXTRA = 512


def read_api_key(variable: Optional[str]) -> Optional[str]:
    """The key held by the environment variable named ``variable`` (None when not named).
    Errors name the variable, never its value."""
    if not variable:
        return None
    value = os.environ.get(variable, "")
    if not value.strip():
        raise UsageError(f"--api-key-env {variable}: the environment variable is not set or empty")
    return value.strip()


def load_client_tokenizer(config: RunConfig, model: str) -> tuple[Optional[TokenCounter], str]:
    """A client-side token counter and where it came from: ``--tokenizer`` if given (errors
    are raised), else the model's folder when ``--model`` is a local folder (errors are only
    noted), else none."""
    source = config.options.tokenizer
    explicit = source is not None
    if source is None and Path(model).expanduser().is_dir():
        source = str(Path(model).expanduser())
    if source is None:
        return None, "none (give --tokenizer to count output tokens on the client)"
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=not explicit,
                                                  trust_remote_code=config.trust_remote_code)
    except Exception as exc:  # noqa: BLE001 - an implicit tokenizer is optional
        if explicit:
            raise UsageError(f"--tokenizer {source!r}: cannot load: {type(exc).__name__}: {exc}") from exc
        return None, f"none ({source}: {type(exc).__name__})"

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count, source


def connection_options(config: RunConfig) -> ConnectionOptions:
    """The HTTP session's settings: pool sized for the largest closed-loop window; no limit
    when Poisson arrivals (which have no bound on requests in flight) are asked for."""
    pool = 0 if config.options.rates else max(config.options.concurrency or [1])
    return ConnectionOptions(new_connection_per_request=config.options.new_connection_per_request,
                             ca_bundle=config.options.ca_bundle, pool_size=pool)


def _scenario_groups(cells: Sequence[Cell]) -> list[tuple[LoadScenario, list[Cell]]]:
    groups: dict[Any, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.scenario, []).append(cell)
    return list(groups.items())


class _ExtraCells:
    """The cells of a window's requests: the planned ones, then (``--window-seconds``) further
    ones cycling through them, each a further repeat of its prompt, numbered on from the
    highest planned repeat (so no request id repeats, the cold request's included)."""

    def __init__(self, cells: list[Cell]) -> None:
        self.cells = list(cells)
        self.planned = len(cells)
        self.next_repeat: dict[tuple[str, ...], int] = {}
        self.top = max(c.repeat for c in cells)

    def at(self, index: int) -> Cell:
        while index >= len(self.cells):
            like = self.cells[(len(self.cells) - self.planned) % self.planned]
            repeat = self.next_repeat.get(like.prompt_ids, self.top + 1)
            self.next_repeat[like.prompt_ids] = repeat + 1
            self.cells.append(Cell(like.model_id, like.scenario, like.prompt_ids, repeat))
        return self.cells[index]


class OpenAIBackend(Backend):
    name = "openai"

    # -- planning and validation (class level: called before any worker starts) ----------
    @classmethod
    def validate_config(cls, config: RunConfig, check_device: bool = True) -> None:
        if not config.options.endpoint:
            raise UsageError("--endpoint: required with --backend openai (e.g. http://127.0.0.1:8000)")
        Endpoint.parse(config.options.endpoint)
        if config.options.server_kind not in KIND_CHOICES:
            raise UsageError(f"--server-kind {config.options.server_kind!r}: must be one of {', '.join(KIND_CHOICES)}")
        read_api_key(config.options.api_key_env)
        cls.validate_load(config)

    @classmethod
    def validate_load(cls, config: RunConfig) -> None:
        """The load options every endpoint-driving backend shares."""
        if any(not (r > 0 and math.isfinite(r)) for r in config.options.rates):
            raise UsageError(f"--rate {config.options.rates}: each must be a positive number of requests/s")
        if config.batch_sizes != [1]:
            raise UsageError(f"--batch-sizes {config.batch_sizes}: not used with --backend openai; "
                             "load an endpoint with --concurrency or --rate")
        if config.options.slo is not None:
            SLO.parse(config.options.slo)
        if config.options.ca_bundle is not None:
            tls_context(config.options.ca_bundle)
        if any(not m.strip() for m in config.models):
            raise UsageError("--model: empty model name")

    @classmethod
    def fallback_columns(cls, config: RunConfig) -> dict[str, Any]:
        """Columns for rows the runner writes itself when a worker dies before loading."""
        return {"backend": cls.name, "device": Endpoint.parse(config.options.endpoint or "").label,
                "hardware": config.options.hardware or Endpoint.parse(config.options.endpoint or "").label}

    @classmethod
    def scenarios(cls, config: RunConfig) -> list[LoadScenario]:
        """One scenario per load window (``seq``, ``c<C>``, ``r<R>``), each one request per cell,
        each at least ``--min-window-requests`` (default 10 x C) requests; the first one more,
        since the job's cold request is taken from it."""
        modes = load_modes(config.options.concurrency, config.options.rates, config.seed)
        least = [default_min_requests(m) if config.options.min_window_requests is None
                 else config.options.min_window_requests for m in modes]
        return [LoadScenario(1, config.max_new_tokens, load=mode, min_requests=n + 1 if i == 0 and n else n)
                for i, (mode, n) in enumerate(zip(modes, least))]

    # -- worker side ------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        cfg = self.config
        self.endpoint = Endpoint.parse(cfg.options.endpoint or "")
        self._api_key = read_api_key(cfg.options.api_key_env)
        self.client = ChatClient(self.endpoint, self._api_key, cfg.request_timeout_s, connection_options(cfg))
        self.served_models: Optional[list] = None  # from GET /v1/models, when asked (server kind auto)
        # An endpoint that cannot be probed is not a load failure: every row gets the probe's
        # error (category first) with the endpoint's own device label.
        self.probe_error: Optional[EndpointError] = None
        try:
            self.kind, self.kind_source = self._resolve_kind()
        except EndpointError as exc:
            self.probe_error = exc
            self.kind, self.kind_source = SERVER_KINDS["generic"], f"not detected: {exc}"
        self.slo = SLO.parse(cfg.options.slo) if cfg.options.slo else None
        self._measure_builder: Optional[RequestBuilder] = None
        self.count_tokens, self.tokenizer_source = load_client_tokenizer(cfg, self.spec.model)
        self.parity = InputParity(self.spec.model)
        return {
            "system": self._system(),
            "weights": None,
            "stack": None if self.probe_error else f"endpoint:{self.kind.name}",
            "backend": self.name,
            "device": self.endpoint.label,
            "dtype": None,
            "hardware": cfg.options.hardware or self.endpoint.label,
            "processor_kind": "remote",
            "attn": None,
            "cache": None,
            "compile": None,
            "weights_mb": None,
            "model_load_ms": None,
        }

    def _resolve_kind(self) -> tuple[ServerKind, str]:
        if self.config.options.server_kind != AUTO:
            return server_kind(self.config.options.server_kind), "--server-kind"
        listing = self.client.run(self.client.get_json())
        self.served_models = [m.get("id") for m in listing.get("data", []) if isinstance(m, dict)] \
            if isinstance(listing, dict) and isinstance(listing.get("data"), list) else []
        return detect(listing)

    def _system(self) -> Optional[str]:
        from vlmbench.catalog import get, has

        return get(self.spec.model).system if has(self.spec.model) else None

    def manifest_info(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.label,
            "server_kind": None if self.probe_error else self.kind.name,
            "server_kind_source": self.kind_source,
            "length_enforced": None if self.probe_error else self.kind.enforces_length,
            "served_models": self.served_models,
            "client_tokenizer": self.tokenizer_source,
            "request_timeout_s": self.config.request_timeout_s,
            "cache_bust": self.config.options.cache_bust,
            "connections": "new per request" if self.config.options.new_connection_per_request else
                           f"keep-alive, pool of {self.client.http.options.pool_size or 'unlimited'}",
            "ca_bundle": self.config.options.ca_bundle,
            "slo_ms": self.slo.limits if self.slo else None,
            "input_parity": self.parity.describe(),
        }

    def _columns(self, max_new_tokens: int, state: str = "") -> OutcomeColumns:
        state = state or self._default_state
        return OutcomeColumns(self.kind, max_new_tokens, state == "cold", self.count_tokens, self.slo, state,
                              self.row_weights)

    row_weights: Optional[str] = None  # what the server loaded; a client does not know

    def run_job(self, run_id: str, cells: Sequence[Cell], promptset: PromptSet, emit: Emit) -> None:
        """Measure every cell (one request each), window by window; ``emit(cell, 0, columns)``
        per request once its window is done."""
        if self.probe_error is not None:
            error = EndpointError(self.probe_error.category,
                                  f"{self.probe_error.detail} (GET /v1/models, asked by --server-kind auto)")
            for cell in cells:
                emit(cell, 0, self._columns(cell.scenario.max_new_tokens, cell.scenario.cache_state).unsent(error, f"{self.spec.model}|{cell.scenario.name}"))
            return
        builder = self._builder(run_id)
        first_window = True
        for scenario, group in _scenario_groups(cells):
            window_id = f"{self.spec.model}|{scenario.name}"
            if first_window:
                first_window = False
                self._window(builder, group[:1], promptset, scenario, Sequential(), f"{window_id}|cold", emit, cold=True)
                group = group[1:]
            request_s = self._warmup(builder, promptset, scenario)
            if group:
                self._window(builder, group, promptset, scenario, scenario.mode, window_id, emit,
                             seconds=self.config.options.window_seconds, request_s=request_s)

    request_extras: dict[str, Any] = {}  # fields every request body carries (an engine's, see backends/engine.py)

    def _builder(self, run_id: str) -> RequestBuilder:
        """Request bodies of this job: every one unique (warmup included) unless --no-cache-bust
        or a --cache-state that shares image or text."""
        return RequestBuilder(self.served_name, self.kind, CacheBuster(run_id), default_state=self._default_state,
                              extra_fields=self.request_extras)

    @property
    def served_name(self) -> str:
        """The model name requests carry."""
        return self.spec.model

    @property
    def _default_state(self) -> str:
        return "cold" if self.config.options.cache_bust else "identical"

    def close(self) -> None:
        """Close the pooled connections."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    def _window(self, builder: RequestBuilder, cells: Sequence[Cell], promptset: PromptSet, scenario: LoadScenario,
                mode: LoadMode, window_id: str, emit: Emit, cold: bool = False, seconds: Optional[float] = None,
                request_s: Optional[float] = None) -> None:
        """One load window: its requests built first, run under ``mode``, rows emitted. With
        ``seconds``, the requests it will likely send past its planned ones are built first too
        (from ``request_s``, the warmup's request time, for closed loops; from the seeded
        arrivals for Poisson); any beyond are built at their send."""
        n, state = scenario.max_new_tokens, scenario.cache_state or None
        extra_cells = _ExtraCells(list(cells))
        count = len(cells)
        if seconds and request_s and mode.lanes:  # a duration window: build the likely extra requests now
            count = max(count, min(count + MAX_PREBUILT_EXTRA, math.ceil(1.2 * seconds * mode.lanes / request_s)))
        elif seconds and isinstance(mode, PoissonArrivals):
            count = len(mode.arrival_offsets_ns(count, seconds))
        requests = [builder.build(promptset.get(extra_cells.at(i).prompt_ids[0]), n, state) for i in range(count)]
        outcomes = run_window(self.client, requests[:len(cells)], mode, seconds=seconds,
                              extra=lambda i: requests[i] if i < len(requests) else
                              builder.build(promptset.get(extra_cells.at(i).prompt_ids[0]), n, state))
        if not cold and mode.lanes and mode.lanes > 1 and len(outcomes) < MIN_WINDOW_PER_LANE * mode.lanes:
            print(f"note: window {window_id}: {len(outcomes)} requests, fewer than {MIN_WINDOW_PER_LANE} x C = "
                  f"{MIN_WINDOW_PER_LANE * mode.lanes}: its steady interval is short", file=sys.stderr, flush=True)
        columns = self._columns(n, scenario.cache_state).window(outcomes, window_id, cold=cold, lanes=mode.lanes)
        for index, (outcome, row) in enumerate(zip(outcomes, columns)):
            cell = extra_cells.at(index)
            if row.get("status") == "ok":
                row.update(self.parity.columns(promptset.get(cell.prompt_ids[0]), outcome.request.parts,
                                               row.get("n_prompt_tokens")))
            emit(cell, 0, row)

    def _warmup(self, builder: RequestBuilder, promptset: PromptSet, scenario: LoadScenario) -> Optional[float]:
        """``--warmup`` unrecorded rounds at the window's own load, cycling through the prompt
        set (in the scenario's cache state: under same-image / identical they prime the caches
        measured): each one burst of C requests for a closed loop (one request when sequential),
        one request at the window's arrival rate for Poisson arrivals. Returns the median request
        time (s) of the warmup, None without one."""
        ids = promptset.ids()
        mode = scenario.mode
        n, state = scenario.max_new_tokens, scenario.cache_state or None
        count = self.config.warmup * (mode.lanes or 1)
        requests = [builder.build(promptset.get(ids[w % len(ids)]), n, state) for w in range(count)]
        if not requests:
            return None
        times = [(o.result.end_ns - o.result.sent_ns) / 1e9 for o in run_window(self.client, requests, mode)
                 if o.result is not None]
        return statistics.median(times) if times else None

    def measure(self, items: Sequence[PromptItem], max_new_tokens: int) -> list[dict[str, Any]]:
        """All ``items`` in flight at once, as one window (the per-cell protocol; ``run_job``
        is what the worker uses)."""
        if self._measure_builder is None:  # one builder: cache-bust tokens stay unique across calls
            self._measure_builder = self._builder(uuid.uuid4().hex)
        builder = self._measure_builder
        requests = [builder.build(item, max_new_tokens) for item in items]
        outcomes = run_window(self.client, requests, ClosedLoop(len(items)))
        failed = next((o.error for o in outcomes if o.error is not None), None)
        if failed is not None:
            raise failed
        return self._columns(max_new_tokens).window(outcomes, window_id="measure", lanes=len(items))
