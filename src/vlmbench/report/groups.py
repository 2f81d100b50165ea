"""Group rows by (run, model, scenario) and select the rows each statistic may use.

Selection rules (the methodology page repeats them):

- only rows with ``status == ok`` carry timings; other rows are counted, never averaged;
- *warm* rows are ok rows with ``cold`` false: every latency/throughput statistic uses them;
- *cold* rows (the first measured request after the model load) are reported apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from vlmbench.report.runs import RunData
from vlmbench.report.statistics import clean
from vlmbench.results.schema import Status

UNKNOWN_HARDWARE = "unknown hardware"


@dataclass(frozen=True)
class RequestGroup:
    """All rows of one (run, model, scenario), with the run they came from."""

    run: RunData
    model_id: str
    scenario: str
    rows: tuple[dict[str, Any], ...]

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def ok_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == Status.OK.value]

    @property
    def warm_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.ok_rows if not r.get("cold")]

    @property
    def cold_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.ok_rows if r.get("cold")]

    @property
    def failed_by_status(self) -> dict[str, int]:
        return dict(Counter(r["status"] for r in self.rows if r["status"] != Status.OK.value))

    @property
    def error_messages(self) -> list[str]:
        """Distinct error texts of non-ok rows, in order of first appearance."""
        return list(dict.fromkeys(r["error"] for r in self.rows if r["status"] != Status.OK.value and r.get("error")))

    def first(self, column: str) -> Any:
        """The first non-empty value of a per-model constant column (dtype, weights, ...)."""
        return next((r[column] for r in self.rows if r.get(column) not in (None, "")), None)

    @property
    def hardware(self) -> str:
        return str(self.first("hardware") or UNKNOWN_HARDWARE)

    @property
    def promptset_version(self) -> str:
        return str(self.first("promptset_version") or self.run.manifest.get("promptset", {}).get("version") or "?")

    @property
    def weights(self) -> str:
        return str(self.first("weights") or self.run.manifest.get("config", {}).get("weights") or "?")

    @property
    def is_random_weights(self) -> bool:
        return self.weights == "random"

    @property
    def parameters(self) -> Optional[int]:
        """Parameter count from the manifest's per-model facts (None when not recorded)."""
        value = self.run.model_facts(self.model_id).get("parameters")
        return int(value) if isinstance(value, (int, float)) else None

    @property
    def load_level(self) -> tuple[Optional[int], Optional[int]]:
        """(batch size, concurrency) this scenario runs at; either may be None."""
        return self.first("batch_size"), self.first("concurrency")

    def warm_values(self, column: str) -> list[float]:
        return clean(r.get(column) for r in self.warm_rows)

    def cold_values(self, column: str) -> list[float]:
        return clean(r.get(column) for r in self.cold_rows)

    def ok_values(self, column: str) -> list[float]:
        return clean(r.get(column) for r in self.ok_rows)

    def warm_decode_ms(self) -> list[float]:
        """Per-request decode time, e2e_ms - ttft_ms (ms), of warm rows having both."""
        return [r["e2e_ms"] - r["ttft_ms"] for r in self.warm_rows
                if r.get("e2e_ms") is not None and r.get("ttft_ms") is not None]

    def warm_window_values(self, column: str) -> list[float]:
        """One value per batch/load window (window columns repeat on every row of a window)."""
        per_window: dict[Any, Any] = {}
        for r in self.warm_rows:
            per_window.setdefault(r.get("window_id") or r["request_id"], r.get(column))
        return clean(per_window.values())


def group_requests(runs: Sequence[RunData]) -> list[RequestGroup]:
    """Groups in run order, then in order of first appearance inside each run."""
    groups: list[RequestGroup] = []
    for run in runs:
        by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in run.rows:
            by_key.setdefault((str(row["model_id"]), str(row.get("scenario") or "")), []).append(row)
        groups.extend(RequestGroup(run, model, scenario, tuple(rows)) for (model, scenario), rows in by_key.items())
    return groups


def by_hardware(groups: Iterable[RequestGroup]) -> dict[str, list[RequestGroup]]:
    """Groups keyed by hardware label, in order of first appearance."""
    out: dict[str, list[RequestGroup]] = {}
    for g in groups:
        out.setdefault(g.hardware, []).append(g)
    return out


def series_labels(groups: Sequence[RequestGroup]) -> list[str]:
    """Shortest unique label per group: model, plus scenario and run id only where needed."""
    def unique(labels: list[str]) -> bool:
        return len(set(labels)) == len(labels)

    labels = [g.model_id for g in groups]
    if unique(labels):
        return labels
    labels = [f"{g.model_id} · {g.scenario}" for g in groups]
    if unique(labels):
        return labels
    return [f"{g.model_id} · {g.scenario} · {g.run_id}" for g in groups]
