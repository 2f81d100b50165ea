"""One definition of "warm ok rows" and of "peak memory" (issue 20 item 3), read by every user: on
a real tiny run (its first measured request is cold), the report's groups, the run's closing table,
the archive series and the predictor all take exactly the rows ``results.selection`` names, and
the peak memory of the report and of the archive is the same maximum, over the ok rows."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest

from vlmbench.archive.series import run_medians
from vlmbench.predict.measured import load_rows
from vlmbench.report.groups import group_requests
from vlmbench.report.quick import median_table
from vlmbench.report.runs import load_run
from vlmbench.report.summary import summarise_group
from vlmbench.results.frame import load
from vlmbench.results.reader import read_rows
from vlmbench.results.selection import (PEAK_MEMORY, PEAK_MEMORY_SOURCES, cold_mask, headline_peak_memory,
                                        is_warm_ok, ok_mask, warm_ok, with_peak_memory)


@pytest.fixture(scope="module")
def measured(tiny_run):
    return load(tiny_run.run_dir), read_rows(tiny_run.requests_csv)


def test_every_reader_takes_the_warm_ok_rows(tiny_run, measured):
    frame, rows = measured
    warm_ids = sorted(warm_ok(frame)["request_id"])
    assert int(cold_mask(frame).sum()) == 1 and 0 < len(warm_ids) < len(frame)  # not a trivial selection
    assert sorted(r["request_id"] for r in rows if is_warm_ok(r)) == warm_ids  # rows and frame agree
    (group,) = group_requests([load_run(tiny_run.run_dir)])
    assert sorted(group.warm["request_id"]) == warm_ids and len(group.cold) == 1
    assert sorted(r["request_id"] for r in load_rows([tiny_run.run_dir])) == warm_ids  # no cold row
    table = median_table(rows)
    warm_ttft = statistics.median(r["ttft_ms"] for r in rows if is_warm_ok(r))
    assert f"{warm_ttft:.1f}" in table.splitlines()[2].split()


def test_a_group_measured_only_cold_has_no_warm_statistics(measured):
    _, rows = measured
    cold_only = [r for r in rows if r.get("cold")]
    line = median_table(cold_only).splitlines()[2].split()
    assert line[2] == "1/1" and line[3:7] == ["-", "-", "-", "-"]  # the cold row never stands in


def test_peak_memory_is_one_maximum_over_the_ok_rows(tiny_run, measured):
    frame, _ = measured
    ok = frame[ok_mask(frame)]
    per_row = with_peak_memory(ok)[PEAK_MEMORY]
    measured_sources = [c for c, _ in PEAK_MEMORY_SOURCES if ok[c].notna().any()]
    assert measured_sources and per_row.equals(ok[measured_sources[0]].astype("float64"))
    (group,) = group_requests([load_run(tiny_run.run_dir)])
    headline, label = headline_peak_memory(summarise_group(group))
    medians = run_medians(frame)
    assert headline == pytest.approx(per_row.max()) and label
    assert medians[PEAK_MEMORY].tolist() == pytest.approx([per_row.max()])
    assert pd.notna(medians["ttft_ms"]).all()
