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
from vlmbench.vocab.messages import Done, Fatal, Loaded, LoadFailed, Rows, SideRecord, Started, Stopped

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


@dataclass(frozen=True)
class _Deadline:
    """No message before the request's or the model's deadline."""


@dataclass(frozen=True)
class _Exited:
    """The worker process ended without a last message (a signal, an exit code)."""

    error: str


@dataclass
class _Attempt:
    """One worker process, what the job has heard from it, and its outcome: what failed, and
    which cells to retry in a fresh worker."""

    proc: Any
    conn: Any
    model_id: str
    config: RunConfig
    cells: list[Cell]
    model_deadline: Optional[float]
    pending: dict[str, Cell]  # request id -> its cell, for every row not written yet
    constants: Optional[dict[str, Any]] = None
    in_flight: Optional[Cell] = None
    request_deadline: Optional[float] = None
    over: bool = False
    failure: Optional[tuple[Status, str]] = None
    retry: list[Cell] = field(default_factory=list)

    def end(self, failure: Optional[tuple[Status, str]] = None) -> None:
        self.over, self.failure = True, failure


class JobRunner:
    """Runs one model's cells in worker processes; every row goes to ``emit`` as it arrives.

    ``done_ids`` are request ids whose rows exist already (a resumed run): they are not sent
    again. ``worker_env`` is applied in the worker before anything runs (an executor's device
    assignment, e.g. ``CUDA_VISIBLE_DEVICES`` given to a Ray task). ``side`` receives the worker's
    side-file records (``SideRecord``) for the driver to write."""

    def __init__(self, run_id: str, config: RunConfig, promptset: PromptSet, emit: Callable[[dict[str, Any]], None],
                 models_info: dict[str, Any], done_ids: Optional[set[str]] = None,
                 worker_env: Optional[dict[str, str]] = None,
                 side: Optional[Callable[[SideRecord], None]] = None) -> None:
        self.run_id = run_id
        self.config = config
        self.promptset = promptset
        self.emit = emit
        self.side = side or (lambda record: None)
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
        attempt = self._start_worker(job, cells, model_deadline, config)
        try:
            while not attempt.over:
                message = self._wait(attempt)
                self._HANDLERS[type(message)](self, message, attempt)
        finally:
            self._finish(attempt)
        return attempt

    def _start_worker(self, job: ModelJob, cells: list[Cell], model_deadline: Optional[float],
                      config: RunConfig) -> _Attempt:
        ctx = worker_context()
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        wjob = WorkerJob(self.run_id, config, ModelJob(job.spec, cells), self.promptset.version,
                         str(self.promptset.root), self.promptset.ids(), self.worker_env)
        proc = ctx.Process(target=worker_main, args=(child_conn, wjob), name=f"vlmbench-{job.spec.model}",
                           daemon=True)
        proc.start()
        child_conn.close()
        pending = {rid: cell for cell in cells for rid in cell.request_ids() if rid not in self.done_ids}
        return _Attempt(proc, parent_conn, job.spec.model, config, cells, model_deadline, pending)

    # -- wait: the next message, or why none came --------------------------------------------------
    def _wait(self, attempt: _Attempt) -> Any:
        deadlines = [d for d in (attempt.request_deadline, attempt.model_deadline) if d is not None]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        ready = wait([attempt.conn, attempt.proc.sentinel], timeout=timeout)
        if not ready:
            return _Deadline()
        if attempt.conn in ready or attempt.conn.poll(0):
            try:
                return attempt.conn.recv()
            except (EOFError, OSError):
                pass
        attempt.proc.join(_JOIN_TIMEOUT_S)
        return _Exited(describe_exit(attempt.proc.exitcode))

    # -- dispatch: one handler per message type ----------------------------------------------------
    def _on_rows(self, message: Rows, attempt: _Attempt) -> None:
        for row in message.rows:
            attempt.pending.pop(row["request_id"], None)
            self.write(row)
        attempt.in_flight, attempt.request_deadline = None, None

    def _on_started(self, message: Started, attempt: _Attempt) -> None:
        attempt.in_flight = next((c for c in attempt.cells if c.window_id == message.window_id), None)
        if attempt.config.request_timeout_s:
            attempt.request_deadline = time.monotonic() + attempt.config.request_timeout_s

    def _on_loaded(self, message: Loaded, attempt: _Attempt) -> None:
        attempt.constants = message.constants
        self.models_info[attempt.model_id] = {"constants": message.constants, **message.info}

    def _on_stopped(self, message: Stopped, attempt: _Attempt) -> None:
        for rid in message.request_ids:
            attempt.pending.pop(rid, None)
        self.models_info.setdefault(attempt.model_id, {})["not_run"] = message.reason

    def _on_load_failed(self, message: LoadFailed, attempt: _Attempt) -> None:
        attempt.end((Status(message.status), message.error))

    def _on_fatal(self, message: Fatal, attempt: _Attempt) -> None:
        attempt.end((Status.ERROR, f"worker crashed: {message.traceback.strip().splitlines()[-1]}"))

    def _on_side_record(self, message: SideRecord, attempt: _Attempt) -> None:
        self.side(message)

    def _on_done(self, message: Done, attempt: _Attempt) -> None:
        attempt.end()

    def _on_exited(self, message: _Exited, attempt: _Attempt) -> None:
        attempt.end((Status.ERROR, message.error))

    def _on_deadline(self, message: _Deadline, attempt: _Attempt) -> None:
        """The model's time is up (timeout rows for all it had left), or the request's: timeout
        rows for its cell, and a fresh worker continues with the others."""
        attempt.proc.kill()
        config = attempt.config
        if attempt.model_deadline is not None and time.monotonic() >= attempt.model_deadline:
            attempt.end((Status.TIMEOUT, f"model timeout after {config.model_timeout_s:g} s"))
            return
        if attempt.in_flight is not None:
            error = f"request timeout after {config.request_timeout_s:g} s"
            for row in failure_rows(self.run_id, self.config, attempt.in_flight, self.promptset,
                                    Status.TIMEOUT, error, attempt.constants):
                attempt.pending.pop(row["request_id"], None)
                self.write(row)
            attempt.retry = [c for c in attempt.cells if any(r in attempt.pending for r in c.request_ids())]
        attempt.over = True

    _HANDLERS: dict[type, Callable[["JobRunner", Any, _Attempt], None]] = {
        Rows: _on_rows, Started: _on_started, Loaded: _on_loaded, Stopped: _on_stopped,
        LoadFailed: _on_load_failed, Fatal: _on_fatal, Done: _on_done, _Exited: _on_exited,
        _Deadline: _on_deadline, SideRecord: _on_side_record,
    }

    # -- finish: rows for what is left, the process reaped -----------------------------------------
    def _finish(self, attempt: _Attempt) -> None:
        try:
            if attempt.pending and not attempt.retry:
                status, error = attempt.failure or (Status.ERROR, "worker ended without measuring this request")
                self._fail_pending(attempt.cells, attempt.pending, status, error, attempt.constants)
        finally:
            attempt.proc.join(_JOIN_TIMEOUT_S)
            if attempt.proc.is_alive():
                attempt.proc.kill()
                attempt.proc.join(_JOIN_TIMEOUT_S)
            attempt.conn.close()
        if attempt.failure is not None:
            self.models_info.setdefault(attempt.model_id, {})["error"] = attempt.failure[1]

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

    def side(self, unit: JobUnit, message: SideRecord) -> None:
        """A line for a side file of the unit's run folder (e.g. the engine's /metrics deltas of a window)."""
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
             worker_env: Optional[dict[str, str]] = None,
             side: Optional[Callable[[SideRecord], None]] = None) -> dict[str, Any]:
    """Run one unit's job here; returns the per-model facts for the manifest."""
    models_info: dict[str, Any] = {}
    JobRunner(unit.run_id, unit.config, unit.promptset, emit, models_info, set(unit.done_ids),
              worker_env, side).run(unit.job)
    return models_info
