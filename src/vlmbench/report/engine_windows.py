"""The engine's own figures beside the client's, per load window (runs with ``--engine``).

From ``engine_metrics.jsonl`` (``engines/server_metrics.py``) and the window's rows: the client's median
TTFT and TPOT (ok rows of that window) next to the engine's means over the same window (its TTFT, queue,
prefill and decode times, per-token time) and its cache hits. The client's TTFT adds the HTTP path and the
server front end's parsing and image decoding, which the engine's histogram (from its scheduler) leaves out.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from vlmbench.engines import server_metrics
from vlmbench.report.html import esc
from vlmbench.report.runs import RunData

COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "Run"), ("window", "Window"), ("stack", "Stack"), ("requests", "Requests"),
    ("client_ttft_ms", "Client TTFT p50"), ("engine_ttft_ms", "Engine TTFT mean"),
    ("engine_queue_ms", "Engine queue mean"), ("engine_prefill_ms", "Engine prefill mean"),
    ("client_tpot_ms", "Client TPOT p50"), ("engine_tpot_ms", "Engine TPOT mean"),
    ("engine_decode_ms", "Engine decode mean"), ("engine_prefix_cache_hits", "Prefix-cache hits"),
    ("engine_mm_cache_hits", "MM-cache hits"),
)


def _median(values: Any) -> Optional[float]:
    values = values.dropna()
    return float(values.median()) if len(values) else None


def engine_windows(runs: Sequence[RunData]) -> list[dict[str, Any]]:
    out = []
    for run in runs:
        frame = run.frame
        for record in server_metrics.read(run.run_dir):
            rows = frame[(frame["window_id"] == record["window_id"]) & (frame["status"] == "ok")]
            out.append({
                "run_id": run.run_id, "window": record["window_id"], "stack": record.get("stack"),
                "requests": record.get("requests"),
                "client_ttft_ms": _median(rows["ttft_ms"]), "client_tpot_ms": _median(rows["tpot_ms"]),
                **(record.get("summary") or {}),
            })
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def engine_windows_section(runs: Sequence[RunData]) -> str:
    """The HTML section (empty when no run started an engine)."""
    records = engine_windows(runs)
    if not records:
        return ""
    head = "".join(f"<th>{esc(title)}</th>" for _, title in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{esc(_fmt(r.get(key)))}</td>" for key, _ in COLUMNS) + "</tr>"
                   for r in records)
    return ('<h2>Engine figures beside the client\'s (per load window, ms)</h2>'
            '<p>The engine\'s own Prometheus histograms over each window: its TTFT starts when its scheduler '
            'received the request; the client\'s adds the HTTP path and the front end (parsing, image '
            'decoding).</p>'
            f'<div class="table-wrap"><table class="runs"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')
