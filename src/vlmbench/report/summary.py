"""The summary table: one row per (run, model, scenario, cache-bust mode), every value derived
from requests.csv rows with pandas (the group's slice of :func:`vlmbench.results.load`'s frame).

Columns (units in the names: ``_ms`` milliseconds, ``_tps`` tokens/s, ``_rps`` requests/s,
``_mb`` MiB, ``_j`` joules):

- identity: run, hardware, model, system, weights, scenario, backend, device, dtype, batch size,
  concurrency (the window's load level: see :attr:`RequestGroup.load_level`), prompt-set
  version, parameter count (from manifest.json), ``size_class`` (tiny | real, schema v2) and
  ``cache_bust`` (endpoint rows: true = every request made unique; busted and unbusted rows are
  separate summary rows, never pooled);
- counts: ``n`` rows, ``ok``, ``failed`` (non-ok rows: counted, never averaged), ``warm_n``,
  ``cold_n``, ``edge_n`` (ramp and drain rows of endpoint load windows: not in the latency
  statistics), ``ttft_missing`` (ok rows whose TTFT is empty; ``ttft_missing_reason`` says why);
- for TTFT (model and user), TPOT, E2E and decode tok/s over warm rows: ``p50``, ``p90``, ``p99``,
  ``mean``, ``std``, ``cv`` (pandas; percentiles by linear interpolation, left empty where the
  sample is too small for them: :func:`vlmbench.analysis.statistics.percentile_note`; std with n - 1);
- ``<metric>_p50_ci_low/high`` for TTFT user, TTFT and TPOT: bootstrap 95 % CI of the median,
  resampling generate windows (``window_id``), the independent unit at batch > 1;
- stage medians (preprocess, vision, prefill, decode = e2e - ttft) of warm rows;
- ``cold_ttft_ms`` / ``cold_ttft_user_ms``: median over cold rows (usually exactly one);
- throughput: median over windows of ``window_output_tps``, ``window_rps`` and ``window_goodput_rps``
  (one value per window; endpoint windows: over the steady interval), beside the window size:
  ``window_requests_p50`` and ``window_steady_s_p50`` (medians over the same windows);
- ``slo_met_fraction``: :func:`vlmbench.metrics.slo.slo_met_fraction` over every request sent
  under the SLO except the cold one: warm ok rows and failed rows; a failed or unjudged request
  is a miss (the definition goodput uses);
- memory: max over ok rows of each peak column; ``weights_mb``;
- energy: mean ``energy_j`` per request and median ``tokens_per_j`` of warm rows, where measured;
- ``roofline_fraction_p50``: median of warm rows (batch 1 only; see metrics/roofline.py);
- stability per prompt across repeats (report/stability.py): ``<metric>_repeat_cv``,
  ``<metric>_drift_pct`` and ``<metric>_drift_p`` for TTFT and TPOT;
- ``flags``: '; '-separated warnings (high repeat CV, drift between repeats, failures, ok rows
  without TTFT, no warm rows). A percentile the sample cannot support is an empty cell, not a flag.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import pandas as pd

from vlmbench.analysis.observations import observation_labels
from vlmbench.analysis.statistics import bootstrap_median_ci, percentile_supported
from vlmbench.metrics.slo import slo_met_fraction
from vlmbench.report.groups import RequestGroup
from vlmbench.report.runs import py
from vlmbench.results.selection import cold_mask, ok_mask
from vlmbench.report.stability import stability
from vlmbench.vocab.metrics import metrics


def _registered(*columns: str) -> tuple[str, ...]:
    """Metric columns the summary reports: each must be in the registry (vocab.metrics), where its
    label, unit and direction are declared once (KeyError at import otherwise)."""
    return tuple(m.column for m in metrics(*columns))


# Per-request metrics whose full distribution is summarised (warm rows).
DISTRIBUTION_METRICS: tuple[str, ...] = _registered("ttft_ms", "ttft_user_ms", "tpot_ms", "e2e_ms", "decode_tps")
DISTRIBUTION_STATS: tuple[str, ...] = ("p50", "p90", "p99", "mean", "std", "cv")
CI_METRICS: tuple[str, ...] = _registered("ttft_ms", "tpot_ms", "ttft_user_ms")
STAGE_METRICS: tuple[str, ...] = _registered("preprocess_ms", "vision_ms", "prefill_ms")
PEAK_MEMORY_METRICS: tuple[str, ...] = (
    "peak_rss_mb", "peak_cuda_allocated_mb", "peak_cuda_reserved_mb", "peak_nvml_mb",
)
WINDOW_METRICS: tuple[str, ...] = _registered("window_output_tps", "window_rps", "window_goodput_rps")
# the size beside every window figure: requests per window and the steady interval (s), medians over windows
WINDOW_SIZE_COLUMNS: tuple[str, ...] = ("window_requests_p50", "window_steady_s_p50")
CV_CHECKED: tuple[str, ...] = ("ttft_ms", "tpot_ms")
STABILITY_STATS: tuple[str, ...] = ("repeat_cv", "drift_pct", "drift_p")

IDENTITY_COLUMNS: tuple[str, ...] = (
    "run_id", "hardware", "model_id", "system", "weights", "scenario", "backend", "stack", "device", "dtype",
    "batch_size", "concurrency", "promptset_version", "parameters", "size_class", "cache_bust",
)
COUNT_COLUMNS: tuple[str, ...] = ("n", "ok", "failed", "warm_n", "cold_n", "edge_n", "ttft_missing")

SUMMARY_COLUMNS: tuple[str, ...] = (
    IDENTITY_COLUMNS + COUNT_COLUMNS
    + tuple(f"{m}_{s}" for m in DISTRIBUTION_METRICS for s in DISTRIBUTION_STATS)
    + tuple(f"{m}_p50_ci_{side}" for m in CI_METRICS for side in ("low", "high"))
    + tuple(f"{m}_p50" for m in STAGE_METRICS) + ("decode_ms_p50",)
    + ("cold_ttft_ms", "cold_ttft_user_ms")
    + tuple(f"{m}_p50" for m in WINDOW_METRICS) + WINDOW_SIZE_COLUMNS
    + tuple(f"{m}_max" for m in PEAK_MEMORY_METRICS) + ("weights_mb",)
    + ("slo_met_fraction",)
    + ("energy_j_mean", "tokens_per_j_p50", "roofline_fraction_p50", "n_prompt_tokens_p50", "n_output_tokens_p50")
    + tuple(f"{m}_{s}" for m in CV_CHECKED for s in STABILITY_STATS)
    + ("flags",)
)


def _num(value: Any) -> Optional[float]:
    value = py(value)
    return None if value is None else float(value)


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([], dtype="float64")
    return pd.to_numeric(frame[column], errors="coerce").astype("float64").dropna()


def distribution(values: pd.Series) -> dict[str, Optional[float]]:
    """p50/p90/p99 (linear interpolation; empty where the sample is too small for the percentile,
    :func:`percentile_supported`), mean, sample std (n - 1) and CV = std / mean."""
    n = len(values)
    q = values.quantile([0.5, 0.9, 0.99]) if n else pd.Series([None] * 3, index=[0.5, 0.9, 0.99])
    mean = _num(values.mean()) if n else None
    std = _num(values.std(ddof=1)) if n >= 2 else None
    percentiles = {f"p{p}": _num(q.loc[p / 100]) if percentile_supported(p, n) else None for p in (50, 90, 99)}
    return {**percentiles, "mean": mean, "std": std, "cv": std / mean if std is not None and mean else None}


def _median(values: pd.Series) -> Optional[float]:
    return _num(values.median()) if len(values) else None


def slo_fraction(group: RequestGroup) -> Optional[float]:
    """:func:`vlmbench.metrics.slo.slo_met_fraction` over the group's requests except the cold
    one; where an SLO was in force (any row judged), an empty verdict is a miss."""
    frame = group.frame
    cold_ok = ok_mask(frame) & cold_mask(frame)
    verdicts = frame.loc[~cold_ok, "slo_met"]
    if not verdicts.notna().any():
        return None
    return slo_met_fraction(verdicts.astype("boolean").fillna(False).tolist())


def _flags(group: RequestGroup, summary: dict[str, Any], stable: list[Any]) -> list[str]:
    flags = []
    n = summary["warm_n"]
    if n == 0:
        flags.append("no warm ok rows: no statistics")
    for s in stable:  # high CV across repeats of a prompt, drift between repeats
        flags.extend(s.flags)
    if summary["failed"]:
        by_status = ", ".join(f"{k} {v}" for k, v in sorted(group.failed_by_status.items()))
        flags.append(f"{summary['failed']} failed ({by_status}) not in statistics")
    if summary["ttft_missing"]:
        ok = group.ok
        reasons = ok.loc[ok["ttft_ms"].isna(), "ttft_missing_reason"].dropna().astype(str).unique()
        why = f": {', '.join(reasons)}" if len(reasons) else ""
        flags.append(f"{summary['ttft_missing']} ok rows without TTFT{why} (E2E kept; not in TTFT statistics)")
    return flags


def summarise_group(group: RequestGroup) -> dict[str, Any]:
    """One summary row (keys = SUMMARY_COLUMNS) from one group's rows."""
    batch_size, concurrency = group.load_level
    frame, ok, warm, cold = group.frame, group.ok, group.warm, group.cold
    row: dict[str, Any] = {
        "run_id": group.run_id,
        "hardware": group.hardware,
        "model_id": group.model_id,
        "system": group.first("system"),
        "weights": group.weights,
        "scenario": group.scenario,
        "backend": group.first("backend"),
        "stack": group.stack,
        "device": group.first("device"),
        "dtype": group.first("dtype"),
        "batch_size": batch_size,
        "concurrency": concurrency,
        "promptset_version": group.promptset_version,
        "parameters": group.parameters,
        "size_class": group.size_class or None,
        "cache_bust": group.cache_bust,
        "n": len(frame),
        "ok": len(ok),
        "failed": len(frame) - len(ok),
        "warm_n": len(warm),
        "cold_n": len(cold),
        "edge_n": len(group.edge),
        "ttft_missing": int(ok["ttft_ms"].isna().sum()),
    }
    for metric in DISTRIBUTION_METRICS:
        for stat, value in distribution(_column(warm, metric)).items():
            row[f"{metric}_{stat}"] = value
    windows = observation_labels(warm)
    for metric in CI_METRICS:
        values = pd.to_numeric(warm[metric], errors="coerce").astype("float64")
        ci = bootstrap_median_ci(values.tolist(), clusters=windows.tolist()) if values.notna().any() else None
        row[f"{metric}_p50_ci_low"], row[f"{metric}_p50_ci_high"] = ci if ci else (None, None)
    for metric in STAGE_METRICS:
        row[f"{metric}_p50"] = _median(_column(warm, metric))
    row["decode_ms_p50"] = _median((warm["e2e_ms"] - warm["ttft_ms"]).dropna())
    row["cold_ttft_ms"] = _median(_column(cold, "ttft_ms"))
    row["cold_ttft_user_ms"] = _median(_column(cold, "ttft_user_ms"))
    per_window = group.warm_windows()
    for metric in WINDOW_METRICS + ("window_requests", "window_steady_s"):
        row[f"{metric}_p50"] = _median(_column(per_window, metric))
    for metric in PEAK_MEMORY_METRICS:
        values = _column(ok, metric)
        row[f"{metric}_max"] = _num(values.max()) if len(values) else None
    row["slo_met_fraction"] = slo_fraction(group)
    weights = _column(ok, "weights_mb")
    row["weights_mb"] = _num(weights.iloc[0]) if len(weights) else None
    energy = _column(warm, "energy_j")
    row["energy_j_mean"] = _num(energy.mean()) if len(energy) else None
    row["tokens_per_j_p50"] = _median(_column(warm, "tokens_per_j"))
    row["roofline_fraction_p50"] = _median(_column(warm, "roofline_fraction"))  # batch-1 rows only
    row["n_prompt_tokens_p50"] = _median(_column(warm, "n_prompt_tokens"))
    row["n_output_tokens_p50"] = _median(_column(warm, "n_output_tokens"))
    stable = [stability(warm, metric) for metric in CV_CHECKED]
    for s in stable:
        row[f"{s.metric}_repeat_cv"] = s.repeat_cv
        row[f"{s.metric}_drift_pct"] = None if s.drift is None else 100.0 * s.drift.relative
        row[f"{s.metric}_drift_p"] = None if s.drift is None else s.drift.p
    row["flags"] = "; ".join(_flags(group, row, stable))
    return {name: row.get(name) for name in SUMMARY_COLUMNS}


def summarise(groups: Sequence[RequestGroup]) -> list[dict[str, Any]]:
    return [summarise_group(g) for g in groups]


