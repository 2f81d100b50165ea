"""A chart's metric words come from the metric registry (vlmbench.vocab.metrics): titles, axis
labels, legends and segment names of every report chart and of the archive site's trend charts
read each metric's label and unit from it, so a renamed label or unit changes every chart. The
check reads the chart modules' string literals (docstrings aside) and refuses any that spells a
registered metric's label, or a registered unit as a word, itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import vlmbench
from vlmbench.report.charts import CHARTS
from vlmbench.vocab.metrics import REGISTRY, metric

SRC = Path(vlmbench.__file__).parent
CHART_FILES = sorted((SRC / "report" / "charts").glob("*.py")) + [SRC / "archive_site" / "svg.py",
                                                                    SRC / "archive_site" / "pages.py"]
WORDS = sorted({m.label for m in REGISTRY} | {m.unit for m in REGISTRY}, key=len, reverse=True)
PATTERN = re.compile(r"(?<![\w/])(" + "|".join(re.escape(w) for w in WORDS) + r")(?![\w/])", re.IGNORECASE)


def literal_metric_words(source: str) -> list[tuple[int, str, str]]:
    """(line, literal, word) for every string literal of ``source`` (docstrings aside) that spells
    a registry label or unit."""
    tree = ast.parse(source)
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value, hit.group(0)) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
            for hit in [PATTERN.search(node.value)] if hit]


@pytest.mark.parametrize("path", CHART_FILES, ids=lambda p: p.name)
def test_no_chart_spells_a_metric_label_or_unit(path):
    found = literal_metric_words(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name}: metric words spelled literally (take them from vocab.metrics): {found}"


def test_the_check_refuses_the_literals_charts_had():
    for literal in ('TITLE = "TTFT by model"', 'TITLE = "Peak memory by model (MiB)"',
                    'SEGMENTS = (("preprocess", "#8da0cb"),)', 'ax.set_ylabel("latency p50 (ms)")',
                    'label = "Pareto front (lower TTFT, higher tokens/s)"'):
        assert literal_metric_words(literal), literal
    assert not literal_metric_words('ax.set_xlabel(metric("ttft_ms").heading())')  # a column name is no label
    assert not literal_metric_words('"""TTFT by model: a docstring may say it."""')


def test_chart_titles_follow_the_registry():
    titles = {chart.NAME: chart.TITLE for chart in CHARTS}
    assert titles["ttft_by_model"].startswith(metric("ttft_user_ms").title())
    assert titles["decode_tps_by_model"].startswith(metric("decode_tps").title())
    assert titles["peak_memory"] == metric("peak_memory_mb").title(f"by model ({metric('peak_memory_mb').unit})")
    assert metric("ttft_user_ms").label in titles["ttft_vs_tps_pareto"] and metric("decode_tps").label in \
        titles["ttft_vs_tps_pareto"]
    assert all(metric(c).label in titles["latency_cdf"] for c in ("ttft_user_ms", "e2e_ms"))
