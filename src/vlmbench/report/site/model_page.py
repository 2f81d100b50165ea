"""One page per model: facts, response times on every hardware, distributions with confidence
intervals, failures (error texts, escaped) and the model's own charts."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from vlmbench.analysis.statistics import percentile_note
from vlmbench.backends import capabilities
from vlmbench.report.charts import ChartFile
from vlmbench.report.groups import RequestGroup
from vlmbench.report.html import esc
from vlmbench.report.html_table import RANDOM_BADGE, html_table
from vlmbench.report.model_size import format_parameters, size_class
from vlmbench.report.response_table import RESPONSE_COLUMNS, TableColumn, scenario_text
from vlmbench.report.sections import chart_gallery
from vlmbench.vocab.metrics import metrics

HARDWARE_COLUMN = TableColumn("hardware", "Hardware", lambda s: s.get("hardware"), description="hardware label")
MODEL_PAGE_COLUMNS: tuple[TableColumn, ...] = (
    (HARDWARE_COLUMN,) + tuple(c for c in RESPONSE_COLUMNS if c.key != "model")
)


NO_CHARTS = '<p class="empty">No ok requests to chart for this model.</p>'


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _ci(summary: dict[str, Any], metric: str, digits: int) -> str:
    low, high = summary.get(f"{metric}_p50_ci_low"), summary.get(f"{metric}_p50_ci_high")
    return "–" if low is None else f"{_fmt(low, digits)} – {_fmt(high, digits)}"


def distribution_table(summaries: Sequence[dict[str, Any]]) -> str:
    user, model, tpot, e2e = metrics("ttft_user_ms", "ttft_ms", "tpot_ms", "e2e_ms")
    head = ("Hardware", "Scenario", "Run", "n warm", user.heading("p50"), user.heading("95% CI"), user.heading("p90"),
            user.heading("p99"), f"{model.label} repeat CV", model.heading("p50", "in-process"), tpot.heading("p50"),
            tpot.heading("95% CI"), e2e.heading("p50"), e2e.heading("p99"), user.heading("cold"), "Flags")
    rows = []
    for s in summaries:
        cells = (
            esc(s["hardware"]), esc(scenario_text(s)), esc(s["run_id"]), esc(s["warm_n"]),
            _fmt(s["ttft_user_ms_p50"]), _ci(s, "ttft_user_ms", 1), _fmt(s["ttft_user_ms_p90"]),
            _fmt(s["ttft_user_ms_p99"]), _fmt(s.get("ttft_ms_repeat_cv"), 2),
            _fmt(s["ttft_ms_p50"] if capabilities(s.get("backend")).stage_times else None), _fmt(s["tpot_ms_p50"], 2),
            _ci(s, "tpot_ms", 2), _fmt(s["e2e_ms_p50"]), _fmt(s["e2e_ms_p99"]), _fmt(s["cold_ttft_user_ms"]),
            esc(s.get("flags") or ""),
        )
        numbers = "".join(f"<td>{c}</td>" for c in cells[:-1])
        rows.append(f'<tr>{numbers}<td class="flags-cell">{cells[-1]}</td></tr>')
    return ('<div class="table-wrap"><table><caption>Times over warm requests; TTFT user = what a user '
            'waits for (in-process: preprocess + generate start -> first token; endpoint: request sent -> first '
            'content); CI = bootstrap 95% confidence interval of the median (resampling generate windows); repeat '
            'CV = spread across repeats of the same prompt. ' + esc(percentile_note()) + '</caption><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def facts(model_id: str, groups: Sequence[RequestGroup]) -> str:
    g = groups[0]
    weights = g.weights
    badge = RANDOM_BADGE if weights == "random" else f'<span class="badge pretrained">{esc(weights)}</span>'
    params = next((x.parameters for x in groups if x.parameters is not None), None)
    items = (
        ("Model", esc(model_id)),
        ("System", esc(g.first("system") or "?")),
        ("Weights", badge),
        ("Parameters", f"{esc(format_parameters(params))} ({esc(size_class(params))})"),
        ("Shapes", esc(next((x.size_class for x in groups if x.size_class), "") or "not recorded")
         + " (real = published shapes, tiny = shrunken test variant)"),
        ("Backends", esc(", ".join(sorted({str(x.first("backend")) for x in groups})))),
        ("Hardware", esc(", ".join(dict.fromkeys(x.hardware for x in groups)))),
        ("Runs", esc(", ".join(dict.fromkeys(x.run_id for x in groups)))),
    )
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def failures(groups: Sequence[RequestGroup]) -> str:
    items = []
    for g in groups:
        if g.failed_by_status:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(g.failed_by_status.items()))
            errors = "".join(f"<li><code>{esc(e)}</code></li>" for e in g.error_messages)
            items.append(f"<li>{esc(g.hardware)} / {esc(g.scenario)} ({esc(g.run_id)}): {esc(counts)}"
                         f"<ul>{errors}</ul></li>")
    return f"<h2>Failed requests</h2><ul>{''.join(items)}</ul>" if items else ""


def model_page_html(model_id: str, groups: Sequence[RequestGroup], summaries: Sequence[dict[str, Any]],
                    charts: Sequence[ChartFile], image_axis: str = "") -> str:
    """Body of models/<slug>.html (the page lives one folder below the site root); ``image_axis``:
    the model's visual-token cost and input-parity sections (report/image_axis.py)."""
    return (
        f"{facts(model_id, groups)}"
        f"<h2>Response times</h2>{html_table(summaries, columns=MODEL_PAGE_COLUMNS)}"
        f"<h2>Distributions</h2>{distribution_table(summaries)}"
        f"{failures(groups)}{image_axis}"
        f"<h2>Charts</h2>{chart_gallery(charts, prefix='../') or NO_CHARTS}"
        '<p><a href="../index.html">&larr; back to the leaderboard</a></p>'
    )
