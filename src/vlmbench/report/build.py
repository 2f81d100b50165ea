"""``vlmbench report``: from run folders to summary.csv, tables.md, index.html and charts.

Output folder layout::

    summary.csv        one row per (run, model, scenario); see report/summary.py for the columns
    tables.md          response-time tables per hardware (Markdown)
    index.html         the same tables (sortable) with the charts; opens from file://
    charts/<hw>/*.png  every chart as PNG (Agg) and SVG
    assets/            the page's CSS and JS
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vlmbench.report.charts import ChartFile, render_charts
from vlmbench.report.engine_windows import engine_windows_section
from vlmbench.report.export_csv import write_csv
from vlmbench.report.groups import group_requests
from vlmbench.report.html import copy_assets, page
from vlmbench.report.image_axis import image_axis_sections
from vlmbench.report.markdown import tables_markdown
from vlmbench.report.response_table import by_hardware
from vlmbench.report.runs import RunData, load_runs
from vlmbench.report.sections import RANDOM_LEGEND, hardware_section, runs_table
from vlmbench.report.summary import SUMMARY_COLUMNS, summarise

SUMMARY_FILE = "summary.csv"
TABLES_FILE = "tables.md"
INDEX_FILE = "index.html"


@dataclass
class Report:
    out_dir: Path
    runs: list[RunData]
    summaries: list[dict[str, Any]]
    charts: list[ChartFile] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [self.out_dir / SUMMARY_FILE, self.out_dir / TABLES_FILE, self.out_dir / INDEX_FILE]


def report_html(runs: Sequence[RunData], summaries: Sequence[dict[str, Any]], charts: Sequence[ChartFile],
                extra: str = "") -> str:
    sections = "".join(hardware_section(hw, rows, charts) for hw, rows in by_hardware(summaries).items())
    legend = RANDOM_LEGEND if any(s.get("weights") == "random" for s in summaries) else ""
    body = (
        f'<p class="lead">Medians of warm requests (times in ms). Click a column header to sort. '
        f'Full statistics: <a href="{SUMMARY_FILE}">{SUMMARY_FILE}</a> · <a href="{TABLES_FILE}">{TABLES_FILE}</a></p>'
        f"{legend}<h2>Runs</h2>{runs_table(runs)}{sections}{extra}{engine_windows_section(runs)}"
    )
    return page("vlmbench report", body)


def build_report(run_paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike) -> Report:
    runs = load_runs(run_paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups = group_requests(runs)
    summaries = summarise(groups)
    write_csv(out / SUMMARY_FILE, SUMMARY_COLUMNS, summaries)
    (out / TABLES_FILE).write_text(tables_markdown(summaries), encoding="utf-8")
    charts = render_charts(groups, summaries, out)
    copy_assets(out)
    extra = image_axis_sections(groups, out)
    (out / INDEX_FILE).write_text(report_html(runs, summaries, charts, extra), encoding="utf-8")
    return Report(out, runs, summaries, charts)
