"""Messages between the processes of a run, one frozen dataclass each, dispatched by type.

Worker process -> its job (``jobs/worker.py`` -> ``jobs/job.py``, over a pipe)::

    Rows*  Loaded | LoadFailed  (Started  Rows)*  Stopped?  Done       (Fatal at any point)
    (SideRecord at any point after Loaded)

A Ray job task -> the driver (``executors/ray.py``, a streaming generator)::

    JobStarted  (JobRow | SideRecord)*  JobFinished

A SideRecord travels the whole way (worker -> job -> executor -> driver): the driver, which alone knows the
run folder, appends it to the side file it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Union


# -- worker -> job ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Loaded:
    """The model is loaded: columns constant for its rows, and facts for the manifest."""

    constants: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadFailed:
    status: str  # a results.schema.Status value
    error: str


@dataclass(frozen=True)
class Started:
    """A measured request (cell ``index`` of the worker's job, window ``window_id``) begins:
    the job's request timeout runs from here."""

    index: int
    window_id: str


@dataclass(frozen=True)
class Rows:
    """Finished rows (one cell's, or one row of a backend that schedules its own job)."""

    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Stopped:
    """Requests not run, and why (batch sizes past an out-of-memory)."""

    request_ids: list[str]
    reason: str


@dataclass(frozen=True)
class Fatal:
    """An unexpected exception in the worker (the last lines of its traceback)."""

    traceback: str


@dataclass(frozen=True)
class Done:
    """Every cell was handled."""


@dataclass(frozen=True)
class SideRecord:
    """One line for a side file of the run folder (``file``: a plain file name, e.g. the engine's per-window
    /metrics deltas), already in that file's format; the driver appends it wherever the worker ran."""

    file: str
    record: dict[str, Any]


WorkerMessage = Union[Loaded, LoadFailed, Started, Rows, Stopped, Fatal, Done, SideRecord]


# -- Ray job task -> driver ---------------------------------------------------------------------
@dataclass(frozen=True)
class JobStarted:
    where: dict[str, Any]  # the node's fingerprint


@dataclass(frozen=True)
class JobRow:
    row: dict[str, Any]


@dataclass(frozen=True)
class JobFinished:
    info: dict[str, Any]  # per-model facts for the manifest
    error: Optional[str] = None


JobMessage = Union[JobStarted, JobRow, SideRecord, JobFinished]
