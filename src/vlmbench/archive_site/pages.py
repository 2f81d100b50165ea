"""Page bodies of the site built from an archive: the leaderboard of current values per hardware,
the hardware comparison (same model across machines, with ratios), and one page per model with
trend charts. Every string from the archive goes through :func:`esc`."""

from __future__ import annotations

from typing import Callable, Optional

import pandas as pd

from vlmbench.archive.series import CELL_KEYS, CONFIG, METRICS, SERIES_KEYS, ci_text, stack_of
from vlmbench.archive_site.svg import stack_bars_svg, trend_svg
from vlmbench.report.html import esc
from vlmbench.report.response_table import by_size
from vlmbench.vocab.metrics import metrics

HEADLINE = ("ttft_ms", "ttft_user_ms", "tpot_ms", "decode_tps", "peak_memory_mb")
TREND_METRICS = ("ttft_ms", "ttft_user_ms", "tpot_ms", "decode_tps")
STACK_METRICS = ("ttft_user_ms", "tpot_ms")  # one model on several stacks: what a user waits for, per token


def _num(value: Optional[float], digits: int = 4) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}g}"


def _day(t) -> str:
    return f"{t:%Y-%m-%d}"


def _minute(t) -> str:
    return f"{t:%Y-%m-%d %H:%M}"


def _pct(value: float) -> str:
    return f"{value:+.1f}"


def _sort(value: Optional[float]) -> str:
    return "" if value is None or value != value else repr(float(value))


def _size(row) -> str:
    """The series' ``size_class`` (tiny | real), '' where unknown (endpoints, schema v1 rows)."""
    value = row.get("size_class")
    return "" if value is None or value != value else str(value)


def _current_cell(row: pd.Series, column: str) -> str:
    spread = row.get(f"{column}_spread_pct")
    title = (f"median of {row['runs']} run medians; range {_num(row[column + '_min'])}-{_num(row[column + '_max'])}"
             + (f"; between-run spread ±{_num(spread, 2)}%" if spread == spread and spread is not None else ""))
    extra = f' <span class="spread">±{esc(_num(spread, 2))}%</span>' if spread == spread and spread is not None else ""
    return (f'<td class="num" data-sort="{esc(_sort(row[column]))}" title="{esc(title)}">'
            f'{esc(_num(row[column]))}{extra}</td>')


def leaderboard_html(current: pd.DataFrame, changes: pd.DataFrame, model_href: Callable[[str], str],
                     window: str) -> str:
    hardware = sorted(current["hardware"].astype(str).unique())
    selects = "".join(
        f'<label>{esc(label)}<select data-filter="{name}" id="filter-{name}"><option value="">all</option>'
        + "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values) + "</select></label>"
        for name, label, values in (("hardware", "Hardware", hardware),
                                    ("stack", "Stack", sorted(current["stack"].astype(str).unique()))))
    filters = (f'<div class="filters">{selects}'
               f'<span class="count"><span id="shown-count">{len(current)}</span> of {len(current)} rows</span></div>')
    changed = set(changes["model_id"].astype(str) + "\0" + changes["hardware"].astype(str)
                  + "\0" + changes["scenario"].astype(str) + "\0" + changes[CONFIG].map(stack_of)) \
        if len(changes) else set()
    head = ("<th>Model</th><th>Stack</th><th>Scenario</th><th>Prompt set</th>"
            "<th class=\"num\" data-sort-type=\"num\">Runs</th>"
            + "".join(f'<th class="num" data-sort-type="num">{esc(m.label)} ({esc(m.unit)})</th>'
                      for m in METRICS if m.column in HEADLINE)
            + "<th>Last run</th><th>Change points</th>")
    sections = []
    for hw in hardware:
        records = [r for _, r in current[current["hardware"].astype(str) == hw].iterrows()]
        tables = []
        for heading, part in by_size([dict(r, size_class=_size(r)) for r in records]):
            rows = []
            for r in part:
                key = f"{r['model_id']}\0{r['hardware']}\0{r['scenario']}\0{r['stack']}"
                rows.append(
                    f'<tr data-hardware="{esc(hw)}" data-size-class="{esc(r["size_class"])}" data-stack="{esc(r["stack"])}">'
                    f'<td class="c-model"><a href="{esc(model_href(str(r["model_id"])))}">'
                    f'{esc(r["model_id"])}</a></td><td class="c-stack">{esc(r["stack"])}</td>'
                    f'<td>{esc(r["scenario"])}</td><td>{esc(r["promptset_version"])}</td>'
                    f'<td class="num" data-sort="{esc(r["runs"])}">{esc(r["runs"])}</td>'
                    + "".join(_current_cell(r, c) for c in HEADLINE)
                    + f'<td>{esc(_day(r["last"]))}</td><td>{"yes" if key in changed else ""}</td></tr>')
            title = f'<h3 class="size-heading">{esc(heading)}</h3>' if heading else ""
            tables.append(f'{title}<div class="table-wrap"><table class="results sortable"><thead><tr>{head}</tr>'
                          f'</thead><tbody>{"".join(rows)}</tbody></table></div>')
        sections.append(f'<section class="hardware" data-hardware="{esc(hw)}"><h2>{esc(hw)}</h2>'
                        f'{"".join(tables)}</section>')
    return (
        '<p class="lead">Current response times of every model on every machine, from the archive of scheduled '
        f"runs: each value is the median of the run medians of the {esc(window)} of its series (warm requests, "
        "p50), ± the series' between-run spread. Click a model for its history; "
        '<a href="hardware.html">hardware comparison</a>; definitions: <a href="methodology.html">methodology</a>; '
        'data: <a href="data/index.csv">index.csv</a>, <a href="data/index.json">index.json</a>, '
        '<a href="data/current.csv">current.csv</a>, <a href="data/history.csv">history.csv</a>.</p>'
        f"{filters}{''.join(sections)}"
    )


