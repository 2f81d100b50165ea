"""Summary rules that real CPU runs cannot exercise, on rows shaped like the runner's and typed by the
real loader: the load level of endpoint windows (issue 16 item 3), cache-busted and unbusted rows
kept apart (item 1), SLO attainment with failures as misses (item 8), ok rows without TTFT
(issue 11 item 4), real-size rows apart from tiny ones (issue 11 item 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from vlmbench.report.charts import load as load_chart
from vlmbench.report.groups import group_requests
from vlmbench.report.markdown import tables_markdown
from vlmbench.report.runs import RunData, load_run
from vlmbench.report.sections import hardware_section
from vlmbench.report.summary import summarise
from vlmbench.results.frame import typed
from vlmbench.results.reader import read_rows
from vlmbench.results.writer import RowWriter


def endpoint_rows(scenario: str, concurrency: list[int], cache_bust: bool = True, slo: list = None,
                  status: list = None) -> list[dict]:
    """A window: the cold request (sent alone: concurrency 1), then warm rows at ``concurrency[i]``."""
    out = []
    for i, c in enumerate([1] + concurrency):
        ok = status is None or i == 0 or status[i - 1] == "ok"
        out.append({
            "run_id": "ep", "model_id": "served", "backend": "openai", "hardware": "gpu-box", "scenario": scenario,
            "prompt_id": f"p{i % 6}", "repeat": i // 6, "request_id": f"served|{scenario}|{i}", "batch_size": 1,
            "window_id": f"served|{scenario}" + ("|cold" if i == 0 else ""), "concurrency": c, "cold": i == 0,
            "cache_bust": cache_bust, "status": "ok" if ok else "timeout", "error": None if ok else "timeout",
            "ttft_ms": 100.0 + i if ok else None, "ttft_user_ms": 101.0 + i if ok else None,
            "e2e_ms": 500.0 + i if ok else None, "tpot_ms": 10.0 if ok else None,
            "slo_met": None if slo is None or i == 0 else slo[i - 1],
            "started_at": f"2026-01-01T00:00:{i:02d}.000000Z", "promptset_version": "v1",
        })
    return out


def groups_of(rows: list[dict]):
    return group_requests([RunData(Path("."), typed(pd.DataFrame(rows)))])


def test_the_load_level_comes_from_the_window_not_the_cold_request():
    rows = endpoint_rows("c4-n32", [4] * 8) + endpoint_rows("c16-n32", [16] * 8)
    rows += endpoint_rows("r2-n32", [1, 2, 3, 2, 1, 2, 2, 4])  # Poisson: requests in flight at each send
    by_scenario = {s["scenario"]: s for s in summarise(groups_of(rows))}
    assert by_scenario["c4-n32"]["concurrency"] == 4  # was 1: the cold request's row
    assert by_scenario["c16-n32"]["concurrency"] == 16
    assert by_scenario["r2-n32"]["concurrency"] == 2.0  # median in flight
    groups = groups_of(rows)
    assert [load_chart.load_level(g) for g in groups] == [4, 16, 2.0]  # the load chart's x


def test_cache_busted_and_unbusted_rows_are_separate_summary_rows():
    rows = endpoint_rows("c4-n32", [4] * 8, cache_bust=True) + endpoint_rows("c4-n32", [4] * 8, cache_bust=False)
    summaries = summarise(groups_of(rows))
    assert [(s["scenario"], s["cache_bust"], s["warm_n"]) for s in summaries] == [
        ("c4-n32", True, 8), ("c4-n32", False, 8)]
    md = tables_markdown(summaries)
    assert "c4-n32 (cache-busted)" in md and "c4-n32 (warm cache)" in md


def test_slo_attainment_counts_failures_and_unjudged_requests_as_misses():
    verdicts = [True, True, True, None, False, None, True, True]  # None on the failed rows and one unjudged
    status = ["ok", "ok", "ok", "timeout", "ok", "timeout", "ok", "ok"]
    (summary,) = summarise(groups_of(endpoint_rows("c4-n32", [4] * 8, slo=verdicts, status=status)))
    assert summary["failed"] == 2
    assert summary["slo_met_fraction"] == pytest.approx(5 / 8)  # was 5/6: failures left out
    (no_slo,) = summarise(groups_of(endpoint_rows("c4-n32", [4] * 8)))
    assert no_slo["slo_met_fraction"] is None


def test_ok_rows_without_ttft_are_counted_and_keep_e2e():
    rows = endpoint_rows("seq-n32", [1] * 6)
    for r in rows[2:4]:
        r.update(ttft_ms=None, ttft_user_ms=None, ttft_missing_reason="no chunk carried output")
    (summary,) = summarise(groups_of(rows))
    assert summary["ttft_missing"] == 2 and summary["warm_n"] == 6
    assert "2 ok rows without TTFT: no chunk carried output" in summary["flags"]
    assert summary["e2e_ms_p50"] == pytest.approx(503.5)  # every warm row's E2E


def test_endpoint_rows_headline_the_user_ttft_and_leave_in_process_stages_empty():
    (summary,) = summarise(groups_of(endpoint_rows("c4-n32", [4] * 8)))
    md = tables_markdown([summary])
    header, _, row = md.split("## gpu-box")[1].strip().splitlines()[2:5]
    cells = dict(zip([c.strip() for c in header.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["TTFT user p50 (ms, request -> 1st token)"] == f"{summary['ttft_user_ms_p50']:,.1f}"
    assert cells["TTFT p50 (ms, in-process: generate -> 1st token)"] == "–"


def test_real_size_rows_are_set_apart_from_tiny_ones(tiny_run, tmp_path):
    """A real run, copied with one model relabelled as a real-size one (this CPU-only test machine
    cannot run a real-size model in the test time)."""
    src = tiny_run.run_dir
    dst = tmp_path / "mixed"
    dst.mkdir()
    (dst / "manifest.json").write_text((src / "manifest.json").read_text())
    with RowWriter(dst / "requests.csv") as writer:
        for row in read_rows(src / "requests.csv"):
            writer.write(dict(row, size_class=row.get("size_class") or "tiny"))  # the runner fills it (schema v2)
            writer.write(dict(row, model_id="real-model", size_class="real",
                              request_id=row["request_id"].replace(row["model_id"], "real-model")))
    summaries = summarise(group_requests([load_run(dst)]))
    md = tables_markdown(summaries)
    real_at, tiny_at = md.index("### Real-size models"), md.index("### Tiny test variants")
    assert real_at < md.index("| real-model") < tiny_at < md.index(f"| {summaries[0]['model_id']}")
    html = hardware_section(summaries[0]["hardware"], summaries, [])
    assert html.count('<table class="results sortable">') == 2 and 'class="size-real"' in html
