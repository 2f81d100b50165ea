"""``vlmbench site``: a static leaderboard website from run folders of one or more machines.

Layout (every link relative, every asset local: works from ``file://`` and any static host)::

    index.html              leaderboard: filters, a sortable table per hardware, charts, runs
    methodology.html        metric definitions, aggregation rules, prompt set, random weights
    models/<slug>.html      one page per model
    charts/<hw>/...         leaderboard charts (PNG + SVG); models/<slug>/charts/<hw>/... per model
    data/summary.csv        the summary table (formula cells neutralised)
    assets/site.css, site.js
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from vlmbench.report.charts import cdf, render_charts, stacks, stages, ttft, visual_tokens
from vlmbench.report.image_axis import image_axis_sections
from vlmbench.report.export_csv import write_csv
from vlmbench.report.groups import RequestGroup, group_requests
from vlmbench.report.html import copy_assets, page
from vlmbench.report.runs import RunData, load_runs
from vlmbench.report.site.leaderboard import leaderboard_html
from vlmbench.report.site.methodology import methodology_html
from vlmbench.report.site.model_page import model_page_html
from vlmbench.report.summary import SUMMARY_COLUMNS, summarise
from vlmbench.vocab.slug import slug

MODEL_PAGE_CHARTS = (ttft, stacks, cdf, stages, visual_tokens)
SUMMARY_CSV = "data/summary.csv"
NAV_ROOT = (("index.html", "Leaderboard"), ("methodology.html", "Methodology"), (SUMMARY_CSV, "Data (CSV)"))
NAV_MODEL = tuple((f"../{href}", label) for href, label in NAV_ROOT)


@dataclass
class Site:
    out_dir: Path
    runs: list[RunData]
    summaries: list[dict[str, Any]]
    model_pages: dict[str, Path]

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def model_file(model_id: str) -> str:
    return f"models/{slug(model_id)}.html"


def _models(groups: Sequence[RequestGroup]) -> dict[str, list[RequestGroup]]:
    out: dict[str, list[RequestGroup]] = {}
    for g in groups:
        out.setdefault(g.model_id, []).append(g)
    return out


def build_site(run_paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
               metrics_markdown: Optional[str] = None, extra_html: str = "") -> Site:
    """``extra_html``: a section appended to the leaderboard page below the measured tables (the
    predictions section, already escaped)."""
    runs = load_runs(run_paths)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    groups = group_requests(runs)
    summaries = summarise(groups)
    summary_of = {id(g): s for g, s in zip(groups, summaries)}
    write_csv(out / SUMMARY_CSV, SUMMARY_COLUMNS, summaries)

    charts = render_charts(groups, summaries, out)
    board = leaderboard_html(runs, summaries, charts, model_href=model_file, summary_csv=SUMMARY_CSV) + extra_html
    (out / "index.html").write_text(page("VLM response-time leaderboard", board, nav=NAV_ROOT), encoding="utf-8")

    versions = {g.promptset_version for g in groups}
    (out / "methodology.html").write_text(
        page("Methodology", methodology_html(metrics_markdown, versions), nav=NAV_ROOT), encoding="utf-8")

    pages: dict[str, Path] = {}
    for model_id, model_groups in _models(groups).items():
        model_summaries = [summary_of[id(g)] for g in model_groups]
        stem = slug(model_id)
        model_charts = render_charts(model_groups, model_summaries, out, subdir=f"models/{stem}/charts",
                                     charts=MODEL_PAGE_CHARTS)
        cost = image_axis_sections(model_groups, out / "models" / stem, with_files=False)
        body = model_page_html(model_id, model_groups, model_summaries, model_charts, cost)
        path = out / model_file(model_id)
        path.write_text(page(model_id, body, root="..", nav=NAV_MODEL), encoding="utf-8")
        pages[model_id] = path
    return Site(out, runs, summaries, pages)
