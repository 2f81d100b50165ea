"""Executors: how a plan's jobs are run. One module per executor, one registry line each.

An executor has ``run(units, sink)``: it runs every ``jobs.job.JobUnit`` with the job logic of
``jobs/job.py`` (never a copy of it) and calls the sink as things happen: ``started`` (the
node's fingerprint), ``row`` (each row the moment it was measured), ``finished``.
"""

from __future__ import annotations

import importlib
from typing import Any

from vlmbench.errors import UsageError

# name -> (module, class). Modules are imported on demand: Ray is an optional extra.
EXECUTORS: dict[str, tuple[str, str]] = {
    "local": ("vlmbench.executors.local", "LocalExecutor"),
    "ray": ("vlmbench.executors.ray", "RayExecutor"),
}


def executor_class(name: str) -> Any:
    try:
        module, cls = EXECUTORS[name]
    except KeyError:
        raise UsageError(f"executor {name!r}: unknown (known: {', '.join(EXECUTORS)})") from None
    return getattr(importlib.import_module(module), cls)
