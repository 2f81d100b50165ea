"""The response-time table, as data: which columns, from which summary fields, in which units.

It follows thefastest.ai (model, TTFT, tokens/s, total time) and adds the VLM stages. One table
per hardware label. Markdown and HTML renderers (``markdown.py``, ``html_table.py``) format
the same :data:`RESPONSE_COLUMNS`, so both always show the same numbers.

All times are medians (p50) over warm ok rows, in ms; tokens/s is the median per-request
decode rate ``(n_out - 1) / (t_last - t_first)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from vlmbench.report.summary import peak_memory_mb


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


RESPONSE_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("model", "Model", _field("model_id"), description="catalog id, hub id or folder name"),
    TableColumn("scenario", "Scenario", _field("scenario"), description="batch size / output length / load mode"),
    TableColumn("ttft", "TTFT p50 (ms)", _field("ttft_ms_p50"), 1,
                "generate start -> first token on the host, median of warm requests"),
    TableColumn("ttft_user", "TTFT user p50 (ms)", _field("ttft_user_ms_p50"), 1,
                "preprocess + TTFT: what a person waiting feels"),
    TableColumn("tps", "Tokens/s p50", _field("decode_tps_p50"), 1, "decode rate (n_out - 1) / (t_last - t_first)"),
    TableColumn("total", "Total time p50 (ms)", _field("e2e_ms_p50"), 1, "E2E: generate start -> last token"),
    TableColumn("preprocess", "Preprocess p50 (ms)", _field("preprocess_ms_p50"), 1,
                "processor: image decode/resize/normalise + tokenise"),
    TableColumn("vision", "Vision p50 (ms)", _field("vision_ms_p50"), 1, "vision encoder + projector"),
    TableColumn("prefill", "Prefill p50 (ms)", _field("prefill_ms_p50"), 1, "prompt handed over -> first token"),
    TableColumn("memory", "Peak mem (MiB)", lambda s: peak_memory_mb(s)[0], 0,
                "peak device memory (NVML / CUDA) where measured, else peak RSS"),
    TableColumn("cold_ttft", "Cold TTFT (ms)", _field("cold_ttft_ms"), 1, "first request after model load"),
    TableColumn("ok", "ok/n", _ok_of_n, description="ok rows / all rows (failed rows are never averaged)"),
    TableColumn("run", "Run", _field("run_id"), description="run id (folder name)"),
)


def by_hardware(summaries: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Summary rows keyed by their hardware label, in order of first appearance."""
    out: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        out.setdefault(str(s["hardware"]), []).append(s)
    return out
