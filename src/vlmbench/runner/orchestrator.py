"""Run a benchmark: validate, plan, one spawned worker per model, rows flushed to disk.

The parent owns the CSV: it writes each row the moment a worker sends it. It waits on the
worker's pipe and process sentinel together (``multiprocessing.connection.wait``), so it
never busy-waits and notices a dead worker at once; cells the worker did not finish become
rows with status ``error`` naming the signal or exit code (or ``timeout``).
"""

from __future__ import annotations

import multiprocessing as mp
import secrets
import signal
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Optional

from vlmbench.config import RunConfig
from vlmbench.measure.fingerprint import fingerprint
from vlmbench.promptset import PromptSet
from vlmbench.results.schema import Status
from vlmbench.results.writer import RowWriter
from vlmbench.runner.manifest import write_manifest
from vlmbench.runner.plan import ModelJob, plan
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
        return f"worker died: killed by {name} (signal {-exitcode})"
    return f"worker died: exit code {exitcode}"


class _JobRunner:
    """Runs one ModelJob in a worker process and writes its rows."""

    def __init__(self, run_id: str, config: RunConfig, promptset: PromptSet, writer: RowWriter,
                 progress: Progress, result: RunResult, models_info: dict[str, Any]) -> None:
        self.run_id = run_id
        self.config = config
        self.promptset = promptset
        self.writer = writer
        self.progress = progress
        self.result = result
        self.models_info = models_info

    def write(self, row: dict[str, Any]) -> None:
        self.writer.write(row)
        self.result.rows += 1
        self.result.by_status[row["status"]] = self.result.by_status.get(row["status"], 0) + 1
        self.progress.advance(row)

    def run(self, job: ModelJob) -> None:
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=False)
        wjob = WorkerJob(self.run_id, self.config, job, self.promptset.version, str(self.promptset.root),
                         self.promptset.ids())
        proc = ctx.Process(target=worker_main, args=(child_conn, wjob), name=f"vlmbench-{job.spec.model}", daemon=True)
        proc.start()
        child_conn.close()
        pending = {rid: cell for cell in job.cells for rid in cell.request_ids()}
        constants: Optional[dict[str, Any]] = None
        failure: Optional[tuple[Status, str]] = None
        deadline = None
        if self.config.model_timeout_s:
            deadline = _now() + self.config.model_timeout_s
        model_id = job.spec.model
        self.progress.set_model(model_id)
        try:
            while pending or failure is None:
                timeout = None if deadline is None else max(0.0, deadline - _now())
                ready = wait([parent_conn, proc.sentinel], timeout=timeout)
                if not ready:
                    failure = (Status.TIMEOUT, f"model timeout after {self.config.model_timeout_s:g} s")
                    proc.kill()
                    break
                if parent_conn in ready:
                    try:
                        message = parent_conn.recv()
                    except (EOFError, OSError):
                        proc.join(_JOIN_TIMEOUT_S)
                        failure = (Status.ERROR, describe_exit(proc.exitcode))
                        break
                    kind = message[0]
                    if kind == "row":
                        row = message[1]
                        pending.pop(row["request_id"], None)
                        self.write(row)
                    elif kind == "loaded":
                        constants = message[1]
                        self.models_info[model_id] = {"constants": constants, **message[2]}
                    elif kind == "load_failed":
                        failure = (Status(message[1]), message[2])
                        break
                    elif kind == "fatal":
                        failure = (Status.ERROR, f"worker crashed: {message[1].strip().splitlines()[-1]}")
                        break
                    elif kind == "done":
                        failure = None
                        break
                elif proc.sentinel in ready and not parent_conn.poll(0):
                    proc.join(_JOIN_TIMEOUT_S)
                    failure = (Status.ERROR, describe_exit(proc.exitcode))
                    break
        finally:
            if pending:
                status, error = failure or (Status.ERROR, "worker ended without measuring this request")
                self._fail_pending(job, pending, status, error, constants)
            proc.join(_JOIN_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join(_JOIN_TIMEOUT_S)
            parent_conn.close()
        if failure is not None and model_id not in self.models_info:
            self.models_info[model_id] = {"error": failure[1]}

    def _fail_pending(self, job: ModelJob, pending: dict[str, Any], status: Status, error: str,
                      constants: Optional[dict[str, Any]]) -> None:
        base = dict(constants) if constants else {
            "device": self.config.device, "dtype": None, "backend": self.config.backend,
        }
        first_cell = job.cells[0] if job.cells else None
        seen: set[str] = set()
        for cell in job.cells:
            if not any(rid in pending for rid in cell.request_ids()) or cell.window_id in seen:
                continue
            seen.add(cell.window_id)
            cold = cell is first_cell and constants is None
            for row in failure_rows(self.run_id, self.config, cell, self.promptset, status, error, base, cold):
                if row["request_id"] in pending:
                    pending.pop(row["request_id"])
                    self.write(row)


def _now() -> float:
    import time

    return time.monotonic()


def run_benchmark(config: RunConfig, promptset: Optional[PromptSet] = None) -> RunResult:
    """Validate, then run every model; returns where the results are. Raises UsageError on bad input."""
    promptset = promptset or validate(config)
    run_id = config.run_id or new_run_id()
    run_dir = Path(config.out) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    result = RunResult(run_id, run_dir)
    jobs = plan(config, promptset.ids())
    models_info: dict[str, Any] = {}
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "started_at": utc_iso(),
        "ended_at": None,
        "command": sys.argv,
        "config": config.to_json(),
        "promptset": {"version": promptset.version, "ids": promptset.ids()},
        "environment": fingerprint(),
        "models": models_info,
        "rows_expected": sum(j.n_rows for j in jobs),
    }
    write_manifest(run_dir, manifest)
    progress = Progress(total=manifest["rows_expected"], enabled=config.progress)
    try:
        with RowWriter(run_dir / REQUESTS_FILE) as writer:
            runner = _JobRunner(run_id, config, promptset, writer, progress, result, models_info)
            for job in jobs:
                runner.run(job)
    finally:
        progress.close()
        manifest["ended_at"] = utc_iso()
        manifest["rows_written"] = result.rows
        manifest["rows_by_status"] = result.by_status
        write_manifest(run_dir, manifest)
        _point_latest(Path(config.out), run_id)
    return result


def _point_latest(out: Path, run_id: str) -> None:
    """``results/latest`` -> the newest run (a relative symlink; skipped where unsupported)."""
    link = out / "latest"
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_id, target_is_directory=True)
    except OSError:
        pass
