"""The summary table: one row per (run, model, scenario), every value derived from requests.csv rows.

Columns (units in the names: ``_ms`` milliseconds, ``_tps`` tokens/s, ``_rps`` requests/s,
``_mb`` MiB, ``_j`` joules):

- identity: run, hardware, model, system, weights, scenario, backend, device, dtype, batch size,
  concurrency, prompt-set version, parameter count (from manifest.json);
- counts: ``n`` rows, ``ok``, ``failed`` (non-ok rows: counted, never averaged), ``warm_n``, ``cold_n``;
- for TTFT (model and user), TPOT, E2E and decode tok/s over warm rows: ``p50``, ``p90``, ``p99``,
  ``mean``, ``std``, ``cv``;
- ``ttft_ms_p50_ci_low/high`` and ``tpot_ms_p50_ci_low/high``: bootstrap 95 % CI of the median;
- stage medians (preprocess, vision, prefill, decode = e2e - ttft) of warm rows;
- ``cold_ttft_ms`` / ``cold_ttft_user_ms``: median over cold rows (usually exactly one);
- throughput: median over windows of ``window_output_tps``, ``window_rps`` and ``window_goodput_rps``
  (one value per window);
- ``slo_met_fraction``: share of warm rows with ``slo_met`` true, among warm rows where it was judged;
- memory: max over ok rows of each peak column; ``weights_mb``;
- energy: mean ``energy_j`` per request and median ``tokens_per_j`` of warm rows, where measured;
- ``roofline_fraction_p50``: median of warm rows (batch 1 only; see metrics/roofline.py);
- ``flags``: '; '-separated warnings (percentile with too few rows, high CV, drift between the first
  and second half of the warm rows (report/stability.py), failures, no warm rows).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from vlmbench.report.groups import RequestGroup
from vlmbench.report.stability import stability_flags
from vlmbench.report.statistics import (
    MIN_N_FOR_PERCENTILE,
    bootstrap_median_ci,
    describe,
    percentile,
    percentile_supported,
)

# Per-request metrics whose full distribution is summarised (warm rows).
DISTRIBUTION_METRICS: tuple[str, ...] = ("ttft_ms", "ttft_user_ms", "tpot_ms", "e2e_ms", "decode_tps")
DISTRIBUTION_STATS: tuple[str, ...] = ("p50", "p90", "p99", "mean", "std", "cv")
CI_METRICS: tuple[str, ...] = ("ttft_ms", "tpot_ms")
STAGE_METRICS: tuple[str, ...] = ("preprocess_ms", "vision_ms", "prefill_ms")
PEAK_MEMORY_METRICS: tuple[str, ...] = (
    "peak_rss_mb", "peak_cuda_allocated_mb", "peak_cuda_reserved_mb", "peak_nvml_mb",
)
WINDOW_METRICS: tuple[str, ...] = ("window_output_tps", "window_rps", "window_goodput_rps")
CV_CHECKED: tuple[str, ...] = ("ttft_ms", "tpot_ms")

IDENTITY_COLUMNS: tuple[str, ...] = (
    "run_id", "hardware", "model_id", "system", "weights", "scenario", "backend", "device", "dtype",
    "batch_size", "concurrency", "promptset_version", "parameters",
)
COUNT_COLUMNS: tuple[str, ...] = ("n", "ok", "failed", "warm_n", "cold_n")

SUMMARY_COLUMNS: tuple[str, ...] = (
    IDENTITY_COLUMNS + COUNT_COLUMNS
    + tuple(f"{m}_{s}" for m in DISTRIBUTION_METRICS for s in DISTRIBUTION_STATS)
    + tuple(f"{m}_p50_ci_{side}" for m in CI_METRICS for side in ("low", "high"))
    + tuple(f"{m}_p50" for m in STAGE_METRICS) + ("decode_ms_p50",)
    + ("cold_ttft_ms", "cold_ttft_user_ms")
    + tuple(f"{m}_p50" for m in WINDOW_METRICS)
    + tuple(f"{m}_max" for m in PEAK_MEMORY_METRICS) + ("weights_mb",)
    + ("slo_met_fraction",)
    + ("energy_j_mean", "tokens_per_j_p50", "roofline_fraction_p50", "n_prompt_tokens_p50", "n_output_tokens_p50")
    + ("flags",)
)


def _flags(group: RequestGroup, summary: dict[str, Any]) -> list[str]:
    flags = []
    n = summary["warm_n"]
    if n == 0:
        flags.append("no warm ok rows: no statistics")
    else:
        for q in (90, 99):
            if not percentile_supported(q, n):
                flags.append(f"p{q} needs n>={MIN_N_FOR_PERCENTILE[q]} (n={n})")
    flags.extend(stability_flags(group.warm_rows, CV_CHECKED))  # high CV, first-vs-second-half drift
    if summary["failed"]:
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(group.failed_by_status.items()))
        flags.append(f"{summary['failed']} failed ({by_status}) not in statistics")
    return flags


def summarise_group(group: RequestGroup) -> dict[str, Any]:
    """One summary row (keys = SUMMARY_COLUMNS) from one group's rows."""
    batch_size, concurrency = group.load_level
    row: dict[str, Any] = {
        "run_id": group.run_id,
        "hardware": group.hardware,
        "model_id": group.model_id,
        "system": group.first("system"),
        "weights": group.weights,
        "scenario": group.scenario,
        "backend": group.first("backend"),
        "device": group.first("device"),
        "dtype": group.first("dtype"),
        "batch_size": batch_size,
        "concurrency": concurrency,
        "promptset_version": group.promptset_version,
        "parameters": group.parameters,
        "n": len(group.rows),
        "ok": len(group.ok_rows),
        "failed": len(group.rows) - len(group.ok_rows),
        "warm_n": len(group.warm_rows),
        "cold_n": len(group.cold_rows),
    }
    for metric in DISTRIBUTION_METRICS:
        dist = describe(group.warm_values(metric))
        for stat in DISTRIBUTION_STATS:
            row[f"{metric}_{stat}"] = getattr(dist, stat)
    for metric in CI_METRICS:
        ci = bootstrap_median_ci(group.warm_values(metric))
        row[f"{metric}_p50_ci_low"], row[f"{metric}_p50_ci_high"] = ci if ci else (None, None)
    for metric in STAGE_METRICS:
        row[f"{metric}_p50"] = percentile(group.warm_values(metric), 50)
    row["decode_ms_p50"] = percentile(group.warm_decode_ms(), 50)
    row["cold_ttft_ms"] = percentile(group.cold_values("ttft_ms"), 50)
    row["cold_ttft_user_ms"] = percentile(group.cold_values("ttft_user_ms"), 50)
    for metric in WINDOW_METRICS:
        row[f"{metric}_p50"] = percentile(group.warm_window_values(metric), 50)
    for metric in PEAK_MEMORY_METRICS:
        values = group.ok_values(metric)
        row[f"{metric}_max"] = max(values) if values else None
    judged = [r["slo_met"] for r in group.warm_rows if r.get("slo_met") is not None]
    row["slo_met_fraction"] = sum(judged) / len(judged) if judged else None
    weights = group.ok_values("weights_mb")
    row["weights_mb"] = weights[0] if weights else None
    energy = group.warm_values("energy_j")
    row["energy_j_mean"] = sum(energy) / len(energy) if energy else None
    row["tokens_per_j_p50"] = percentile(group.warm_values("tokens_per_j"), 50)
    row["roofline_fraction_p50"] = percentile(group.warm_values("roofline_fraction"), 50)  # batch-1 rows only
    row["n_prompt_tokens_p50"] = percentile(group.warm_values("n_prompt_tokens"), 50)
    row["n_output_tokens_p50"] = percentile(group.warm_values("n_output_tokens"), 50)
    row["flags"] = "; ".join(_flags(group, row))
    return {name: row.get(name) for name in SUMMARY_COLUMNS}


def summarise(groups: Sequence[RequestGroup]) -> list[dict[str, Any]]:
    return [summarise_group(g) for g in groups]


HEADLINE_MEMORY_ORDER: tuple[tuple[str, str], ...] = (
    ("peak_nvml_mb_max", "NVML device memory"),
    ("peak_cuda_reserved_mb_max", "CUDA reserved"),
    ("peak_cuda_allocated_mb_max", "CUDA allocated"),
    ("peak_rss_mb_max", "process RSS"),
)


def peak_memory_mb(summary: dict[str, Any]) -> tuple[Optional[float], str]:
    """The headline peak memory (MiB) of a summary row and what it is: device memory where
    measured (NVML, else CUDA reserved, else allocated), else the worker's peak RSS."""
    for column, label in HEADLINE_MEMORY_ORDER:
        if summary.get(column) is not None:
            return summary[column], label
    return None, ""
