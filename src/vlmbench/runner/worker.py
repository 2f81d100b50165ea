"""The worker process: loads one model through its backend and measures every cell of its job.

It runs in a fresh interpreter (multiprocessing "spawn"), so a crash, an abort or the kernel's
OOM killer takes down only this model; the parent turns the missing cells into error rows.
Messages to the parent, over a pipe: ("loaded", constants, info), ("row", row), ("done",).
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Optional

from vlmbench.config import RunConfig
from vlmbench.runner.plan import ModelJob


@dataclass
class WorkerJob:
    run_id: str
    config: RunConfig
    job: ModelJob
    promptset_version: str
    promptset_root: Optional[str]
    prompt_ids: list[str]


def classify(exc: BaseException) -> tuple[str, str]:
    """(status, error text) for an exception raised while serving a request."""
    import torch

    from vlmbench.results.schema import Status

    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return Status.OOM.value, f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return Status.ERROR.value, f"{type(exc).__name__}: {first}"[:500]


def _seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def worker_main(conn: Connection, wjob: WorkerJob) -> None:
    try:
        _serve(conn, wjob)
    except BaseException:  # anything unexpected: report it, the parent writes error rows
        try:
            conn.send(("fatal", traceback.format_exc(limit=5)[-800:]))
        except (BrokenPipeError, OSError):
            pass
        raise
    finally:
        conn.close()


def _serve(conn: Connection, wjob: WorkerJob) -> None:
    from vlmbench.backends import backend_class
    from vlmbench.catalog import load_module
    from vlmbench.promptset import load_promptset
    from vlmbench.results.schema import Status
    from vlmbench.runner.rows import failure_rows, identity, window_columns

    config = wjob.config
    for plugin in config.plugins:
        load_module(plugin)
    _seed(config.seed)
    promptset = load_promptset(wjob.promptset_version, ids=wjob.prompt_ids, root=wjob.promptset_root)
    job = wjob.job
    backend = backend_class(config.backend)(config, job.spec)
    try:
        constants: dict[str, Any] = backend.load()
    except BaseException as exc:  # noqa: BLE001 - every failure becomes rows
        status, error = classify(exc)
        conn.send(("load_failed", status, f"model load failed: {error}"))
        return
    conn.send(("loaded", constants, backend.manifest_info()))

    if hasattr(backend, "run_job"):  # a backend that schedules its whole job itself (endpoint load modes)
        def emit(cell: Any, slot: int, columns: dict[str, Any]) -> None:
            row = dict(constants)
            row.update(identity(wjob.run_id, config, cell, slot, promptset))
            row.update(columns)  # the backend's columns win: status, error, cold, window_*
            conn.send(("row", row))

        backend.run_job(wjob.run_id, job.cells, promptset, emit)
        backend.close()
        conn.send(("done",))
        return

    warmed: set[str] = set()
    for index, cell in enumerate(job.cells):
        scenario = cell.scenario.name
        if index > 0 and scenario not in warmed:
            _warmup(backend, cell, promptset, config.warmup)
            warmed.add(scenario)
        items = [promptset.get(pid) for pid in cell.prompt_ids]
        cold = index == 0
        try:
            partials = backend.measure(items, cell.scenario.max_new_tokens)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            status, error = classify(exc)
            for row in failure_rows(wjob.run_id, config, cell, promptset, Status(status), error, constants, cold):
                conn.send(("row", row))
            continue
        window = window_columns(partials)
        for slot, partial in enumerate(partials):
            row = dict(constants)
            row.update(partial)
            row.update(identity(wjob.run_id, config, cell, slot, promptset))
            row.update(window)
            row.update(status=Status.OK.value, error=None, cold=cold)
            conn.send(("row", row))
        if index == 0:  # the cold request is measured first, then the warmup
            _warmup(backend, cell, promptset, config.warmup)
            warmed.add(scenario)
    backend.close()
    conn.send(("done",))


def _warmup(backend: Any, cell: Any, promptset: Any, count: int) -> None:
    """Unrecorded requests in the cell's scenario, cycling through the prompt set."""
    ids = promptset.ids()
    size = cell.scenario.batch_size
    for w in range(count):
        items = [promptset.get(ids[(w * size + k) % len(ids)]) for k in range(size)]
        try:
            backend.measure(items, cell.scenario.max_new_tokens)
        except Exception:  # a failing warmup shows up again, measured, in the cell itself
            return
