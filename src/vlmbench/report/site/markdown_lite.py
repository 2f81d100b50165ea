"""A small, safe Markdown-to-HTML renderer for the methodology page (METRICS.md).

Supported: ``#`` headings, paragraphs, ``-``/``*``/``1.`` lists, pipe tables, fenced code,
inline code, ``**bold**`` and ``[text](url)`` links. Every piece of text is escaped before any
markup is added; raw HTML in the source is shown as text; links are kept only for http(s),
fragment and relative URLs (``javascript:`` and other schemes become plain text).
"""

from __future__ import annotations

import html
import re

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _safe_url(url: str) -> bool:
    scheme = url.split(":", 1)[0].lower() if ":" in url.split("/", 1)[0] else ""
    return scheme in ("", "http", "https")


def _inline_text(text: str) -> str:
    """Escape, then add bold and links (text without code spans)."""
    out = html.escape(text, quote=True)
    out = _BOLD.sub(r"<strong>\1</strong>", out)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), html.unescape(match.group(2))
        if not _safe_url(url):
            return match.group(0)
        return f'<a href="{html.escape(url, quote=True)}">{label}</a>'

    return _LINK.sub(link, out)


def inline(text: str) -> str:
    """Inline Markdown -> HTML; code spans are escaped and never get further markup."""
    parts, last = [], 0
    for match in _CODE.finditer(text):
        parts.append(_inline_text(text[last:match.start()]))
        parts.append(f"<code>{html.escape(match.group(1), quote=True)}</code>")
        last = match.end()
    parts.append(_inline_text(text[last:]))
    return "".join(parts)


def _split_row(line: str) -> list[str]:
    cells = line.strip()
    if cells.startswith("|"):
        cells = cells[1:]
    if cells.endswith("|") and not cells.endswith("\\|"):
        cells = cells[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", cells)]


def _table(lines: list[str]) -> str:
    head = "".join(f"<th>{inline(c)}</th>" for c in _split_row(lines[0]))
    body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _split_row(line)) + "</tr>" for line in lines[2:])
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def render(markdown: str, heading_offset: int = 1) -> str:
    """Render Markdown; headings are shifted down by ``heading_offset`` (page has its own h1)."""
    lines = markdown.splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    i = 0

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append(f"<{list_tag}>" + "".join(f"<li>{inline(t)}</li>" for t in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            flush()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(code), quote=True)}</code></pre>")
        elif not line.strip():
            flush()
        elif (m := _HEADING.match(line)):
            flush()
            level = min(6, len(m.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush()
            block = [line, lines[i + 1]]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_table(block))
            continue
        elif (m := _BULLET.match(line)) or (m := _NUMBERED.match(line)):
            tag = "ul" if _BULLET.match(line) else "ol"
            if paragraph or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append(m.group(1))
        elif items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # continuation of a list item
        else:
            if items:
                flush()
            paragraph.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)
