"""Render the response-time tables as Markdown (``tables.md``), one section per hardware.

Cell text is made inert: ``&``, ``<``, ``>`` become HTML entities (Markdown renderers pass raw
HTML through), ``|`` is escaped and line breaks become spaces, so a hostile model id stays text.
"""

from __future__ import annotations

from typing import Any, Sequence

from vlmbench.report.response_table import RESPONSE_COLUMNS, TableColumn, by_hardware

RANDOM_MARK = "[random weights]"


def md_cell(text: str) -> str:
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return " ".join(text.split())


def _cell(column: TableColumn, summary: dict[str, Any]) -> str:
    text = column.text(summary)
    if column.key == "model" and summary.get("weights") == "random":
        text = f"{text} {RANDOM_MARK}"
    return md_cell(text)


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
    for hardware, rows in by_hardware(summaries).items():
        versions = ", ".join(sorted({str(r["promptset_version"]) for r in rows}))
        out += [f"## {md_cell(hardware)}", "", f"Prompt set {md_cell(versions)}.", "", markdown_table(rows), ""]
        flagged = [r for r in rows if r.get("flags")]
        if flagged:
            out += ["Flags:", ""]
            out += [f"- {md_cell(r['model_id'])} / {md_cell(r['scenario'])} ({md_cell(r['run_id'])}): "
                    f"{md_cell(r['flags'])}" for r in flagged]
            out.append("")
    if any(r.get("weights") == "random" for r in summaries):
        out.append(f"{RANDOM_MARK}: random weights with the published shapes. Speed and memory depend on "
                   "shapes, not on weight values, so they are representative; the output text is meaningless.")
        out.append("")
    return "\n".join(out)
