"""Run a benchmark: validate, plan, one worker process per model, rows flushed to disk.

Workers are forked from a server that has already imported torch and transformers
(``runner/processes.py``), so a model's worker starts in tens of milliseconds.

The parent owns the CSV: it writes each cell's rows the moment a worker sends them. It waits
on the worker's pipe and process sentinel together (``multiprocessing.connection.wait``) with
a deadline, so it never busy-waits, never hangs, and notices a dead worker at once:

- a worker that dies (segfault, abort, SIGKILL from the kernel's OOM killer) turns the cells
  it had not finished into ``status=error`` rows naming the signal;
- a request running past ``request_timeout_s`` becomes ``status=timeout`` rows; the worker is
  killed and a fresh one continues with the model's remaining cells;
- a model running past ``model_timeout_s`` (load included) gets ``status=timeout`` rows for
  everything it had left.

A run can be resumed (``resume_run``): rows already on disk are kept, a torn last line is cut
off, and only the missing cells run, so every expected row ends up present exactly once.
"""

from __future__ import annotations

import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Optional

from vlmbench.config import RunConfig
from vlmbench.errors import UsageError
from vlmbench.measure.fingerprint import fingerprint
from vlmbench.promptset import PromptSet
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import Status
from vlmbench.results.writer import RowWriter
from vlmbench.runner.manifest import read_manifest, write_manifest
from vlmbench.runner.plan import Cell, ModelJob, plan
from vlmbench.runner.processes import warm_up_server, worker_context
from vlmbench.runner.progress import Progress
from vlmbench.runner.rows import failure_rows
from vlmbench.runner.validate import validate
from vlmbench.runner.worker import WorkerJob, worker_main

REQUESTS_FILE = "requests.csv"
_JOIN_TIMEOUT_S = 30.0


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def requests_csv(self) -> Path:
        return self.run_dir / REQUESTS_FILE


def utc_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_id() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    host = "".join(c for c in socket.gethostname().split(".")[0] if c.isalnum() or c == "-")[:24] or "host"
    return f"{stamp}-{host}-{secrets.token_hex(2)}"


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


class _JobRunner:
    """Runs one model's cells in worker processes and writes their rows."""

    def __init__(self, run_id: str, config: RunConfig, promptset: PromptSet, writer: RowWriter,
                 progress: Progress, result: RunResult, models_info: dict[str, Any],
                 done_ids: set[str]) -> None:
        self.run_id = run_id
        self.config = config
        self.promptset = promptset
        self.writer = writer
        self.progress = progress
        self.result = result
        self.models_info = models_info
        self.done_ids = done_ids

    def write(self, row: dict[str, Any]) -> None:
        if row["request_id"] in self.done_ids:  # resumed cell: keep the row already on disk
            return
        self.writer.write(row)
        self.done_ids.add(row["request_id"])
        self.result.rows += 1
        self.result.by_status[row["status"]] = self.result.by_status.get(row["status"], 0) + 1
        self.progress.advance(row)

    def run(self, job: ModelJob) -> None:
        self.progress.set_model(job.spec.model)
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
                         str(self.promptset.root), self.promptset.ids())
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


def _stopped_by_oom(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """model -> (batch size, max_new_tokens) of its first OOM: larger batches are not run."""
    stops: dict[str, tuple[int, int]] = {}
    for r in rows:
        if r["status"] == Status.OOM.value and r.get("batch_size"):
            key = (r["batch_size"], r.get("max_new_tokens") or 0)
            stops[r["model_id"]] = min(stops.get(r["model_id"], key), key)
    return stops


def _remaining(jobs: list[ModelJob], done_ids: set[str], oom_stops: dict[str, tuple[int, int]]) -> list[ModelJob]:
    out = []
    for job in jobs:
        stop = oom_stops.get(job.spec.model)
        cells = [
            c for c in job.cells
            if any(rid not in done_ids for rid in c.request_ids())
            and not (stop and c.scenario.batch_size >= stop[0] and c.scenario.max_new_tokens >= stop[1])
        ]
        if cells:
            out.append(ModelJob(job.spec, cells))
    return out


def run_benchmark(config: RunConfig, promptset: Optional[PromptSet] = None, resume: bool = False) -> RunResult:
    """Validate, then run every model; returns where the results are. Raises UsageError on bad input.

    With ``resume=True``, ``config.out / config.run_id`` must hold an earlier run of the same
    configuration: its rows are kept and only the missing cells run.
    """
    promptset = promptset or validate(config)
    run_id = config.run_id or new_run_id()
    run_dir = Path(config.out) / run_id
    requests_csv = run_dir / REQUESTS_FILE
    done_ids: set[str] = set()
    jobs = plan(config, promptset.ids())
    rows_expected = sum(j.n_rows for j in jobs)
    manifest: dict[str, Any]
    if resume:
        previous = read_rows(requests_csv) if requests_csv.exists() else []
        done_ids = {r["request_id"] for r in previous}
        jobs = _remaining(jobs, done_ids, _stopped_by_oom(previous))
        manifest = read_manifest(run_dir)
        manifest.setdefault("resumed_at", []).append(utc_iso())
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "run_id": run_id,
            "started_at": utc_iso(),
            "ended_at": None,
            "command": sys.argv,
            "config": config.to_json(),
            "promptset": {"version": promptset.version, "ids": promptset.ids()},
            "environment": fingerprint(),
            "models": {},
            "rows_expected": rows_expected,
        }
    models_info: dict[str, Any] = manifest.setdefault("models", {})
    result = RunResult(run_id, run_dir)
    write_manifest(run_dir, manifest)
    warm_up_server()  # the fork server imports torch and transformers once, for every model
    progress = Progress(total=sum(j.n_rows for j in jobs), enabled=config.progress)
    try:
        with RowWriter(requests_csv) as writer:
            runner = _JobRunner(run_id, config, promptset, writer, progress, result, models_info, done_ids)
            for job in jobs:
                runner.run(job)
    finally:
        progress.close()
        manifest["ended_at"] = utc_iso()
        manifest["rows_written"] = manifest.get("rows_written", 0) + result.rows if resume else result.rows
        counts = manifest.get("rows_by_status", {}) if resume else {}
        for status, n in result.by_status.items():
            counts[status] = counts.get(status, 0) + n
        manifest["rows_by_status"] = counts
        write_manifest(run_dir, manifest)
        _point_latest(Path(config.out), run_id)
    return result


def resume_run(run_dir: Path, progress: bool = True) -> RunResult:
    """Finish an interrupted run in place: same configuration, only the missing cells."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if not manifest.get("config"):
        raise UsageError(f"--resume {run_dir}: no manifest.json with a configuration (not a vlmbench run folder)")
    config = RunConfig.from_json(manifest["config"])
    config.out = run_dir.parent
    config.run_id = run_dir.name
    config.progress = progress
    return run_benchmark(config, resume=True)


def _point_latest(out: Path, run_id: str) -> None:
    """``results/latest`` -> the newest run (a relative symlink; skipped where unsupported)."""
    link = out / "latest"
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_id, target_is_directory=True)
    except OSError:
        pass
