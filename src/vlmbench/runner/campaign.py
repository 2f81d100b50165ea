"""Run a campaign: every target's plan through one executor, each row written at once.

Layout (``OUT`` = ``--out``, default ``results``)::

    OUT/<campaign>/campaign.json                   targets, jobs, where each ran, pending/failed/skipped
    OUT/<campaign>/<target>/<run_id>-<target>/requests.csv   the rows of that target (the run schema)
    OUT/<campaign>/<target>/<run_id>-<target>/manifest.json  its manifest + its nodes' fingerprints

A target folder is an ordinary run folder: ``report``, ``compare`` and ``site`` read it as they
read ``vlmbench run`` output. ``--resume OUT/<campaign>`` keeps every row on disk and runs only
the missing cells (rows are identified by request id; a torn last line is cut off); with
``--retry-failed`` the rows of requests that were skipped, failed or timed out are removed first,
so they run again (OOM rows stay: they describe the configuration, not a transient failure).

At batch > 1 a window (one ``generate`` call, one cell) is written whole, from one attempt: its
rows are held by the driver until every row of the window has arrived, and dropped if the job
is lost first (the window then runs again, whole, elsewhere: it replaces, never mixes). On
``--resume``, rows of a window only partly on disk are removed so it runs again whole.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from vlmbench.backends import manifest_facts
from vlmbench.errors import SchemaError, UsageError
from vlmbench.jobs.job import JobUnit, RowSink
from vlmbench.promptset import PromptSet
from vlmbench.results.manifest import read_campaign_record, write_campaign_record, write_manifest
from vlmbench.results.reader import read_rows
from vlmbench.results.schema import Status
from vlmbench.results.writer import RowWriter, drop_rows
from vlmbench.runner.campaign_file import Campaign, Target
from vlmbench.runner.orchestrator import new_run_id, resume_state, utc_iso
from vlmbench.runner.plan import plan
from vlmbench.runner.progress import Progress
from vlmbench.vocab.cells import Cell
from vlmbench.runner.validate import validate
from vlmbench.vocab.files import CAMPAIGN_FILE, REQUESTS_FILE, append_side_record
from vlmbench.vocab.messages import SideRecord


@dataclass
class TargetRun:
    target: Target
    run_dir: Path
    promptset: PromptSet
    manifest: dict[str, Any]
    done_ids: set[str] = field(default_factory=set)
    writer: Optional[RowWriter] = None
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass
class CampaignResult:
    campaign_dir: Path
    run_id: str
    targets: dict[str, Path]
    rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    cannot_run: dict[str, str] = field(default_factory=dict)


def local_mismatch(target: Target, local: dict[str, float]) -> Optional[str]:
    """Why this machine cannot run ``target`` without a cluster (None: it can)."""
    absent = [f"{k}={v:g}" for k, v in target.requirements().items() if local.get(k, 0.0) < v]
    return f"needs {', '.join(absent)}" if absent else None


def local_resources(extra: dict[str, float]) -> dict[str, float]:
    """This machine's resources as Ray would count them (CPU, GPU) plus ``--local-resources``."""
    resources = {"CPU": float(os.cpu_count() or 1)}
    try:
        import torch

        if torch.cuda.is_available():
            resources["GPU"] = float(torch.cuda.device_count())
    except ImportError:
        pass
    resources.update(extra)
    return resources


