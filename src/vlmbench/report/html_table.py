"""Render the response-time table (:data:`RESPONSE_COLUMNS`) as an HTML table.

Sorting and filtering are done by ``assets/site.js`` from attributes written here:
``<th data-sort-type="num|text">`` is clickable; each ``<td data-sort="...">`` carries the raw
number (empty = missing, sorted last); each ``<tr>`` carries ``data-hardware``, ``data-size``,
``data-weights`` and ``data-stack`` for the filters. Every value is escaped with :func:`esc`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from vlmbench.report.html import esc
from vlmbench.report.model_size import size_class
from vlmbench.report.response_table import RESPONSE_COLUMNS, TableColumn, size_text, stack_text

RANDOM_BADGE = ('<span class="badge random" title="random weights with the published shapes: '
                'speed and memory are representative, output text is meaningless">random weights</span>')
FLAG_MARK = '<span class="flag" title="{title}">&#9873;</span>'

ModelHref = Callable[[str], Optional[str]]


def _model_cell(summary: dict[str, Any], model_href: Optional[ModelHref]) -> str:
    model = str(summary["model_id"])
    href = model_href(model) if model_href else None
    text = f'<a href="{esc(href)}">{esc(model)}</a>' if href else f"<span>{esc(model)}</span>"
    if summary.get("weights") == "random":
        text += " " + RANDOM_BADGE
    if summary.get("flags"):
        text += " " + FLAG_MARK.format(title=esc(summary["flags"]))
    return text


def _cell(column: TableColumn, summary: dict[str, Any], model_href: Optional[ModelHref]) -> str:
    if column.key == "model":
        return f'<td class="c-model" data-sort="{esc(summary["model_id"])}">{_model_cell(summary, model_href)}</td>'
    value = column.value(summary)
    if column.numeric:
        sort = "" if value is None else repr(float(value))
        return f'<td class="num c-{esc(column.key)}" data-sort="{esc(sort)}">{esc(column.text(summary))}</td>'
    return f'<td class="c-{esc(column.key)}" data-sort="{esc(column.text(summary))}">{esc(column.text(summary))}</td>'


def html_table(summaries: Sequence[dict[str, Any]], columns: Sequence[TableColumn] = RESPONSE_COLUMNS,
               model_href: Optional[ModelHref] = None, caption: str = "") -> str:
    head = "".join(
        f'<th scope="col" class="{"num" if c.numeric else "text"}" data-sort-type="{"num" if c.numeric else "text"}" '
        f'title="{esc(c.description)}" tabindex="0">{esc(c.header)}</th>'
        for c in columns
    )
    body = []
    for s in summaries:
        attrs = (f'data-hardware="{esc(s["hardware"])}" data-size="{esc(size_class(s.get("parameters")))}" '
                 f'data-weights="{esc(s.get("weights"))}" data-size-class="{esc(size_text(s))}" '
                 f'data-stack="{esc(stack_text(s))}"')
        if size_text(s):
            attrs += f' class="size-{esc(size_text(s))}"'
        cells = "".join(_cell(c, s, model_href) for c in columns)
        body.append(f"<tr {attrs}>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="results sortable">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def flags_list(summaries: Sequence[dict[str, Any]]) -> str:
    """A list of the flags of the rows that have any (empty string when none)."""
    items = [f"<li><strong>{esc(s['model_id'])}</strong> / {esc(s['scenario'])} ({esc(s['run_id'])}): "
             f"{esc(s['flags'])}</li>" for s in summaries if s.get("flags")]
    if not items:
        return ""
    return f'<details class="flags"><summary>Flags ({len(items)})</summary><ul>{"".join(items)}</ul></details>'
