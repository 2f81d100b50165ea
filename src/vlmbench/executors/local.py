"""The local executor: every job, one after the other, in this process (today's ``vlmbench run``)."""

from __future__ import annotations

import os
import socket

from vlmbench.jobs.job import JobUnit, RowSink, run_unit


class LocalExecutor:
    name = "local"

    def run(self, units: list[JobUnit], sink: RowSink) -> None:
        where = {"hostname": socket.gethostname(), "ray_node_id": None, "pid": os.getpid()}
        for unit in units:
            sink.started(unit, where)
            info = run_unit(unit, lambda row, unit=unit: sink.row(unit, row),
                            side=lambda record, unit=unit: sink.side(unit, record))
            sink.finished(unit, info)