class CampaignSink(RowSink):
    """The driver side of a campaign: rows to their target's CSV, jobs' states to campaign.json."""

    def __init__(self, runs: dict[str, TargetRun], record: dict[str, Any], path: Path, progress: Progress) -> None:
        self.runs = runs
        self.record = record
        self.path = path
        self.progress = progress
        self._windows: dict[str, dict[str, Cell]] = {}  # unit key -> request id -> its cell (batch > 1)
        self._held: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (target, window) -> rows so far

    def _job(self, unit: JobUnit) -> dict[str, Any]:
        return self.record["jobs"][unit.key]

    def save(self) -> None:
        write_campaign_record(self.path, self.record)

    def done(self, unit: JobUnit) -> set[str]:
        return self.runs[unit.target].done_ids

    def started(self, unit: JobUnit, where: dict[str, Any]) -> None:
        run = self.runs[unit.target]
        node = where.get("ray_node_id") or where.get("hostname")
        nodes = run.manifest.setdefault("nodes", {})
        if node not in nodes and "fingerprint" not in where:  # the local executor: this machine
            from vlmbench.backends import run_fingerprint

            where = {**where, "fingerprint": run_fingerprint(unit.config)}
        if node not in nodes:
            nodes[node] = {k: v for k, v in where.items() if k != "pid"}
            if where.get("fingerprint") and not run.manifest.get("environment"):
                run.manifest["environment"] = where["fingerprint"]
            write_manifest(run.run_dir, run.manifest)
        job = self._job(unit)
        job["state"] = "running"
        job["attempts"].append({"node": node, "hostname": where.get("hostname"), "pid": where.get("pid"),
                                "reservation": where.get("reservation"), "worker_threads": where.get("worker_threads"),
                                "started_at": utc_iso(), "outcome": "running"})
        if where.get("reservation"):  # what this job held on its node, beside the node's fingerprint
            run.manifest.setdefault("reservations", {})[unit.key] = {
                **where["reservation"], "worker_threads": where.get("worker_threads")}
            write_manifest(run.run_dir, run.manifest)
        self.progress.set_model(unit.key)
        self.save()

    def _window(self, unit: JobUnit, request_id: str) -> Optional[Cell]:
        if unit.key not in self._windows:
            self._windows[unit.key] = {rid: c for c in unit.job.cells if len(c.prompt_ids) > 1
                                       for rid in c.request_ids()}
        return self._windows[unit.key].get(request_id)

    def row(self, unit: JobUnit, row: dict[str, Any]) -> None:
        run = self.runs[unit.target]
        if row["request_id"] in run.done_ids:  # a rescheduled cell: the first row received stays
            return
        cell = self._window(unit, row["request_id"])
        if cell is None:
            self._write(unit, [row])
            return
        held = self._held.setdefault((unit.target, cell.window_id), {})
        held[row["request_id"]] = row
        wanted = [rid for rid in cell.request_ids() if rid not in run.done_ids]
        if all(rid in held for rid in wanted):  # the window is complete: written whole, from this attempt
            self._write(unit, [held[rid] for rid in wanted])
            del self._held[(unit.target, cell.window_id)]

    def _write(self, unit: JobUnit, rows: list[dict[str, Any]]) -> None:
        run = self.runs[unit.target]
        job = self._job(unit)
        for row in rows:
            run.writer.write(row)
            run.done_ids.add(row["request_id"])
            run.rows += 1
            run.by_status[row["status"]] = run.by_status.get(row["status"], 0) + 1
            job["rows_written"] = job.get("rows_written", 0) + 1
            self.progress.advance(row)

    def side(self, unit: JobUnit, message: SideRecord) -> None:
        append_side_record(self.runs[unit.target].run_dir, message.file, message.record)

    def interrupted(self, unit: JobUnit, reason: str) -> None:
        for cell in unit.job.cells:  # a window the lost attempt had only partly sent runs again whole
            self._held.pop((unit.target, cell.window_id), None)
        job = self._job(unit)
        if job["attempts"]:
            job["attempts"][-1]["outcome"] = f"lost: {reason}"
        job["state"] = "pending"
        job["reason"] = f"rescheduled after: {reason}"
        self.save()

    def finished(self, unit: JobUnit, models_info: dict[str, Any], error: Optional[str] = None) -> None:
        run = self.runs[unit.target]
        for model, info in models_info.items():
            run.manifest.setdefault("models", {}).setdefault(model, {}).update(info)
        job = self._job(unit)
        if job["attempts"]:
            job["attempts"][-1]["outcome"] = "finished" if not error else f"error: {error}"
        job["state"] = "done" if not self.missing_cells(unit) else "pending"
        failed = [m.get("error") for m in models_info.values() if m.get("error")]
        if failed:
            job["state"], job["reason"] = "failed", failed[0]
        self.save()

    def give_up(self, unit: JobUnit, status: Status, error: str) -> None:
        super().give_up(unit, status, error)
        job = self._job(unit)
        job["state"] = "skipped" if status == Status.SKIPPED else "failed"
        job["reason"] = error
        self.save()


