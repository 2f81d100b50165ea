"""Stability flags: high CV and first-vs-second-half drift of warm rows, and how they reach
the summary (report/stability.py, plugged into report/summary.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlmbench.report.groups import RequestGroup
from vlmbench.report.runs import RunData
from vlmbench.report.stability import drift, drift_flag, in_measurement_order, stability_flags
from vlmbench.report.summary import summarise_group


def series(first: float, second: float, n: int = 10, noise: float = 0.01, seed: int = 0) -> list[float]:
    """n values: the first half around ``first``, the second around ``second`` (relative noise)."""
    rng = np.random.default_rng(seed)
    centre = [first] * (n // 2) + [second] * (n - n // 2)
    return [float(c * (1 + noise * rng.standard_normal())) for c in centre]


def rows_of(values: list[float], metric: str = "ttft_ms") -> list[dict]:
    return [{metric: v, "started_at": f"2026-01-01T00:00:{i:02d}.000000Z", "status": "ok", "cold": False,
             "run_id": "r", "model_id": "m", "scenario": "b1-n8", "request_id": f"m|{i}"}
            for i, v in enumerate(values)]


def test_a_steady_series_is_not_flagged():
    values = series(100.0, 100.0)
    assert drift_flag("ttft_ms", values) is None
    assert stability_flags(rows_of(values), ["ttft_ms"]) == []


def test_a_warmup_that_ended_late_is_flagged_with_its_test():
    values = series(120.0, 100.0)  # first half 20 % slower
    d = drift(values)
    assert d.relative < -0.10 and d.p is not None and d.p < 0.05 and d.flagged
    flag = drift_flag("ttft_ms", values)
    assert flag.startswith("drift ttft_ms: median ") and "Mann-Whitney p=" in flag and "(-16%)" in flag


def test_small_groups_use_the_relative_rule_alone_and_say_so():
    values = series(100.0, 115.0, n=6)
    assert drift(values).p is None
    assert "too few values to test" in drift_flag("tpot_ms", values)
    assert drift_flag("tpot_ms", series(100.0, 108.0, n=6)) is None  # under 10 %
    assert drift(series(100.0, 150.0, n=5)) is None  # too few to split


def test_a_large_but_insignificant_shift_is_not_flagged():
    # medians 10 -> 11.5 (+15 %), but the halves overlap completely: no evidence of a trend
    values = [10.0, 30.0, 10.0, 30.0, 10.0, 1.0, 11.5, 40.0, 11.5, 11.5]
    d = drift(values)
    assert d.relative > 0.10 and d.p is not None and d.p >= 0.05 and not d.flagged


def test_rows_are_taken_in_measurement_order():
    rows = rows_of(series(120.0, 100.0))
    shuffled = rows[1::2] + rows[0::2]
    assert in_measurement_order(shuffled) == rows
    assert any(f.startswith("drift ttft_ms") for f in stability_flags(shuffled, ["ttft_ms"]))


def test_high_cv_keeps_its_summary_wording():
    values = [10.0, 30.0, 10.0, 30.0]
    assert stability_flags(rows_of(values), ["ttft_ms"]) == ["high CV ttft_ms=0.58 (>0.25)"]


def test_the_summary_carries_drift_and_n():
    rows = rows_of(series(130.0, 100.0, n=12))
    for r in rows:
        r["tpot_ms"] = 20.0
    group = RequestGroup(RunData(Path("."), rows), "m", "b1-n8", tuple(rows))
    summary = summarise_group(group)
    assert summary["warm_n"] == 12 and summary["n"] == 12
    assert "drift ttft_ms" in summary["flags"] and "drift tpot_ms" not in summary["flags"]
