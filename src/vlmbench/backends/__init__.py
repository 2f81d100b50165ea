"""Backends that run models: in-process transformers (``hf``), OpenAI-compatible HTTP (``openai``).

A new backend is one module (a ``Backend`` subclass, ``backends/base.py``), its options model
(``vlmbench.options``) and one line here naming its class and what it can do. Runner, report and
predict ask these capabilities (``capabilities(row["backend"])``), never a backend's name.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from vlmbench.errors import UsageError
from vlmbench.options import DEFAULT_BACKEND


@dataclass(frozen=True)
class Capabilities:
    """What a backend's rows can be trusted for; recorded in manifest.json (``backend``)."""

    in_process: bool = False  # the model runs in the worker process (not behind a remote server)
    owns_scheduler: bool = False  # it drives its whole job (``Backend.run_job``: load windows)
    stage_times: bool = False  # rows carry the model's own stage times (vision, prefill, model TTFT)
    catalog_models: bool = False  # model ids name catalog entries (size class, shapes, memory)


@dataclass(frozen=True)
class Registered:
    target: str  # "module:Class"
    capabilities: Capabilities


IN_PROCESS = Capabilities(in_process=True, stage_times=True, catalog_models=True)
REMOTE = Capabilities(owns_scheduler=True)
# an engine vlmbench starts: its model ids are catalog entries (or checkpoints) it exported and served
REMOTE_STARTED = Capabilities(owns_scheduler=True, catalog_models=True)

# name -> its class and capabilities. A new backend is one module and one line here.
BACKENDS: dict[str, Registered] = {
    "hf": Registered("vlmbench.backends.hf.backend:HFBackend", IN_PROCESS),
    "openai": Registered("vlmbench.backends.openai.backend:OpenAIBackend", REMOTE),
    "engine": Registered("vlmbench.backends.engine:EngineBackend", REMOTE_STARTED),
}


def backend_class(name: str):
    try:
        target = BACKENDS[name].target
    except KeyError:
        raise UsageError(f"--backend {name!r}: unknown backend (known: {', '.join(BACKENDS)})") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def capabilities(name: Any) -> Capabilities:
    """What the backend named on a row (or in a manifest) can do; an unknown name (a backend of
    a later version) can do nothing in particular, an empty one is the default backend (rows
    written before the ``backend`` column was filled)."""
    if not isinstance(name, str) or not name:  # None, NaN, <NA>, empty
        name = DEFAULT_BACKEND
    entry = BACKENDS.get(str(name))
    return entry.capabilities if entry else Capabilities()


def manifest_facts(name: str) -> dict[str, Any]:
    """``manifest.json``'s ``backend``: its name and capabilities."""
    return {"name": name, **dataclasses.asdict(capabilities(name))}


def run_fingerprint(config: Any) -> dict[str, Any]:
    """The fingerprint a run records and report/archive compare: the machine's (``measure/fingerprint.py``)
    and the sections its backend adds (an engine's version, torch/CUDA and command lines)."""
    from vlmbench.measure.fingerprint import fingerprint

    try:
        facts = backend_class(config.backend).environment_facts(config)
    except UsageError as exc:  # e.g. a campaign node without the engine: its job fails with this reason
        facts = {"unavailable": str(exc)}
    return {**fingerprint(), **facts}
