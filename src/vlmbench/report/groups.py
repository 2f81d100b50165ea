"""Group rows by (run, model, scenario, cache-bust mode) and select the rows each statistic may use.

Selection rules (the methodology page repeats them):

- only rows with ``status == ok`` carry timings; other rows are counted, never averaged;
- *warm* rows are ok rows with ``cold`` false and no ``window_edge`` flag: every latency
  statistic uses them; *edge* rows (an endpoint load window's ramp and drain, schema v3) are
  counted apart; throughput is per window (``window_*``, over the window's steady interval);
- *cold* rows (the first measured request after the model load) are reported apart;
- endpoint rows measured with and without ``cache_bust`` are never pooled: they answer different
  questions (a new user's request against a warm prefix cache), so they form separate groups.

A group holds its slice of the run's typed frame (:func:`vlmbench.results.load`); the
``*_values`` helpers return plain lists of floats (missing values dropped) for the charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import pandas as pd

from vlmbench.analysis.statistics import clean
from vlmbench.report.runs import RunData, py, records
from vlmbench.results.schema import Status
from vlmbench.results.selection import cold_mask, edge_mask, ok_mask, warm_ok

UNKNOWN_HARDWARE = "unknown hardware"
GROUP_KEYS: tuple[str, ...] = ("model_id", "scenario", "cache_bust")


def cache_label(cache_bust: Optional[bool]) -> str:
    """How the rows treated server-side caches: '' for in-process rows (no such cache)."""
    if cache_bust is None:
        return ""
    return "cache-busted" if cache_bust else "warm cache (not busted)"


@dataclass(frozen=True, eq=False)
class RequestGroup:
    """All rows of one (run, model, scenario, cache-bust mode), with the run they came from."""

    run: RunData
    model_id: str
    scenario: str
    frame: pd.DataFrame
    cache_bust: Optional[bool] = None

    # --- row selections (frames) -------------------------------------------------------------
    @property
    def ok(self) -> pd.DataFrame:
        return self.frame[ok_mask(self.frame)]

    @property
    def not_cold(self) -> pd.DataFrame:
        return self.frame[ok_mask(self.frame) & ~cold_mask(self.frame)]

    @property
    def warm(self) -> pd.DataFrame:
        return warm_ok(self.frame)

    @property
    def edge(self) -> pd.DataFrame:
        rows = self.not_cold
        return rows[edge_mask(rows)]

    @property
    def cold(self) -> pd.DataFrame:
        ok = self.ok
        return ok[ok["cold"].fillna(False).astype(bool)]

    # --- the same selections as plain dicts (charts, pages) ------------------------------------
    @property
    def rows(self) -> list[dict[str, Any]]:
        return records(self.frame)

    @property
    def ok_rows(self) -> list[dict[str, Any]]:
        return records(self.ok)

    @property
    def warm_rows(self) -> list[dict[str, Any]]:
        return records(self.warm)

    @property
    def cold_rows(self) -> list[dict[str, Any]]:
        return records(self.cold)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def n_failed(self) -> int:
        return int((self.frame["status"] != Status.OK.value).sum())

    @property
    def failed_by_status(self) -> dict[str, int]:
        failed = self.frame.loc[self.frame["status"] != Status.OK.value, "status"]
        return {str(k): int(v) for k, v in failed.value_counts(sort=False).items()}

    @property
    def error_messages(self) -> list[str]:
        """Distinct error texts of non-ok rows, in order of first appearance."""
        errors = self.frame.loc[self.frame["status"] != Status.OK.value, "error"].dropna()
        return [str(e) for e in errors.drop_duplicates() if str(e)]

    def first(self, column: str) -> Any:
        """The first non-empty value of a per-model constant column (dtype, weights, ...)."""
        if column not in self.frame.columns:
            return None
        values = self.frame[column].dropna()
        values = values[values.astype(str) != ""]
        return py(values.iloc[0]) if len(values) else None

    @property
    def hardware(self) -> str:
        return str(self.first("hardware") or UNKNOWN_HARDWARE)

    @property
    def stack(self) -> Optional[str]:
        """The serving stack: ``hf``, ``<engine>-<version>+<recipe>``, ``endpoint:<kind>``; rows before schema
        version 3 say nothing: in-process ones were ``hf``."""
        value = self.first("stack")
        if value is None and self.first("backend") == "hf":
            return "hf"
        return value

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
    def size_class(self) -> str:
        """'tiny' | 'real' (schema v2 column ``size_class``), '' where unknown."""
        return str(self.first("size_class") or "")

    @property
    def parameters(self) -> Optional[int]:
        """Parameter count from the manifest's per-model facts (None when not recorded)."""
        value = self.run.model_facts(self.model_id).get("parameters")
        return int(value) if isinstance(value, (int, float)) else None

    @property
    def load_level(self) -> tuple[Optional[int], Optional[float]]:
        """(batch size, concurrency) of the window this scenario measures, from its warm rows
        (the cold request runs alone, so its row says 1 whatever the window's load).

        A closed-loop endpoint window records its C on every row: that C. A Poisson window
        records the requests in flight at each send, which vary: their median. Either may be
        None (in-process rows have no concurrency)."""
        rows = self.warm if len(self.warm) else (self.ok if len(self.ok) else self.frame)
        batch = rows["batch_size"].dropna()
        conc = rows["concurrency"].dropna()
        batch_size = int(batch.mode().iloc[0]) if len(batch) else None
        if not len(conc):
            return batch_size, None
        if conc.nunique() == 1:
            return batch_size, int(conc.iloc[0])
        return batch_size, float(conc.median())

    # --- values -------------------------------------------------------------------------------
    @staticmethod
    def _values(frame: pd.DataFrame, column: str) -> list[float]:
        if column not in frame.columns:
            return []
        return clean(pd.to_numeric(frame[column], errors="coerce").dropna().tolist())

    def warm_values(self, column: str) -> list[float]:
        return self._values(self.warm, column)

    def cold_values(self, column: str) -> list[float]:
        return self._values(self.cold, column)

    def ok_values(self, column: str) -> list[float]:
        return self._values(self.ok, column)

    def warm_decode_ms(self) -> list[float]:
        """Per-request decode time, e2e_ms - ttft_ms (ms), of warm rows having both."""
        warm = self.warm
        return self._values(pd.DataFrame({"d": warm["e2e_ms"] - warm["ttft_ms"]}), "d")

    def warm_windows(self) -> pd.DataFrame:
        """One non-cold ok row per batch/load window (window columns repeat on every row of a
        window; edge rows carry them too)."""
        rows = self.not_cold
        key = rows["window_id"].fillna(rows["request_id"])
        return rows[~key.duplicated()]

    def warm_window_values(self, column: str) -> list[float]:
        """One value per batch/load window."""
        return self._values(self.warm_windows(), column)


