"""Run a benchmark: validate, plan, one job per model through an executor, rows flushed to disk.

The data flows one way: plan -> jobs -> executor -> rows -> writer. The executor
(``vlmbench.executors``: ``local`` runs each job here, ``ray`` on a cluster) runs each job with
the job logic of ``jobs/job.py`` (worker processes forked from a preloaded server, timeouts,
OOM and crash handling) and hands every row to the driver's sink the moment it is measured;
the driver owns the CSV and writes each row at once.

A run can be resumed (``resume_run``): rows already on disk are kept, a torn last line is cut
off, and only the missing cells run, so every expected row ends up present exactly once.
"""

from __future__ import annotations

import secrets
import socket
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from vlmbench.backends import manifest_facts, run_fingerprint
from vlmbench.config import RunConfig
from vlmbench.errors import SchemaError, UsageError
from vlmbench.executors import executor_class
from vlmbench.jobs.job import JobUnit, RowSink
from vlmbench.jobs.processes import warm_up_server
from vlmbench.promptset import PromptSet
from vlmbench.promptset.compose import manifest_images
from vlmbench.results.manifest import read_manifest, write_manifest
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import Status
from vlmbench.results.writer import RowWriter
from vlmbench.runner.plan import ModelJob, plan
from vlmbench.runner.progress import Progress
from vlmbench.runner.validate import validate
from vlmbench.vocab.files import REQUESTS_FILE, append_side_record
from vlmbench.vocab.messages import SideRecord

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


class RunSink(RowSink):
    """The driver's side of one run folder: each row written at once, counted, shown."""

    def __init__(self, writer: RowWriter, progress: Progress, result: RunResult, models_info: dict[str, Any],
                 done_ids: set[str]) -> None:
        self.writer = writer
        self.progress = progress
        self.result = result
        self.models_info = models_info
        self.done_ids = done_ids

    def started(self, unit: JobUnit, where: dict[str, Any]) -> None:
        self.progress.set_model(unit.job.spec.model)

    def row(self, unit: JobUnit, row: dict[str, Any]) -> None:
        if row["request_id"] in self.done_ids:  # never twice, whatever an executor resends
            return
        self.writer.write(row)
        self.done_ids.add(row["request_id"])
        self.result.rows += 1
        self.result.by_status[row["status"]] = self.result.by_status.get(row["status"], 0) + 1
        self.progress.advance(row)

    def done(self, unit: JobUnit) -> set[str]:
        return self.done_ids

    def side(self, unit: JobUnit, message: SideRecord) -> None:
        append_side_record(self.result.run_dir, message.file, message.record)

    def finished(self, unit: JobUnit, models_info: dict[str, Any], error: Optional[str] = None) -> None:
        for model, info in models_info.items():
            self.models_info.setdefault(model, {}).update(info)


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


def resume_state(run_dir: Path, jobs: list) -> tuple[list, set[str], dict[str, Any]]:
    """What an interrupted run in ``run_dir`` still has to do: ``jobs`` less the cells whose rows
    are on disk (and the batch sizes an out-of-memory stopped), the request ids done, and its
    manifest with this resume's instant appended to ``resumed_at``. Shared by ``run --resume``
    and ``campaign --resume`` (one target's run folder)."""
    csv = run_dir / REQUESTS_FILE
    previous = read_rows(csv) if csv.exists() else []
    done = {r["request_id"] for r in previous}
    manifest = read_manifest(run_dir) or {}
    manifest.setdefault("resumed_at", []).append(utc_iso())
    return _remaining(jobs, done, _stopped_by_oom(previous)), done, manifest


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
        jobs, done_ids, manifest = resume_state(run_dir, jobs)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "run_id": run_id,
            "started_at": utc_iso(),
            "ended_at": None,
            "command": sys.argv,
            "config": config.to_json(),
            "backend": manifest_facts(config.backend),
            "promptset": {"version": promptset.version, "ids": promptset.ids()},
            "environment": run_fingerprint(config),
            "models": {},
            "rows_expected": rows_expected,
            **manifest_images(promptset, config),
        }
    models_info: dict[str, Any] = manifest.setdefault("models", {})
    result = RunResult(run_id, run_dir)
    write_manifest(run_dir, manifest)
    warm_up_server()  # the fork server imports torch and transformers once, for every model
    progress = Progress(total=sum(j.n_rows for j in jobs), enabled=config.progress)
    units = [JobUnit("local", run_id, config, promptset, job, frozenset(done_ids)) for job in jobs]
    try:
        with RowWriter(requests_csv) as writer:
            sink = RunSink(writer, progress, result, models_info, done_ids)
            executor_class("local")().run(units, sink)
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
    try:
        manifest = read_manifest(run_dir) or {}
    except SchemaError as exc:
        raise UsageError(f"--resume {run_dir}: {exc}") from None
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
