"""Charts stay readable when 10 ms and 5 s rows share a table (issue 11.6).

The rows are the real tiny run (conftest ``tiny_run``), copied through the real RowWriter:
once as it is (size_class "tiny"), once 1.5x slower under a second tiny id, and once
``REAL_FACTOR`` times slower under a real-size id (size_class "real"), the span of a tiny model
beside tinyllava-1.4b on a CPU. The charts are then drawn by the real chart modules.
"""

from __future__ import annotations

import pytest

from test_report_support import copy_run, slowed_down

from vlmbench.report.build import build_report
from vlmbench.report.charts import cdf, contexts, decode_tps, memory, pareto, stages, ttft
from vlmbench.report.charts.scale import LOG_NOTE, SPAN_LIMIT, span
from vlmbench.report.groups import group_requests
from vlmbench.report.runs import load_runs
from vlmbench.report.summary import summarise

REAL_FACTOR = 300.0  # ~10 ms tiny TTFT beside a few seconds
REAL_ID, SECOND_TINY = "tinyllava-1.4b", "tiny-copy"


def _as(model: str, size_class: str, factor: float):
    scale = slowed_down(factor)

    def change(row):
        new = dict(row, model_id=model, size_class=size_class,
                   request_id=row["request_id"].replace(row["model_id"], model))
        return scale(new) if factor != 1.0 else [new]

    return change


def _mixed(size_classes: tuple[str, str, str]):
    tiny_class, second_class, real_class = size_classes

    def change(row):
        return [*_as(row["model_id"], tiny_class, 1.0)(row), *_as(SECOND_TINY, second_class, 1.5)(row),
                *_as(REAL_ID, real_class, REAL_FACTOR)(row)]

    return change


@pytest.fixture(scope="module")
def runs(tiny_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    src = tiny_run.run_dir
    return {
        "classified": copy_run(src, root, "classified", _mixed(("tiny", "tiny", "real"))),
        "unclassified": copy_run(src, root, "unclassified", _mixed(("", "", ""))),
        "narrow": copy_run(src, root, "narrow", lambda r: [*_as(r["model_id"], "tiny", 1.0)(r),
                                                             *_as(SECOND_TINY, "tiny", 1.5)(r)]),
    }


def _ctx(run_dir):
    groups = group_requests(load_runs([run_dir]))
    return contexts(groups, summarise(groups))[0]


def _rows(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


def test_the_scaled_copy_spans_more_than_the_limit(runs):
    ctx = _ctx(runs["classified"])
    assert span(s["ttft_ms_p50"] for s in ctx.summaries) > 5 * SPAN_LIMIT


@pytest.mark.parametrize("chart", [ttft, decode_tps], ids=["ttft", "decode_tps"])
def test_real_size_and_tiny_models_get_their_own_panels(runs, chart):
    ctx = _ctx(runs["classified"])
    fig = chart.draw(ctx)
    real_ax, tiny_ax = fig.axes
    assert real_ax.get_title(loc="left") == "real-size models" and tiny_ax.get_title(loc="left") == "tiny models"
    assert [label.rstrip(" *") for label in _rows(real_ax)] == [REAL_ID]
    assert {label.rstrip(" *") for label in _rows(tiny_ax)} == {g.model_id for g in ctx.groups} - {REAL_ID}
    assert ctx.hardware in fig._suptitle.get_text()
    column = chart.COLUMN
    for ax, ids in ((real_ax, {REAL_ID}), (tiny_ax, {g.model_id for g in ctx.groups} - {REAL_ID})):
        warm = [v for g in ctx.groups if g.model_id in ids for v in g.warm_values(column)]  # what sizes the axis
        if span(warm) <= SPAN_LIMIT:  # the panel spans less than the limit: linear, from 0
            assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
        else:  # a stalled machine spread one model's own warm rows past the limit: that panel goes log, and says so
            assert ax.get_xscale() == "log" and ax.get_xlabel().endswith(LOG_NOTE)
    # the tiny models fill their axis instead of sitting at 0 on a seconds axis
    tiny_max = max(v for g in ctx.groups if g.model_id != REAL_ID for v in g.warm_values(column) + g.cold_values(column))
    assert tiny_max / tiny_ax.get_xlim()[1] > 0.5


def test_without_size_classes_a_wide_chart_gets_a_log_axis(runs):
    ctx = _ctx(runs["unclassified"])
    fig = ttft.draw(ctx)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.get_xlabel().endswith(LOG_NOTE)
    smallest = min(v for g in ctx.groups for v in g.warm_values(ttft.COLUMN))  # the column the chart draws
    assert 0 < ax.get_xlim()[0] <= smallest and len(_rows(ax)) == 3


def test_values_within_the_limit_keep_one_linear_panel(runs):
    ctx = _ctx(runs["narrow"])
    for chart in (ttft, decode_tps, memory, stages):
        fig = chart.draw(ctx)
        (ax,) = fig.axes
        column = getattr(chart, "COLUMN", None)
        warm = [v for g in ctx.groups for v in g.warm_values(column)] if column else []  # what sizes the axis
        if chart is stages or span(warm) <= SPAN_LIMIT:  # stacked bars never go log; others when the rows allow
            assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0 and LOG_NOTE not in ax.get_xlabel()
        else:  # a stalled machine spread the tiny run's own rows past the limit
            assert ax.get_xscale() == "log" and ax.get_xlabel().endswith(LOG_NOTE)


def test_stages_split_into_panels_and_point_charts_go_log(runs):
    ctx = _ctx(runs["classified"])
    real_ax, tiny_ax = stages.draw(ctx).axes
    assert real_ax.get_xscale() == tiny_ax.get_xscale() == "linear"  # stacked: panels, never log
    assert [label.rstrip(" *") for label in _rows(real_ax)] == [REAL_ID]
    (ax,) = pareto.draw(ctx).axes
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [ax.get_xscale() for ax in cdf.draw(ctx).axes] == ["log", "log"]
    (mem_ax,) = memory.draw(ctx).axes  # memory is not scaled in the copy: one linear panel
    assert mem_ax.get_xscale() == "linear"


def test_the_report_writes_every_chart_of_the_wide_run(runs, tmp_path):
    report = build_report([runs["classified"]], tmp_path / "report")
    assert {c.name for c in report.charts} >= {"ttft_by_model", "decode_tps_by_model", "peak_memory",
                                                "stage_breakdown", "ttft_vs_tps_pareto", "latency_cdf"}
    for c in report.charts:
        assert (report.out_dir / c.png).stat().st_size > 0 and (report.out_dir / c.svg).stat().st_size > 0
