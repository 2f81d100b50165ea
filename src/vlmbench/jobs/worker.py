"""The worker process: loads one model through its backend and measures every cell of its job.

It runs in its own process (forked from the preloaded fork server, ``jobs/processes.py``), so a
crash, an abort or the kernel's OOM killer takes down only this model; the parent turns the missing cells into error rows.
Messages to the parent, over a pipe: ``vlmbench.vocab.messages`` (Loaded, Started, Rows, ..., Done).
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Optional

from vlmbench.config import RunConfig
from vlmbench.vocab.cells import ModelJob
from vlmbench.vocab.messages import Done, Fatal, Loaded, LoadFailed, Rows, SideRecord, Started, Stopped


@dataclass
class WorkerJob:
    run_id: str
    config: RunConfig
    job: ModelJob
    promptset_version: str
    promptset_root: Optional[str]
    prompt_ids: list[str]
    env: dict[str, str] = field(default_factory=dict)  # set before anything runs (an executor's device assignment)


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


def _release_fork_server() -> None:
    """A worker forked by the fork server inherits the write end of the server's "alive" pipe
    (CPython hands it to every child); while any worker holds it, the server does not see the
    orchestrator die. Closing it here lets the server exit with the orchestrator, and the kernel
    then SIGKILLs this worker (its parent-death signal, below)."""
    import os
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this worker when the parent dies (no orphaned generate)."""
    _release_fork_server()
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _apply_env(env: dict[str, str]) -> None:
    """The executor's assignment (e.g. CUDA_VISIBLE_DEVICES of a Ray task): the fork server may
    predate it, and CUDA reads it only when this worker first touches a GPU."""
    import os

    os.environ.update(env)
    threads = env.get("OMP_NUM_THREADS")
    if threads and threads.isdigit() and int(threads) > 0:
        import torch

        if torch.get_num_threads() != int(threads):
            torch.set_num_threads(int(threads))


def worker_main(conn: Connection, wjob: WorkerJob) -> None:
    _die_with_parent()
    if wjob.env:
        _apply_env(wjob.env)
    try:
        _serve(conn, wjob)
    except BaseException:  # anything unexpected: report it, the parent writes error rows
        try:
            conn.send(Fatal(traceback.format_exc(limit=5)[-800:]))
        except (BrokenPipeError, OSError):
            pass
        raise
    finally:
        conn.close()


def _serve(conn: Connection, wjob: WorkerJob) -> None:
    from vlmbench.backends import backend_class
    from vlmbench.catalog import load_module
    from vlmbench.promptset.compose import run_promptset
    from vlmbench.results.schema import Status
    from vlmbench.jobs.rows import failure_rows, identity

    config = wjob.config
    for plugin in config.plugins:
        load_module(plugin)
    _seed(config.seed)
    promptset = run_promptset(config, ids=wjob.prompt_ids)
    job = wjob.job
    backend = backend_class(config.backend)(config, job.spec)
    backend.side = lambda file, record: conn.send(SideRecord(file, record))

    # Scenarios that cannot fit are recorded as skipped without being tried.
    skipped: dict[str, str] = {}
    try:
        skipped = backend.memory_plan(_unique_scenarios(job.cells))
    except Exception:  # an estimate that fails must not stop the measurement
        skipped = {}
    for cell in job.cells:
        if cell.scenario.name in skipped:
            conn.send(Rows(failure_rows(wjob.run_id, config, cell, promptset, Status.SKIPPED,
                                        skipped[cell.scenario.name])))
    cells = [c for c in job.cells if c.scenario.name not in skipped]
    if not cells:
        conn.send(Done())
        return

    try:
        constants: dict[str, Any] = backend.load()
    except BaseException as exc:  # noqa: BLE001 - every failure becomes rows
        status, error = classify(exc)
        conn.send(LoadFailed(status, f"model load failed: {error}"))
        return
    conn.send(Loaded(constants, backend.manifest_info()))

    if backend.capabilities().owns_scheduler:  # it schedules its whole job itself (endpoint load modes)
        def emit(cell: Any, slot: int, columns: dict[str, Any]) -> None:
            row = dict(constants)
            row.update(identity(wjob.run_id, config, cell, slot, promptset))
            row.update(columns)  # the backend's columns win: status, error, cold, window_*
            conn.send(Rows([row]))

        backend.run_job(wjob.run_id, cells, promptset, emit)
        backend.close()
        conn.send(Done())
        return

    _measure_cells(conn, wjob, backend, constants, cells, promptset)
    backend.close()
    conn.send(Done())


