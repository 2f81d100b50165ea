"""The response-time table, as data: which columns, from which summary fields, in which units.

It follows thefastest.ai (model, TTFT, tokens/s, total time) and adds the VLM stages. One table
per hardware label. Markdown and HTML renderers (``markdown.py``, ``html_table.py``) format
the same :data:`RESPONSE_COLUMNS`, so both always show the same numbers.

All times are medians (p50) over warm ok rows, in ms; headers take each metric's label and unit
from the registry (:mod:`vlmbench.vocab.metrics`); tokens/s is the median per-request
decode rate ``(n_out - 1) / (t_last - t_first)``.

The headline TTFT is ``ttft_user_ms``: what a user waits for, comparable across backends
(in-process: preprocess + generate start -> first token; endpoint: request sent -> first
content, upload and server-side preprocessing included). The in-process stage columns keep
their own scope and are empty for endpoint rows, where the client cannot see them; each
header says its scope (:data:`SCOPE_NOTE` spells it out under every table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from vlmbench.backends import capabilities
from vlmbench.results.selection import headline_peak_memory
from vlmbench.vocab.metrics import PEAK_MEMORY, metric


@dataclass(frozen=True)
class TableColumn:
    key: str  # stable id (used as a CSS class / sort key)
    header: str
    value: Callable[[dict[str, Any]], Any]  # from one summary row
    digits: Optional[int] = None  # None: the value is text
    description: str = ""

    @property
    def numeric(self) -> bool:
        return self.digits is not None

    def text(self, summary: dict[str, Any]) -> str:
        value = self.value(summary)
        if value is None or value == "":
            return "–"
        if self.digits is None:
            return str(value)
        return f"{float(value):,.{self.digits}f}"


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda s: s.get(name)


def _ok_of_n(s: dict[str, Any]) -> str:
    return f"{s['ok']}/{s['n']}"


def _in_process(name: str) -> Callable[[dict[str, Any]], Any]:
    """A stage that only an in-process run can see (empty for endpoint rows)."""
    return lambda s: s.get(name) if capabilities(s.get("backend")).stage_times else None


def scenario_text(s: dict[str, Any]) -> str:
    """The scenario, with the cache mode of endpoint rows (busted and unbusted rows never pool)."""
    scenario = str(s.get("scenario") or "")
    if s.get("cache_bust") is True:
        return f"{scenario} (cache-busted)"
    if s.get("cache_bust") is False:
        return f"{scenario} (warm cache)"
    return scenario


UNKNOWN_STACK = "not recorded"


def stack_text(s: dict[str, Any]) -> str:
    """The summary row's serving stack (``hf``, ``vllm-0.32.0+<recipe>``, ``endpoint:<kind>``); rows of endpoint
    runs before schema version 3 did not record it."""
    return str(s.get("stack") or UNKNOWN_STACK)


SIZE_REAL, SIZE_TINY = "real", "tiny"


def size_text(s: dict[str, Any]) -> str:
    """'real' (published shapes) | 'tiny' (a shrunken test variant) | '' (unknown: endpoint, hub id)."""
    return str(s.get("size_class") or "")


SCOPE_NOTE = (
    "TTFT user = what a user waits for: in-process preprocess + generate start -> first token; endpoint request "
    "sent -> first content (upload and server-side preprocessing included). TTFT (in-process), preprocess, vision "
    "and prefill are in-process stages (empty for endpoints). Size: real = published shapes, tiny = a "
    "shrunken test variant (its times say nothing about the real model)."
)

RESPONSE_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("model", "Model", _field("model_id"), description="catalog id, hub id or folder name"),
    TableColumn("stack", "Stack", stack_text,
                description="serving stack: hf = in-process transformers; <engine>-<version>+<recipe hash> = an engine "
                            "vlmbench started; endpoint:<kind> = a server someone else started. Never pooled"),
    TableColumn("size", "Size", size_text, description="real = published shapes; tiny = shrunken test variant"),
    TableColumn("scenario", "Scenario", scenario_text,
                description="batch size / output length / load mode; endpoint rows: cache-busted or warm cache"),
    TableColumn("ttft_user", metric("ttft_user_ms").heading("p50", "request -> 1st token"),
                _field("ttft_user_ms_p50"), 1,
                "in-process: preprocess + generate start -> first token; endpoint: request sent -> first content"),
    TableColumn("tps", metric("decode_tps").heading("p50"), _field("decode_tps_p50"), 1,
                "decode rate (n_out - 1) / (t_last - t_first)"),
    TableColumn("total", metric("e2e_ms").heading("p50"), _field("e2e_ms_p50"), 1,
                "E2E: generate start (endpoint: request sent) -> last token"),
    TableColumn("ttft", metric("ttft_ms").heading("p50", "in-process: generate -> 1st token"),
                _in_process("ttft_ms_p50"), 1,
                "generate start -> first token on the host, preprocessing excluded; in-process only"),
    TableColumn("preprocess", metric("preprocess_ms").heading("p50", "in-process"), _in_process("preprocess_ms_p50"), 1,
                "processor: image decode/resize/normalise + tokenise"),
    TableColumn("vision", metric("vision_ms").heading("p50", "in-process"), _in_process("vision_ms_p50"), 1,
                "vision encoder + projector"),
    TableColumn("prefill", metric("prefill_ms").heading("p50", "in-process"), _in_process("prefill_ms_p50"), 1,
                "prompt handed over -> first token"),
    TableColumn("memory", metric(PEAK_MEMORY).heading(), lambda s: headline_peak_memory(s)[0], 0,
                "peak device memory (NVML / CUDA) where measured, else peak RSS"),
    TableColumn("cold_ttft", metric("ttft_user_ms").heading("cold"), _field("cold_ttft_user_ms"), 1,
                "first request after model load, same scope as TTFT user"),
    TableColumn("ok", "ok/n", _ok_of_n, description="ok rows / all rows (failed rows are never averaged)"),
    TableColumn("run", "Run", _field("run_id"), description="run id (folder name)"),
)


def by_hardware(summaries: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Summary rows keyed by their hardware label, in order of first appearance."""
    out: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        out.setdefault(str(s["hardware"]), []).append(s)
    return out


REAL_HEADING = "Real-size models (published shapes)"
TINY_HEADING = ("Tiny test variants (shrunken shapes: they exercise the code path, their times say nothing "
                "about the real model)")
OTHER_HEADING = "Other models (tiny test variants, endpoints, hub ids: not real-size runs of known shapes)"


def by_size(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Real-size rows apart from the others: [(heading, rows)], real first. One untitled part
    when there is no real-size row or nothing else (nothing to set apart)."""
    real = [s for s in summaries if size_text(s) == SIZE_REAL]
    rest = [s for s in summaries if size_text(s) != SIZE_REAL]
    if not real or not rest:
        return [("", list(summaries))]
    heading = TINY_HEADING if all(size_text(s) == SIZE_TINY for s in rest) else OTHER_HEADING
    return [(REAL_HEADING, real), (heading, rest)]
