"""The reporter's pure building blocks: statistics, escaping, CSV neutralising, slugs, Markdown."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from vlmbench.analysis.statistics import bootstrap_median_ci, clean, pareto_front, percentile
from vlmbench.report.export_csv import format_value, write_csv
from vlmbench.report.html import esc, json_for_script
from vlmbench.report.markdown import md_cell
from vlmbench.report.site.safe_markdown import render
from vlmbench.vocab.slug import slug


def test_percentiles_are_type_7_linear_interpolation():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)  # h = 3 * 0.9 = 2.7 -> 3 + 0.7 * (4 - 3)
    assert percentile([], 50) is None


def test_clean_drops_missing_values_and_keeps_zero():
    # issue 20 item 9: describe / coefficient_of_variation had no production caller and went
    assert clean([1.0, None, 2.0, 3.0, float("nan")]) == [1.0, 2.0, 3.0]
    assert clean([None, 0.0, math.inf]) == [0.0]  # 0 is a value, missing is not


def test_bootstrap_ci_is_deterministic_and_brackets_the_median():
    rng = np.random.default_rng(1)
    values = list(rng.lognormal(3.0, 0.4, size=40))
    low, high = bootstrap_median_ci(values)
    assert low <= float(np.median(values)) <= high
    assert (low, high) == bootstrap_median_ci(values)  # fixed seed
    wider = bootstrap_median_ci(values[:8])
    assert wider[1] - wider[0] > high - low  # fewer values, wider interval
    assert bootstrap_median_ci([7.0]) is None and bootstrap_median_ci([7.0, 7.0], clusters=["a", "a"]) is None
    assert bootstrap_median_ci([]) is None


def test_pareto_front_keeps_undominated_points():
    # (latency, rate): (10, 100) and (5, 50) trade off; (12, 90) is dominated by (10, 100); (5, 40) by (5, 50)
    points = [(10.0, 100.0), (5.0, 50.0), (12.0, 90.0), (5.0, 40.0)]
    assert pareto_front(points) == [0, 1]


def test_csv_cells_that_would_run_as_formulas_are_neutralised(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b", "c"], [
        {"a": '=HYPERLINK("http://x","y")', "b": -1.5, "c": None},
        {"a": "+1", "b": 3, "c": "@SUM(A1)"},
    ])
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[1] == ["'=HYPERLINK(\"http://x\",\"y\")", "-1.5", ""]
    assert rows[2] == ["'+1", "3", "'@SUM(A1)"]
    assert format_value(float("nan")) == "" and format_value(True) == "true"


def test_html_and_script_escaping():
    assert esc('<script>"x"&\'') == "&lt;script&gt;&quot;x&quot;&amp;&#x27;"
    text = json_for_script({"id": "</script><script>alert(1)</script>\u2028&"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"id": "</script><script>alert(1)</script>\u2028&"}


def test_markdown_cells_and_renderer_keep_hostile_text_inert():
    from markdown_it import MarkdownIt

    # changed by issue 11 item 5: tables.md is Markdown, so no HTML entities; Markdown's own
    # backslash escapes keep the text inert, checked by rendering it with raw HTML allowed
    cell = md_cell("<script>alert(1)</script> | x\ny [bad](javascript:alert(1)) n>=10")
    assert "&" not in cell and "\\|" in cell and "\n" not in cell and "n>=10" in cell
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(f"| a |\n|---|\n| {cell} |\n")
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered and "<a " not in rendered
    html = render("# T\n\nSee <script>alert(1)</script> and [bad](javascript:alert(1)) "
                  "and [good](https://example.org/a?b=1&c=2).\n\n| a | b |\n|---|---|\n| `<x>` | **y** |\n")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and '<a href="https://example.org/a?b=1&amp;c=2">good</a>' in html
    assert "<h2>T</h2>" in html and "<code>&lt;x&gt;</code>" in html and "<strong>y</strong>" in html


def test_slugs_are_safe_and_distinct():
    a, b = slug("<script>alert(1)</script>"), slug("script alert 1 script")
    assert a != b
    for s in (a, b, slug("../../etc/passwd"), slug("")):
        assert all(ch.isalnum() or ch == "-" for ch in s) and ".." not in s


def test_a_percentile_the_sample_cannot_support_is_left_empty_and_the_note_says_why():
    """p90 from 9 values and p99 from 99 are empty cells; at 10 and 100 they are filled. The
    note naming the thresholds is written once per table, not per row."""
    import pandas as pd

    from vlmbench.analysis.statistics import MIN_N_FOR_PERCENTILE, percentile_note
    from vlmbench.report.summary import distribution

    for q in (90, 99):
        n = MIN_N_FOR_PERCENTILE[q]
        small, enough = distribution(pd.Series(range(n - 1), dtype="float64")), distribution(
            pd.Series(range(n), dtype="float64"))
        assert small[f"p{q}"] is None and small["p50"] is not None
        assert enough[f"p{q}"] == pytest.approx(pd.Series(range(n), dtype="float64").quantile(q / 100))
    note = percentile_note()
    assert "p90 at least 10" in note and "p99 at least 100" in note and "left empty" in note
