"""Render the response-time tables as Markdown (``tables.md``), one section per hardware.

``tables.md`` is Markdown, not HTML: it holds no HTML entities (``n>=10`` stays ``n>=10``).
Cell text is made inert with Markdown's own backslash escapes, which every CommonMark
renderer shows as the literal character: ``<`` (so a hostile model id cannot open an HTML tag
where renderers pass raw HTML through), ``[``/``]`` (no links), ``*`` and `` ` `` (no emphasis,
no code spans), ``|`` (no cell split) and the backslash itself; line breaks become spaces.
Escaping for HTML belongs to the HTML outputs (:func:`vlmbench.report.html.esc`).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from vlmbench.report.response_table import RESPONSE_COLUMNS, SCOPE_NOTE, TableColumn, by_hardware, by_size

RANDOM_MARK = "[random weights]"
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|])")


def md_cell(text: str) -> str:
    return " ".join(_MD_SPECIAL.sub(r"\\\1", str(text)).split())


def _cell(column: TableColumn, summary: dict[str, Any]) -> str:
    text = md_cell(column.text(summary))
    if column.key == "model" and summary.get("weights") == "random":
        text = f"{text} {RANDOM_MARK}"  # our own text: no link (no definition, no URL)
    return text


def markdown_table(summaries: Sequence[dict[str, Any]], columns: Sequence[TableColumn] = RESPONSE_COLUMNS) -> str:
    header = "| " + " | ".join(md_cell(c.header) for c in columns) + " |"
    align = "|" + "|".join("---:" if c.numeric else ":---" for c in columns) + "|"
    body = ["| " + " | ".join(_cell(c, s) for c in columns) + " |" for s in summaries]
    return "\n".join([header, align, *body])


def tables_markdown(summaries: Sequence[dict[str, Any]], title: str = "vlmbench response times") -> str:
    """The whole ``tables.md``: a table per hardware, then flags, then the random-weights note."""
    out = [f"# {md_cell(title)}", ""]
    out.append("Medians (p50) of warm ok requests; times in ms. Cold = first request after the model load.")
    out.append("")
    out.append(SCOPE_NOTE)
    out.append("")
    for hardware, rows in by_hardware(summaries).items():
        versions = ", ".join(sorted({str(r["promptset_version"]) for r in rows}))
        out += [f"## {md_cell(hardware)}", "", f"Prompt set {md_cell(versions)}.", ""]
        for heading, part in by_size(rows):
            if heading:
                out += [f"### {md_cell(heading)}", ""]
            out += [markdown_table(part), ""]
        flagged = [r for r in rows if r.get("flags")]
        if flagged:
            out += ["Flags:", ""]
            out += [f"- {md_cell(r['model_id'])} / {md_cell(r['scenario'])} ({md_cell(r['run_id'])}): "
                    f"{md_cell(r['flags'])}" for r in flagged]
            out.append("")
    if any(r.get("weights") == "random" for r in summaries):
        out.append(f"Rows marked {RANDOM_MARK}: random weights with the published shapes. Speed and memory depend on "
                   "shapes, not on weight values, so they are representative; the output text is meaningless.")
        out.append("")
    return "\n".join(out)