def _target_manifest(campaign: Campaign, target: Target, run_id: str, promptset: PromptSet,
                     rows_expected: int) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "started_at": utc_iso(),
        "ended_at": None,
        "command": sys.argv,
        "config": target.config.to_json(),
        "backend": manifest_facts(target.config.backend),
        "promptset": {"version": promptset.version, "ids": promptset.ids()},
        "environment": {},  # the fingerprint of the first node that runs one of its jobs
        "nodes": {},
        "models": {},
        "rows_expected": rows_expected,
        "campaign": {"name": campaign.name, "target": target.to_json(), "requirements": target.requirements()},
    }


RETRIED_STATUSES = (Status.SKIPPED.value, Status.ERROR.value, Status.TIMEOUT.value)


def _rows_to_run_again(run_dir: Path, jobs: list, retry_failed: bool) -> set[str]:
    """Request ids on disk to remove before resuming: the rows of windows (batch > 1) only partly
    on disk, and with ``retry_failed`` every skipped, failed or timed-out row."""
    csv = run_dir / REQUESTS_FILE
    rows = read_rows(csv) if csv.exists() else []
    on_disk = {r["request_id"] for r in rows}
    again = {r["request_id"] for r in rows if retry_failed and r["status"] in RETRIED_STATUSES}
    for job in jobs:
        for cell in job.cells:
            ids = set(cell.request_ids())
            if len(ids) > 1 and 0 < len(ids & on_disk) < len(ids):
                again |= ids & on_disk
    return again


def _forget(manifest: dict[str, Any], removed: dict[str, int]) -> None:
    """The manifest's row counts without the rows removed from disk."""
    counts = manifest.get("rows_by_status", {})
    for status, n in removed.items():
        counts[status] = max(0, counts.get(status, 0) - n)
    manifest["rows_written"] = max(0, manifest.get("rows_written", 0) - sum(removed.values()))
    manifest.setdefault("rows_removed_on_resume", []).append({"at": utc_iso(), "by_status": removed})


def _units(campaign: Campaign, run_id: str, out: Path, resume: bool,
           retry_failed: bool = False) -> tuple[dict[str, TargetRun], list[JobUnit]]:
    runs: dict[str, TargetRun] = {}
    units: list[JobUnit] = []
    for target in campaign.targets:
        config = target.config
        config.progress = False
        promptset = validate(config, check_device=False)
        target_run_id = f"{run_id}-{target.label}"  # unique per target: report/compare take several together
        run_dir = out / campaign.name / target.label / target_run_id
        jobs = plan(config, promptset.ids())
        expected = sum(j.n_rows for j in jobs)
        done: set[str] = set()
        if resume and (run_dir / "manifest.json").exists():
            removed = drop_rows(run_dir / REQUESTS_FILE, _rows_to_run_again(run_dir, jobs, retry_failed))
            jobs, done, manifest = resume_state(run_dir, jobs)
            if removed:
                _forget(manifest, removed)
        else:
            run_dir.mkdir(parents=True, exist_ok=True)
            manifest = _target_manifest(campaign, target, target_run_id, promptset, expected)
        write_manifest(run_dir, manifest)
        runs[target.label] = TargetRun(target, run_dir, promptset, manifest, done)
        resources = {"num_cpus": target.cpus,  # None: the executor's default share (executors/ray.py)
                     "num_gpus": target.gpus, "accelerator_type": target.accelerator_type,
                     "resources": dict(target.resources)}
        for job in jobs:
            units.append(JobUnit(target.label, target_run_id, config, promptset, job, frozenset(done), resources))
    return runs, units


