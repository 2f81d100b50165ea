"""One model's job: its cells measured in worker processes, every row handed on as it arrives.

This is the job logic every executor runs (``executors/local.py`` in this process, ``executors/
ray.py`` inside a Ray task on the node that has the target's resources). The job waits on the
worker's pipe and process sentinel together (``multiprocessing.connection.wait``) with a
deadline, so it never busy-waits, never hangs, and notices a dead worker at once:

- a worker that dies (segfault, abort, SIGKILL from the kernel's OOM killer) turns the cells
  it had not finished into ``status=error`` rows naming the signal;
- a request running past ``request_timeout_s`` becomes ``status=timeout`` rows; the worker is
  killed and a fresh one continues with the model's remaining cells;
- a model running past ``model_timeout_s`` (load included) gets ``status=timeout`` rows for
  everything it had left.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any, Callable, Optional

from vlmbench.config import RunConfig
from vlmbench.jobs.processes import worker_context
from vlmbench.jobs.rows import failure_rows
from vlmbench.jobs.worker import WorkerJob, worker_main
from vlmbench.promptset import PromptSet
from vlmbench.results.schema import Status
from vlmbench.vocab.cells import Cell, ModelJob

_JOIN_TIMEOUT_S = 30.0


def describe_exit(exitcode: Optional[int]) -> str:
    if exitcode is None:
        return "worker did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the kernel's OOM killer sends SIGKILL)" if -exitcode == signal.SIGKILL else ""
        return f"worker died: killed by {name} (signal {-exitcode}){hint}"
    return f"worker died: exit code {exitcode}"


@dataclass
class _Attempt:
    """Outcome of one worker process: what failed, and which cells to retry in a fresh worker."""

    failure: Optional[tuple[Status, str]] = None
    retry: list[Cell] = field(default_factory=list)


class JobRunner:
    """Runs one model's cells in worker processes; every row goes to ``emit`` as it arrives.

    ``done_ids`` are request ids whose rows exist already (a resumed run): they are not sent
    again. ``worker_env`` is applied in the worker before anything runs (an executor's device
    assignment, e.g. ``CUDA_VISIBLE_DEVICES`` given to a Ray task)."""

    def __init__(self, run_id: str, config: RunConfig, promptset: PromptSet, emit: Callable[[dict[str, Any]], None],
                 models_info: dict[str, Any], done_ids: Optional[set[str]] = None,
                 worker_env: Optional[dict[str, str]] = None) -> None:
        self.run_id = run_id
        self.config = config
        self.promptset = promptset
        self.emit = emit
        self.models_info = models_info
        self.done_ids = set(done_ids or ())
        self.worker_env = dict(worker_env or {})

    def write(self, row: dict[str, Any]) -> None:
        if row["request_id"] in self.done_ids:  # resumed cell: keep the row already on disk
            return
        self.done_ids.add(row["request_id"])
        self.emit(row)

    def run(self, job: ModelJob) -> None:
        config = self.config.for_model(job.spec.model)
        deadline = time.monotonic() + config.model_timeout_s if config.model_timeout_s else None
        cells = list(job.cells)
        while cells:
            attempt = self._attempt(job, cells, deadline, config)
            cells = attempt.retry

    def _attempt(self, job: ModelJob, cells: list[Cell], model_deadline: Optional[float],
                 config: RunConfig) -> _Attempt:
        ctx = worker_context()
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        wjob = WorkerJob(self.run_id, config, ModelJob(job.spec, cells), self.promptset.version,
                         str(self.promptset.root), self.promptset.ids(), self.worker_env)
        proc = ctx.Process(target=worker_main, args=(child_conn, wjob), name=f"vlmbench-{job.spec.model}",
                           daemon=True)
        proc.start()
        child_conn.close()
        model_id = job.spec.model
        by_window = {c.window_id: c for c in cells}
        pending = {rid: cell for cell in cells for rid in cell.request_ids() if rid not in self.done_ids}
        constants: Optional[dict[str, Any]] = None
        in_flight: Optional[Cell] = None
        request_deadline: Optional[float] = None
        outcome = _Attempt()
        try:
            while True:
                deadlines = [d for d in (request_deadline, model_deadline) if d is not None]
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                ready = wait([parent_conn, proc.sentinel], timeout=timeout)
                if not ready:
                    proc.kill()
                    now = time.monotonic()
                    if model_deadline is not None and now >= model_deadline:
                        outcome.failure = (Status.TIMEOUT, f"model timeout after {config.model_timeout_s:g} s")
                    elif in_flight is not None:
                        error = f"request timeout after {config.request_timeout_s:g} s"
                        for row in failure_rows(self.run_id, self.config, in_flight, self.promptset,
                                                Status.TIMEOUT, error, constants):
                            pending.pop(row["request_id"], None)
                            self.write(row)
                        outcome.retry = [c for c in cells if any(r in pending for r in c.request_ids())]
                    break
                if parent_conn in ready:
                    try:
                        message = parent_conn.recv()
                    except (EOFError, OSError):
                        proc.join(_JOIN_TIMEOUT_S)
                        outcome.failure = (Status.ERROR, describe_exit(proc.exitcode))
                        break
                    kind = message[0]
                    if kind in ("rows", "row"):
                        for row in (message[1] if kind == "rows" else [message[1]]):
                            pending.pop(row["request_id"], None)
                            self.write(row)
                        in_flight, request_deadline = None, None
                    elif kind == "start":
                        in_flight = by_window.get(message[2])
                        if config.request_timeout_s:
                            request_deadline = time.monotonic() + config.request_timeout_s
                    elif kind == "loaded":
                        constants = message[1]
                        self.models_info[model_id] = {"constants": constants, **message[2]}
                    elif kind == "stopped":
                        for rid in message[1]:
                            pending.pop(rid, None)
                        self.models_info.setdefault(model_id, {})["not_run"] = message[2]
                    elif kind == "load_failed":
                        outcome.failure = (Status(message[1]), message[2])
                        break
                    elif kind == "fatal":
                        outcome.failure = (Status.ERROR, f"worker crashed: {message[1].strip().splitlines()[-1]}")
                        break
                    elif kind == "done":
                        break
                elif proc.sentinel in ready and not parent_conn.poll(0):
                    proc.join(_JOIN_TIMEOUT_S)
                    outcome.failure = (Status.ERROR, describe_exit(proc.exitcode))
                    break
        finally:
            if pending and not outcome.retry:
                status, error = outcome.failure or (Status.ERROR, "worker ended without measuring this request")
                self._fail_pending(cells, pending, status, error, constants)
            proc.join(_JOIN_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join(_JOIN_TIMEOUT_S)
            parent_conn.close()
        if outcome.failure is not None:
            self.models_info.setdefault(model_id, {})["error"] = outcome.failure[1]
        return outcome

    def _fail_pending(self, cells: list[Cell], pending: dict[str, Cell], status: Status, error: str,
                      constants: Optional[dict[str, Any]]) -> None:
        if constants:
            base = dict(constants)
        else:
            from vlmbench.backends import backend_class

            base = backend_class(self.config.backend).fallback_columns(self.config)
        for cell in cells:
            if not any(rid in pending for rid in cell.request_ids()):
                continue
            for row in failure_rows(self.run_id, self.config, cell, self.promptset, status, error, base):
                if pending.pop(row["request_id"], None) is not None:
                    self.write(row)


@dataclass
class JobUnit:
    """One model job of one target, as an executor receives it.

    ``resources`` is what the job reserves where it runs (Ray options: ``num_cpus``,
    ``num_gpus``, ``accelerator_type``, ``resources``); the local executor ignores it."""

    target: str
    run_id: str
    config: RunConfig
    promptset: PromptSet
    job: ModelJob
    done_ids: frozenset = frozenset()
    resources: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.target}/{self.job.spec.model}"

    def expected_ids(self) -> list[str]:
        return [rid for cell in self.job.cells for rid in cell.request_ids() if rid not in self.done_ids]


class RowSink:
    """Where an executor delivers what its jobs produce, in the driver process. Every method is
    called as the event happens (a row the moment it was measured)."""

    def started(self, unit: JobUnit, where: dict[str, Any]) -> None:
        """The job began on a node; ``where`` is that node's fingerprint."""

    def row(self, unit: JobUnit, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def finished(self, unit: JobUnit, models_info: dict[str, Any], error: Optional[str] = None) -> None:
        """The job ended (``error``: why it could not finish, its missing rows already written)."""

    def done(self, unit: JobUnit) -> set[str]:
        """Request ids of the unit's target that have their row written."""
        raise NotImplementedError

    def interrupted(self, unit: JobUnit, reason: str) -> None:
        """The job stopped early (node or Ray worker lost); what is missing runs again."""

    def missing_cells(self, unit: JobUnit) -> list[Cell]:
        done = self.done(unit)
        return [c for c in unit.job.cells if any(rid not in done for rid in c.request_ids())]

    def give_up(self, unit: JobUnit, status: Status, error: str) -> None:
        """Rows for every request of the unit still missing (a target with no node, a job lost too often)."""
        from vlmbench.backends import backend_class

        base = backend_class(unit.config.backend).fallback_columns(unit.config)
        done = self.done(unit)
        for cell in self.missing_cells(unit):
            for row in failure_rows(unit.run_id, unit.config, cell, unit.promptset, status, error, base):
                if row["request_id"] not in done:
                    self.row(unit, row)


def run_unit(unit: JobUnit, emit: Callable[[dict[str, Any]], None],
             worker_env: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """Run one unit's job here; returns the per-model facts for the manifest."""
    models_info: dict[str, Any] = {}
    JobRunner(unit.run_id, unit.config, unit.promptset, emit, models_info, set(unit.done_ids),
              worker_env).run(unit.job)
    return models_info