def _key(value: Any) -> Any:
    value = py(value)
    return None if value == "" else value


def group_requests(runs: Sequence[RunData]) -> list[RequestGroup]:
    """Groups in run order, then in order of first appearance inside each run."""
    groups: list[RequestGroup] = []
    for run in runs:
        frame = run.frame
        keys = pd.DataFrame({
            "model_id": frame["model_id"].astype("string").fillna(""),
            "scenario": frame["scenario"].astype("string").fillna(""),
            "cache_bust": frame["cache_bust"].astype("object").where(frame["cache_bust"].notna(), None),
        })
        for (model, scenario, bust), sub in keys.groupby(list(GROUP_KEYS), sort=False, dropna=False):
            groups.append(RequestGroup(run, str(model), str(scenario), frame.loc[sub.index], _key(bust)))
    return groups


def by_hardware(groups: Iterable[RequestGroup]) -> dict[str, list[RequestGroup]]:
    """Groups keyed by hardware label, in order of first appearance."""
    out: dict[str, list[RequestGroup]] = {}
    for g in groups:
        out.setdefault(g.hardware, []).append(g)
    return out


def series_labels(groups: Sequence[RequestGroup]) -> list[str]:
    """Shortest unique label per group: model, plus scenario, cache mode and run id only where needed."""
    def unique(labels: list[str]) -> bool:
        return len(set(labels)) == len(labels)

    labels = [g.model_id for g in groups]
    if unique(labels):
        return labels
    labels = [f"{g.model_id} · {g.stack}" if g.stack else g.model_id for g in groups]
    if unique(labels):
        return labels  # one model on several stacks
    labels = [f"{g.model_id} · {g.scenario}" for g in groups]
    if unique(labels):
        return labels
    labels = [f"{g.model_id} · {g.scenario}" + (f" · {cache_label(g.cache_bust)}" if g.cache_bust is not None else "")
              for g in groups]
    if unique(labels):
        return labels
    return [f"{label} · {g.run_id}" for label, g in zip(labels, groups)]