def run_campaign(campaign: Campaign, out: Path, executor: Any, resume_dir: Optional[Path] = None,
                 cannot_run: Optional[dict[str, str]] = None, progress: bool = True,
                 connection: Optional[dict[str, Any]] = None, retry_failed: bool = False) -> CampaignResult:
    """Plan every target, run the jobs through ``executor``, write rows and manifests as they come.
    ``retry_failed`` (with ``resume_dir``): skipped, failed and timed-out requests run again."""
    if retry_failed and resume_dir is None:
        raise UsageError("--retry-failed: only with --resume DIR (it retries what a campaign left failed)")
    out = Path(out)
    cannot_run = dict(cannot_run or {})
    record_path = out / campaign.name / CAMPAIGN_FILE
    previous: dict[str, Any] = {}
    if resume_dir is not None:
        resume_dir = Path(resume_dir)
        record_path = resume_dir / CAMPAIGN_FILE
        try:
            found = read_campaign_record(resume_dir)
        except SchemaError as exc:
            raise UsageError(f"--resume {resume_dir}: {exc}") from None
        if found is None:
            raise UsageError(f"--resume {resume_dir}: no {CAMPAIGN_FILE} (not a campaign folder)")
        previous = found
        if previous.get("name") != campaign.name:
            raise UsageError(f"--resume {resume_dir}: holds campaign {previous.get('name')!r}, "
                             f"not {campaign.name!r} of {campaign.path}")
        out = resume_dir.parent
    run_id = previous.get("run_id") or new_run_id()
    targets = [t for t in campaign.targets if t.label not in cannot_run]
    runnable = Campaign(campaign.name, campaign.path, campaign.suite, targets, campaign.description)
    runs, units = _units(runnable, run_id, out, resume=bool(previous), retry_failed=retry_failed)
    (out / campaign.name).mkdir(parents=True, exist_ok=True)

    jobs: dict[str, Any] = previous.get("jobs", {}) if previous else {}
    for unit in units:
        entry = jobs.setdefault(unit.key, {"target": unit.target, "model": unit.job.spec.model, "attempts": []})
        entry.update(state="pending", reason=None, rows_expected=len(unit.expected_ids()) + len(
            [r for c in unit.job.cells for r in c.request_ids() if r in unit.done_ids]))
    record: dict[str, Any] = {
        "name": campaign.name,
        "file": str(campaign.path),
        "suite": campaign.suite,
        "run_id": run_id,
        "started_at": previous.get("started_at") or utc_iso(),
        "ended_at": None,
        "executor": getattr(executor, "name", "?"),
        "connection": connection or {},
        "targets": {t.label: {**t.to_json(), "requirements": t.requirements(),
                              "dir": str(runs[t.label].run_dir) if t.label in runs else None,
                              "status": "cannot run here: " + cannot_run[t.label] if t.label in cannot_run else "planned"}
                    for t in campaign.targets},
        "jobs": jobs,
    }
    if previous:
        record["resumed_at"] = previous.get("resumed_at", []) + [utc_iso()]
    bar = Progress(total=sum(len(u.expected_ids()) for u in units), enabled=progress)
    sink = CampaignSink(runs, record, record_path, bar)
    sink.save()
    result = CampaignResult(out / campaign.name, run_id, {k: r.run_dir for k, r in runs.items()},
                            cannot_run=cannot_run)
    try:
        for run in runs.values():
            run.writer = RowWriter(run.run_dir / REQUESTS_FILE).__enter__()
        if units:
            executor.run(units, sink)
    finally:
        bar.close()
        for run in runs.values():
            if run.writer is not None:
                run.writer.__exit__(None, None, None)
            run.manifest["ended_at"] = utc_iso()
            counts = run.manifest.get("rows_by_status", {}) if previous else {}
            for status, n in run.by_status.items():
                counts[status] = counts.get(status, 0) + n
            run.manifest["rows_by_status"] = counts
            run.manifest["rows_written"] = (run.manifest.get("rows_written", 0) if previous else 0) + run.rows
            write_manifest(run.run_dir, run.manifest)
            result.rows += run.rows
            for status, n in run.by_status.items():
                result.by_status[status] = result.by_status.get(status, 0) + n
            states = {j["state"] for j in record["jobs"].values() if j["target"] == run.target.label}
            record["targets"][run.target.label]["status"] = states.pop() if len(states) == 1 else "partial"
        for job in record["jobs"].values():
            if job.get("state") == "running":  # the driver stopped (Ctrl-C, error): --resume runs the rest
                job["state"], job["reason"] = "pending", "the driver stopped before the job finished"
        record["ended_at"] = utc_iso()
        sink.save()
    return result