def hardware_comparison_html(current: pd.DataFrame, model_href: Callable[[str], str]) -> str:
    """Same model x scenario x prompt set across machines: current TTFT and TPOT per hardware and
    the ratio to the first machine (alphabetical) that has the series."""
    hardware = sorted(current["hardware"].astype(str).unique())
    keys = [k for k in CELL_KEYS if k != "hardware"]
    keys.insert(1, "stack")  # a model on two stacks is two series: compared across machines stack by stack
    blocks = []
    for m in metrics("ttft_ms", "tpot_ms", "decode_tps"):
        column, label = m.column, f"{m.label} p50 ({m.unit})"
        wide = current.pivot_table(index=keys, columns="hardware", values=column, aggfunc="first")
        wide = wide.reindex(columns=hardware)
        reference = wide.bfill(axis=1).iloc[:, 0] if len(wide.columns) else wide
        ratios = wide.div(reference, axis=0)
        head = ("<th>Model</th><th>Stack</th><th>Scenario</th><th>Prompt set</th>"
                + "".join(f'<th class="num" data-sort-type="num">{esc(h)}</th>' for h in hardware))
        body = []
        for idx, values in wide.iterrows():
            cell = dict(zip(keys, idx))
            tds = "".join(
                f'<td class="num" data-sort="{esc(_sort(values[h]))}">{esc(_num(values[h]))}'
                + (f' <span class="ratio">(×{esc(_num(ratios.loc[idx, h], 3))})</span>' if values[h] == values[h] else "")
                + "</td>" for h in hardware)
            body.append(f'<tr><td class="c-model"><a href="{esc(model_href(str(cell["model_id"])))}">'
                        f'{esc(cell["model_id"])}</a></td><td class="c-stack">{esc(cell["stack"])}</td>'
                        f'<td>{esc(cell["scenario"])}</td>'
                        f'<td>{esc(cell["promptset_version"])}</td>{tds}</tr>')
        blocks.append(f'<h2>{esc(label)}</h2><div class="table-wrap"><table class="compare-hardware sortable">'
                      f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')
    return ('<p class="lead">The same model, stack, scenario and prompt set on each machine: current values (median '
            "of recent run medians) and, in brackets, the ratio to the first machine that has the series "
            "(alphabetical order of hardware labels). A model served on two stacks is two rows.</p>"
            + "".join(blocks))


def _runs_table(rows: pd.DataFrame, run_href: Callable[[str], Optional[str]]) -> str:
    head = ("<th>Run started</th><th>Run</th>"
            + "".join(f'<th class="num">{esc(m.label)} {"p50 [95% CI]" if m.distribution else "max"}</th>' for m in METRICS if m.column in HEADLINE)
            + "<th>Raw data</th><th>Note</th>")
    body = []
    for _, r in rows.iterrows():
        href = run_href(str(r["run_id"]))
        link = f'<a href="{esc(href)}">requests.csv</a>' if href else "–"
        notes = (["partial"] if bool(r.get("partial")) else []) + (
            [f"change point: {r['change_metrics']}"] if isinstance(r.get("change_metrics"), str) else []) + (
            [f"outlier (one-off, not a change): {r['outlier_metrics']}"]
            if isinstance(r.get("outlier_metrics"), str) else [])
        note = "; ".join(notes)
        cells = "".join(f'<td class="num">{esc(_num(r[c]))} {esc(ci_text(r, c))}</td>' for c in HEADLINE)
        body.append(f'<tr><td>{esc(_minute(r["run_time"]))}</td><td><code>{esc(r["run_id"])}</code></td>'
                    f"{cells}<td>{link}</td><td>{esc(note)}</td></tr>")
    return (f'<div class="table-wrap"><table class="runs"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def stacks_html(current: pd.DataFrame) -> str:
    """Per hardware where this model runs on two stacks or more: its current values on each stack side by side
    (bars per stack and scenario; each bar is one series, never pooled with another stack's)."""
    blocks = []
    for hw, rows in current.groupby(current["hardware"].astype(str), sort=True):
        if rows["stack"].nunique() < 2:
            continue
        rows = rows.sort_values(["stack", "scenario"], kind="mergesort")
        several = rows["stack"].value_counts()
        charts = "".join(
            f'<figure class="chart stacks-chart">'
            + stack_bars_svg([(str(r["stack"]), str(r["stack"]) + (f" · {r['scenario']}" if several[r["stack"]] > 1
                                                                    else ""), r[m.column])
                              for _, r in rows.iterrows()], f"{m.label} p50 now, by stack", m.unit, m.column)
            + f"<figcaption>{esc(m.label)}: current value (median of recent run medians) per stack</figcaption>"
              "</figure>"
            for m in METRICS if m.column in STACK_METRICS)
        blocks.append(f'<section class="stacks" data-hardware="{esc(hw)}"><h2>{esc(hw)} · stacks side by side</h2>'
                      f'<div class="charts">{charts}</div></section>')
    return "".join(blocks)


def model_page_html(model_id: str, medians: pd.DataFrame, current: pd.DataFrame, changes: pd.DataFrame,
                    run_href: Callable[[str], Optional[str]]) -> str:
    parts = ['<p class="lead">History of this model on every machine and serving stack: run medians (points) with '
             "their 95% bootstrap CI (band), the rolling current value (line) and change points (dashed lines). "
             '<a href="../index.html">Back to the leaderboard</a>.</p>', stacks_html(current)]
    keys = list(SERIES_KEYS)
    for cell, rows in medians.groupby(keys, dropna=False, sort=True):
        cell_d = dict(zip(keys, cell))
        cell_changes = changes
        for k in keys:
            cell_changes = cell_changes[cell_changes[k].astype(str) == str(cell_d[k])]
        now = current
        for k in keys:
            now = now[now[k].astype(str) == str(cell_d[k])]
        facts = ""
        if len(now):
            r = now.iloc[0]
            facts = "<dl class=\"facts\">" + "".join(
                f"<dt>{esc(m.label)} now</dt><dd>{esc(_num(r[m.column]))} {esc(m.unit)} "
                f"(range {esc(_num(r[m.column + '_min']))}-{esc(_num(r[m.column + '_max']))} over {esc(r['runs'])} runs"
                + (f"; between-run spread ±{esc(_num(r.get(m.column + '_spread_pct'), 2))}%)"
                   if r.get(m.column + "_spread_pct") == r.get(m.column + "_spread_pct") else ")") + "</dd>"
                for m in METRICS if m.column in HEADLINE) + "</dl>"
        charts = "".join(
            f'<figure class="chart trend-chart">{trend_svg(rows, m.column, m.label, m.unit, cell_changes[cell_changes["metric"] == m.column]["run_id"].astype(str).tolist())}'
            f"<figcaption>{esc(m.label)}: run medians, 95% CI band, rolling current value</figcaption></figure>"
            for m in METRICS if m.column in TREND_METRICS)
        change_list = "".join(
            f"<li>{esc(c['label'])}: {esc(_num(c['before']))} → {esc(_num(c['after']))} "
            f"({esc(_pct(c['shift_pct']))}%) at run <code>{esc(c['run_id'])}</code> "
            f"({esc(_day(c['run_time']))})</li>" for _, c in cell_changes.iterrows())
        changes_html = (f'<h3>Change points</h3><ul class="change-points">{change_list}</ul>' if change_list
                        else '<p class="empty">No change point in this series.</p>')
        parts.append(
            f'<section class="series" data-hardware="{esc(cell_d["hardware"])}" data-stack="{esc(stack_of(cell_d[CONFIG]))}">'
            f'<h2>{esc(cell_d["hardware"])} · {esc(stack_of(cell_d[CONFIG]))} · {esc(cell_d["scenario"])} · '
            f'prompt set {esc(cell_d["promptset_version"])}</h2>'
            + (f'<p class="config"><code>{esc(cell_d["config"])}</code></p>' if cell_d.get("config") else "")
            + f'{facts}<div class="charts">{charts}</div>{changes_html}<h3>Runs</h3>{_runs_table(rows, run_href)}</section>')
    return "".join(parts)
