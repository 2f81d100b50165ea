"""The Ray executor: one Ray task per (target x model job) on a node with the target's resources.

On the node the task runs the job exactly as ``vlmbench run`` does (``jobs.job.run_unit``: the
model in its own worker process, the same timeouts, OOM handling and row building); times are
taken there by the measure layer. Ray only carries finished rows back: the task is a streaming
generator (``num_returns="streaming"``) that yields each row the moment the worker sent it, so
the driver writes it at once; the worker's side-file records (an engine's /metrics deltas) travel
the same way and are written into the target's run folder by the driver, not on the node.

- Isolation (unless the target says ``cpus``): the driver places each job on one fitting node
  (hard node affinity; the node with the fewest of this campaign's jobs placed on it) and
  reserves there, besides ``num_gpus`` and the target's custom / ``accelerator_type`` resources,
  every CPU of the node for a CPU target (so nothing else Ray schedules, CPU or GPU job, runs
  beside it) or the node's CPUs divided by its GPUs, times the job's GPUs, for a GPU target. Ray
  sets ``OMP_NUM_THREADS`` to the reserved CPUs; the worker runs with that many torch threads.
  The reservation (CPUs, node CPUs, whole node or not, threads) is recorded where the job starts
  (``manifest.json`` nodes, ``campaign.json`` attempts). With ``cpus`` given, Ray places the job
  anywhere that has them and nothing else is reserved.
- A node (or its Ray worker) lost mid-job: the rows already received stay; the cells still
  missing are submitted again (Ray places them on a node of the same target that is alive); the
  driver writes a request id once only, so nothing is duplicated; rows travel whole.
- A target no node has: its jobs wait up to ``target_timeout_s`` and then become ``skipped``
  rows naming the missing resources.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from dataclasses import replace
from typing import Any, Iterator, Optional

import ray

from vlmbench.jobs.job import JobUnit, RowSink, run_unit
from vlmbench.results.schema import Status
from vlmbench.vocab.cells import ModelJob
from vlmbench.vocab.messages import JobFinished, JobMessage, JobRow, JobStarted, SideRecord

MAX_ATTEMPTS = 3  # a job's cells are submitted at most this many times (node losses)
_WORKER_ENV = ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")  # Ray's assignment, handed to the model worker


def node_fingerprint(config: Any) -> dict[str, Any]:
    """This node's fingerprint for a job of ``config`` (with its engine's facts where it starts one)."""
    from vlmbench.backends import run_fingerprint

    context = ray.get_runtime_context()
    threads = os.environ.get("OMP_NUM_THREADS")  # Ray's, from the reservation; the worker applies it
    return {"hostname": socket.gethostname(), "ray_node_id": context.get_node_id(), "pid": os.getpid(),
            "worker_threads": int(threads) if threads and threads.isdigit() else None,
            "fingerprint": run_fingerprint(config)}


def _job_task(unit: JobUnit, promptset_args: tuple) -> Iterator[JobMessage]:
    """Runs on the node: JobStarted, then a JobRow per row as measured (and the worker's SideRecords), then
    JobFinished."""
    from vlmbench.jobs.processes import warm_up_server
    from vlmbench.promptset.compose import run_promptset

    warm_up_server()  # the fork server imports torch while this process fingerprints the node
    yield JobStarted(node_fingerprint(unit.config))
    _version, ids, _root = promptset_args
    unit = replace(unit, promptset=run_promptset(unit.config, ids=ids))
    env = {k: os.environ[k] for k in _WORKER_ENV if k in os.environ}
    messages: "queue.SimpleQueue[JobMessage]" = queue.SimpleQueue()

    def body() -> None:
        try:
            info = run_unit(unit, lambda row: messages.put(JobRow(row)), env, side=messages.put)
            messages.put(JobFinished(info))
        except BaseException as exc:  # noqa: BLE001 - reported to the driver, which writes rows
            messages.put(JobFinished({}, f"{type(exc).__name__}: {exc}"[:500]))

    thread = threading.Thread(target=body, name="vlmbench-job", daemon=True)
    thread.start()
    while True:
        message = messages.get()
        yield message
        if isinstance(message, JobFinished):
            break
    thread.join()


_remote_job = ray.remote(num_returns="streaming", max_retries=0)(_job_task)


class _Running:
    def __init__(self, unit: JobUnit, attempt: int, submitted: float, reservation: dict[str, Any]) -> None:
        self.unit = unit
        self.attempt = attempt
        self.submitted = submitted
        self.reservation = reservation
        self.started = False


class RayExecutor:
    name = "ray"

    def __init__(self, address: Optional[str] = None, local_resources: Optional[dict[str, float]] = None,
                 target_timeout_s: float = 60.0, num_cpus: Optional[int] = None) -> None:
        self.address = address
        self.local_resources = dict(local_resources or {})
        self.target_timeout_s = target_timeout_s
        self.num_cpus = num_cpus
        self._placed: dict[str, int] = {}  # node id -> this campaign's jobs placed there, not yet ended

    # -- cluster
    def connect(self) -> dict[str, Any]:
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, log_to_driver=False, logging_level="WARNING")
            else:  # in-process: this machine's own resources plus --local-resources
                ray.init(address="local", num_cpus=self.num_cpus or os.cpu_count(),
                         resources=self.local_resources or None,
                         include_dashboard=False, log_to_driver=False, logging_level="WARNING",
                         _node_ip_address="127.0.0.1")
        return {"address": self.address or "local", "ray_version": ray.__version__}

    @staticmethod
    def _nodes() -> list[dict[str, float]]:
        return [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]

    @staticmethod
    def _alive() -> dict[str, dict[str, float]]:
        return {n["NodeID"]: n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")}

    def missing(self, needs: dict[str, float]) -> Optional[str]:
        """Why no alive node can run a job that needs ``needs`` (None: some node can)."""
        nodes = self._nodes()
        if any(all(res.get(k, 0.0) >= v for k, v in needs.items()) for res in nodes):
            return None
        absent = [k for k, v in needs.items() if not any(res.get(k, 0.0) >= v for res in nodes)]
        if absent:
            return "no node in the cluster has " + ", ".join(f"{k}={needs[k]:g}" for k in absent)
        return "no single node has all of " + ", ".join(f"{k}={v:g}" for k, v in needs.items())

    @staticmethod
    def _custom(unit: JobUnit) -> dict[str, float]:
        res = unit.resources
        needs = dict(res.get("resources") or {})
        if res.get("accelerator_type"):
            needs[f"accelerator_type:{res['accelerator_type']}"] = 0.001
        return needs

    def _options(self, unit: JobUnit) -> tuple[dict[str, Any], dict[str, Any]]:
        """(Ray task options, the reservation as recorded): see the module docstring."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        needs = self._custom(unit)
        num_gpus = unit.resources.get("num_gpus") or 0
        num_cpus = unit.resources.get("num_cpus")
        options: dict[str, Any] = {"name": f"vlmbench:{unit.key}"}
        if num_gpus:
            options["num_gpus"] = num_gpus
        if needs:
            options["resources"] = needs
        if num_cpus is not None:  # the target said how many: Ray places it wherever they are free
            options["num_cpus"] = num_cpus
            return options, {"num_cpus": num_cpus, "num_gpus": num_gpus, "whole_node": False,
                             "policy": "cpus given by the target"}
        fitting = {nid: r for nid, r in self._alive().items()
                   if all(r.get(k, 0.0) >= v for k, v in needs.items()) and r.get("GPU", 0.0) >= num_gpus}
        if not fitting:  # no node: the job waits, and --target-timeout turns it into skipped rows
            options["num_cpus"] = 1.0
            return options, {"num_cpus": 1.0, "num_gpus": num_gpus, "whole_node": False, "policy": "no fitting node"}
        node = min(fitting, key=lambda nid: (self._placed.get(nid, 0), nid))
        node_cpus = float(fitting[node].get("CPU", 1.0))
        if num_gpus:
            num_cpus = max(1.0, float(int(node_cpus / float(fitting[node].get("GPU", num_gpus)) * num_gpus)))
            policy = "the node's CPUs divided by its GPUs, times the job's GPUs"
        else:
            num_cpus = node_cpus
            policy = "every CPU of the node (a CPU timing job)"
        options["num_cpus"] = num_cpus
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
        return options, {"num_cpus": num_cpus, "num_gpus": num_gpus, "node": node, "node_cpus": node_cpus,
                         "whole_node": num_cpus >= node_cpus, "policy": policy}

    def _needs(self, unit: JobUnit) -> dict[str, float]:
        """What some node must have for the job at all (the CPU share is taken from the node it gets)."""
        needs = self._custom(unit)
        if unit.resources.get("num_gpus"):
            needs["GPU"] = float(unit.resources["num_gpus"])
        needs["CPU"] = float(unit.resources.get("num_cpus") or 1.0)
        return needs

    # -- running
    def run(self, units: list[JobUnit], sink: RowSink) -> None:
        self.connect()
        running: dict[Any, _Running] = {}
        for unit in units:
            self._submit(unit, 1, running)
        while running:
            waiting = [r for r in running.values() if not r.started]
            deadlines = [r.submitted + self.target_timeout_s for r in waiting]
            timeout = max(0.05, min(deadlines) - time.monotonic()) if deadlines else None
            ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
            for gen in ready:
                self._advance(gen, running, sink)
            self._expire(running, sink)

    def _submit(self, unit: JobUnit, attempt: int, running: dict[Any, _Running]) -> None:
        ps = unit.promptset
        args = (ps.version, ps.ids(), unit.config.promptset_dir)
        options, reservation = self._options(unit)
        gen = _remote_job.options(**options).remote(replace(unit, promptset=None), args)
        if reservation.get("node"):
            self._placed[reservation["node"]] = self._placed.get(reservation["node"], 0) + 1
        running[gen] = _Running(unit, attempt, time.monotonic(), reservation)

    def _ended(self, state: _Running) -> None:
        node = state.reservation.get("node")
        if node and self._placed.get(node):
            self._placed[node] -= 1

    def _advance(self, gen: Any, running: dict[Any, _Running], sink: RowSink) -> None:
        state = running[gen]
        try:
            ref = next(gen)
        except StopIteration:
            self._ended(running.pop(gen))
            self._lost(state, "the job ended without sending every row", running, sink)
            return
        try:
            message = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self._ended(running.pop(gen))
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            self._lost(state, f"{type(exc).__name__}: {reason}", running, sink)
            return
        if isinstance(message, JobStarted):
            state.started = True
            sink.started(state.unit, {**message.where, "reservation": state.reservation})
        elif isinstance(message, JobRow):
            sink.row(state.unit, message.row)
        elif isinstance(message, SideRecord):
            sink.side(state.unit, message)
        elif isinstance(message, JobFinished):
            self._ended(running.pop(gen))
            sink.finished(state.unit, message.info, message.error)
            if sink.missing_cells(state.unit):
                self._lost(state, message.error or "the job ended without sending every row", running, sink)
        else:
            raise TypeError(f"unknown message from a job task: {type(message).__name__}")

    def _lost(self, state: _Running, reason: str, running: dict[Any, _Running], sink: RowSink) -> None:
        """A job that stopped early: its missing cells run again (up to MAX_ATTEMPTS), else error rows."""
        cells = sink.missing_cells(state.unit)
        if not cells:
            return
        sink.interrupted(state.unit, reason)
        if state.attempt < MAX_ATTEMPTS:
            unit = replace(state.unit, job=ModelJob(state.unit.job.spec, cells), done_ids=frozenset(sink.done(state.unit)))
            self._submit(unit, state.attempt + 1, running)
        else:
            sink.give_up(state.unit, Status.ERROR, f"job lost {MAX_ATTEMPTS} times; last: {reason}")

    def _expire(self, running: dict[Any, _Running], sink: RowSink) -> None:
        """Jobs still unplaced after target_timeout_s: skipped if no node has their resources."""
        now = time.monotonic()
        for gen, state in list(running.items()):
            if state.started or now < state.submitted + self.target_timeout_s:
                continue
            reason = self.missing(self._needs(state.unit))
            if reason is None:  # a node exists, it is busy: keep waiting
                state.submitted = now
                continue
            ray.cancel(gen)
            self._ended(running.pop(gen))
            sink.give_up(state.unit, Status.SKIPPED,
                         f"skipped: {reason} (waited {self.target_timeout_s:g} s, --target-timeout)")
