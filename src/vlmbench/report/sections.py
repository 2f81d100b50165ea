"""HTML sections shared by the report page and the site: run list, per-hardware block, chart gallery.

Everything from a CSV or a manifest goes through :func:`esc`.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from vlmbench.report.charts import ChartFile
from vlmbench.report.html import esc
from vlmbench.report.html_table import ModelHref, flags_list, html_table
from vlmbench.report.response_table import SCOPE_NOTE, by_size
from vlmbench.report.runs import RunData

RANDOM_LEGEND = (
    '<p class="legend"><span class="badge random">random weights</span> '
    "rows come from models built with the published shapes and random weights: speed and memory "
    "depend on shapes, not values, so they are representative; the output text is meaningless and "
    "the output length is forced, so no early end-of-sequence shortens a request.</p>"
)


def _hardware_of(run: RunData) -> str:
    labels = run.frame["hardware"].dropna().astype(str)
    return ", ".join(dict.fromkeys(label for label in labels if label)) or "?"


def runs_table(runs: Sequence[RunData]) -> str:
    """Which runs the page is built from: id, start, host, hardware, software, rows by status."""
    head = "".join(f"<th>{h}</th>" for h in ("Run", "Started (UTC)", "Host", "Hardware", "torch",
                                              "transformers", "vlmbench", "Rows"))
    body = []
    for run in runs:
        env = run.environment
        software = env.get("software") or {}
        statuses = run.frame["status"].astype(str).value_counts()
        counts = ", ".join(f"{k} {int(v)}" for k, v in sorted(statuses.items()))
        cells = (run.run_id, run.started_at, env.get("hostname", "?"), _hardware_of(run),
                 software.get("torch", "?"), software.get("transformers", "?"), software.get("vlmbench", "?"),
                 counts)
        body.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    return (f'<div class="table-wrap"><table class="runs"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def chart_gallery(charts: Sequence[ChartFile], prefix: str = "") -> str:
    """Figures of PNG charts, each linking to its SVG. ``prefix`` is the path from the page to the output root."""
    figures = []
    for c in charts:
        png, svg = f"{prefix}{c.png.as_posix()}", f"{prefix}{c.svg.as_posix()}"
        figures.append(
            f'<figure class="chart"><a href="{esc(svg)}"><img src="{esc(png)}" alt="{esc(c.title)}" loading="lazy"></a>'
            f'<figcaption>{esc(c.title)} · <a href="{esc(svg)}">SVG</a> · <a href="{esc(png)}">PNG</a>'
            "</figcaption></figure>"
        )
    return f'<div class="charts">{"".join(figures)}</div>' if figures else ""


def hardware_section(hardware: str, summaries: Sequence[dict[str, Any]], charts: Sequence[ChartFile],
                     model_href: Optional[ModelHref] = None, chart_prefix: str = "") -> str:
    """One hardware label: heading, response-time table(s) (real-size rows apart from tiny ones),
    the columns' scope, flags, then its charts."""
    versions = ", ".join(sorted({str(s["promptset_version"]) for s in summaries}))
    tables = []
    for heading, part in by_size(summaries):
        caption = f"Response times on {hardware} · prompt set {versions} · medians of warm requests"
        if heading:
            tables.append(f'<h3 class="size-heading">{esc(heading)}</h3>')
            caption += f" · {heading.split(' (')[0]}"
        tables.append(html_table(part, model_href=model_href, caption=caption))
    return (
        f'<section class="hardware" data-hardware="{esc(hardware)}">'
        f"<h2>{esc(hardware)}</h2>"
        f"{''.join(tables)}"
        f'<p class="scope">{esc(SCOPE_NOTE)}</p>'
        f"{flags_list(summaries)}"
        f"{chart_gallery([c for c in charts if c.hardware == hardware], chart_prefix)}"
        "</section>"
    )
