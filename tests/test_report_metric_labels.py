"""Issue 20 item 5: a metric's label and unit are declared once, in the registry
(vlmbench.vocab.metrics); every report table header showing a registered metric takes them from
there. Each table is probed by behaviour: one registered metric's summary field (or row column)
carries a marker value, and every column that shows the marker must be headed by that metric's
registry label and unit."""

from __future__ import annotations

import pytest

from vlmbench.report.quick import median_table
from vlmbench.report.response_table import RESPONSE_COLUMNS
from vlmbench.report.summary import SUMMARY_COLUMNS
from vlmbench.results.selection import PEAK_MEMORY_SOURCES
from vlmbench.vocab.metrics import PEAK_MEMORY, REGISTRY, Metric, metric

MARK = 98765.4


def _labelled(header: str, m: Metric) -> bool:
    """``header`` names ``m`` as the registry does: it starts with m's label (the longest registry
    label it starts with: "TTFT user ..." is not "TTFT") and states m's unit."""
    prefixes = [r.label for r in REGISTRY if header.startswith(r.label)]
    return bool(prefixes) and max(prefixes, key=len) == m.label and m.unit in header


def _base() -> dict:
    return {"model_id": "m", "scenario": "s", "backend": "hf", "ok": 1, "n": 1, "run_id": "r", "hardware": "h"}


def _fields(m: Metric) -> list[str]:
    if m.column == PEAK_MEMORY:
        return [f"{source}_max" for source, _ in PEAK_MEMORY_SOURCES]
    return [f for f in SUMMARY_COLUMNS if f.startswith(m.column + "_") or f == f"cold_{m.column}"]


@pytest.mark.parametrize("m", REGISTRY, ids=lambda m: m.column)
def test_every_response_table_column_showing_a_registered_metric_has_its_registry_label_and_unit(m):
    shown = []
    for field in _fields(m):
        summary = {**_base(), field: MARK}
        for col in RESPONSE_COLUMNS:
            if f"{MARK:,.0f}"[:5] in col.text(summary):
                shown.append(col)
                assert _labelled(col.header, m), (col.key, col.header, m.heading())
    if m.column in ("ttft_ms", "ttft_user_ms", "e2e_ms", "decode_tps", "preprocess_ms", "vision_ms",
                    "prefill_ms", PEAK_MEMORY):
        assert shown, f"{m.column} is not shown by the response table"  # the probe finds what it must


def test_the_check_refuses_headers_that_disagree_with_the_registry():
    # the literals the response table had before the registry: each is refused for its metric
    assert not _labelled("Total time p50 (ms)", metric("e2e_ms"))
    assert not _labelled("Tokens/s p50", metric("decode_tps"))
    assert not _labelled("TTFT user p50 (ms)", metric("ttft_ms"))  # another metric's label
    assert not _labelled("TTFT p50 (s)", metric("ttft_ms"))  # wrong unit
    assert _labelled(metric("e2e_ms").heading("p50"), metric("e2e_ms"))
    assert metric("decode_tps").heading("p50") == "decode tokens/s p50"  # unit not said twice


def test_the_quick_table_headers_are_the_registry_headings():
    rows = []
    columns = ("ttft_ms", "ttft_user_ms", "tpot_ms", "decode_tps")
    for i, column in enumerate(columns):
        row = {"model_id": f"m{i}", "scenario": "s", "status": "ok", "cold": False, "edge": False,
               "weights": "w", **{c: None for c in columns}}
        row[column] = MARK
        rows.append(row)
    lines = median_table(rows).splitlines()
    header, dashes = lines[0], lines[1]
    spans, start = [], 0
    for dash in dashes.split("  "):
        spans.append((start, start + len(dash)))
        start += len(dash) + 2
    names = [header[a:b].strip() for a, b in spans]
    for i, column in enumerate(columns):
        line = lines[2 + i]
        (hit,) = [names[k] for k, (a, b) in enumerate(spans) if line[a:b].strip() == f"{MARK:.1f}"
                  or line[a:b].strip() == f"{MARK:.2f}"]
        assert hit == metric(column).heading(), (column, hit)


def _html_columns(table: str) -> tuple[list[str], list[str]]:
    import re
    import html
    heads = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    return heads, cells


@pytest.mark.parametrize("m", REGISTRY, ids=lambda m: m.column)
def test_every_model_page_distribution_column_has_its_registry_label_and_unit(m):
    from vlmbench.report.site.model_page import distribution_table
    shown = 0
    for field in _fields(m):
        summary = {**{f: None for f in SUMMARY_COLUMNS}, **_base(), "warm_n": 1, field: MARK}
        heads, cells = _html_columns(distribution_table([summary]))
        assert len(heads) == len(cells)
        for head, cell in zip(heads, cells):
            if "98,765" in cell and "CV" not in head:  # a CV is a ratio: the metric's label, no unit
                assert _labelled(head, m), (field, head, m.heading())
                shown += 1
    if m.column in ("ttft_ms", "ttft_user_ms", "tpot_ms", "e2e_ms"):
        assert shown, f"{m.column} is not shown by the distribution table"  # the probe finds what it must


def test_the_site_prediction_headers_of_registered_metrics_are_the_registry_headings():
    from vlmbench.report.site.predictions import COLUMNS
    from vlmbench.vocab.metrics import BY_COLUMN
    registered = [(c, h) for c, h in COLUMNS if c in BY_COLUMN]
    assert registered
    for column, header in registered:
        assert header == metric(column).heading()
