"""The engine's own Prometheus ``/metrics``, scraped before and after every load window: per-window deltas.

Counters and histogram buckets/sums/counts become the increase over the window; gauges (requests running
or waiting, KV-cache usage) are kept as their value before and after. Written one JSON line per window to
``engine_metrics.jsonl`` in the run folder (format version :data:`FORMAT_VERSION`; readers refuse other
versions). Parsing is ``prometheus_client``'s.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Optional

FORMAT_VERSION = 1
FILE_NAME = "engine_metrics.jsonl"
# Families kept (prefix match on the family name): what the report puts beside client figures.
KEEP = ("vllm:", "sglang:")


def scrape(url: str, timeout_s: float = 5.0) -> Optional[dict[str, float]]:
    """``{sample name{labels}: value}`` of the kept families, or None where the endpoint did not answer."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            text = resp.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    out: dict[str, float] = {}
    kinds: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith(KEEP):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k not in ("engine", "model_name"))
            key = f"{sample.name}{{{labels}}}" if labels else sample.name
            out[key] = float(sample.value)
            kinds[key] = family.type
    out["__types__"] = kinds  # type: ignore[assignment]
    return out


def delta(before: Optional[dict[str, Any]], after: Optional[dict[str, Any]]) -> dict[str, Any]:
    """Counters/histograms: after - before; gauges: both values."""
    if before is None or after is None:
        return {"available": False}
    kinds = after.get("__types__", {})
    counters, gauges = {}, {}
    for key, value in after.items():
        if key == "__types__":
            continue
        if kinds.get(key) == "gauge":
            gauges[key] = {"before": before.get(key), "after": value}
        else:
            counters[key] = value - float(before.get(key, 0.0))
    return {"available": True, "counters": counters, "gauges": gauges}


def summary(d: dict[str, Any]) -> dict[str, Optional[float]]:
    """The engine's own per-window figures (means over the window's requests, ms): TTFT, queue, prefill,
    decode, end to end; requests; prefix- and multimodal-cache hits."""
    if not d.get("available"):
        return {}
    c = d["counters"]

    def mean_ms(base: str) -> Optional[float]:
        n = c.get(f"{base}_count")
        return 1000.0 * c[f"{base}_sum"] / n if n else None

    return {
        "engine_ttft_ms": mean_ms("vllm:time_to_first_token_seconds"),
        "engine_queue_ms": mean_ms("vllm:request_queue_time_seconds"),
        "engine_prefill_ms": mean_ms("vllm:request_prefill_time_seconds"),
        "engine_decode_ms": mean_ms("vllm:request_decode_time_seconds"),
        "engine_e2e_ms": mean_ms("vllm:e2e_request_latency_seconds"),
        "engine_tpot_ms": mean_ms("vllm:request_time_per_output_token_seconds")
        or mean_ms("vllm:inter_token_latency_seconds"),
        "engine_requests": c.get("vllm:e2e_request_latency_seconds_count"),
        "engine_prefix_cache_hits": c.get("vllm:prefix_cache_hits_total"),
        "engine_mm_cache_hits": c.get("vllm:mm_cache_hits_total"),
    }


def window_line(record: dict[str, Any]) -> dict[str, Any]:
    """One window's line of ``FILE_NAME`` (the driver appends it to the run folder: ``vocab.files.append_side_record``)."""
    return {"format_version": FORMAT_VERSION, **record}


def read(run_dir: Path) -> list[dict[str, Any]]:
    from vlmbench.errors import SchemaError

    path = Path(run_dir) / FILE_NAME
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get("format_version") != FORMAT_VERSION:
            raise SchemaError(f"{path}:{n}: format_version {rec.get('format_version')!r} not readable "
                              f"(this vlmbench reads {FORMAT_VERSION})")
        out.append(rec)
    return out