def _unique_scenarios(cells: list) -> list:
    return list({c.scenario.name: c.scenario for c in cells}.values())


def _measure_cells(conn: Connection, wjob: WorkerJob, backend: Any, constants: dict[str, Any],
                   cells: list, promptset: Any) -> None:
    """Measure cells in order. The first is the cold request; each scenario is warmed up before
    its first measured cell (the first scenario right after the cold request). Batch sizes of a
    model stop growing at the first out-of-memory: larger batches are not run."""
    from vlmbench.results.schema import Status
    from vlmbench.jobs.rows import failure_rows, identity, window_columns

    config = wjob.config
    warmed: set[str] = set()
    oom_at = None  # (batch size, max_new_tokens) of the first OOM
    not_run: list[str] = []
    for index, cell in enumerate(cells):
        scenario = cell.scenario
        if oom_at and scenario.batch_size >= oom_at[0] and scenario.max_new_tokens >= oom_at[1]:
            not_run.extend(cell.request_ids())
            continue
        if index > 0 and scenario.name not in warmed:
            _warmup(backend, cells, cell, promptset, config)
            warmed.add(scenario.name)
        items = [promptset.get(pid) for pid in cell.prompt_ids]
        cold = index == 0
        conn.send(Started(index, cell.window_id))
        try:
            partials = backend.measure(items, scenario.max_new_tokens)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            status, error = classify(exc)
            if status == Status.OOM.value:
                oom_at = (scenario.batch_size, scenario.max_new_tokens)
                _release(backend)
            conn.send(Rows(failure_rows(wjob.run_id, config, cell, promptset, Status(status), error,
                                        constants, cold)))
            continue
        window = window_columns(partials)
        rows = []
        for slot, partial in enumerate(partials):
            row = dict(constants)
            row.update(partial)
            row.update(identity(wjob.run_id, config, cell, slot, promptset))
            row.update(window)
            row.update(status=Status.OK.value, error=None, cold=cold)
            rows.append(row)
        conn.send(Rows(rows))
        if index == 0:  # the cold request is measured first, then the warmup
            _warmup(backend, cells, cell, promptset, config, seen=cell.prompt_ids)
            warmed.add(scenario.name)
    if not_run:
        conn.send(Stopped(not_run, f"not run: batch {oom_at[0]} ran out of memory, larger batches stop"))


def _release(backend: Any) -> None:
    import gc

    gc.collect()
    backend.release_memory()


def _warmup(backend: Any, cells: list, cell: Any, promptset: Any, config: Any, seen: tuple = ()) -> None:
    """Unrecorded requests before ``cell``'s scenario is measured: ``config.warmup`` full requests
    over the scenario's own prompt groups (cycling), then, with ``config.warmup_shapes`` (and a
    warmup asked for: ``--warmup 0`` means no unrecorded request at all), one prefill-only pass
    (1 output token) over each of its other prompt groups (``seen``: the cold request's, already
    run). The first repeat then meets no input shape for the first time: one-time costs per shape
    (allocations growing, kernels set up) would otherwise make it slower than the later ones,
    which the drift check reads as a warmup too short."""
    scenario = cell.scenario
    groups = list(dict.fromkeys(c.prompt_ids for c in cells if c.scenario.name == scenario.name))
    try:
        for w in range(config.warmup):
            group = groups[w % len(groups)]
            backend.measure([promptset.get(pid) for pid in group], scenario.max_new_tokens)
        if config.warmup_shapes and config.warmup > 0:
            done = set(groups[:config.warmup]) | {tuple(seen)}
            for group in groups:
                if group not in done:
                    backend.measure([promptset.get(pid) for pid in group], 1)
    except Exception:  # noqa: BLE001 - a failing warmup shows up again, measured, in the cell itself
        return
