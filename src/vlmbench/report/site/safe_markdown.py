"""Markdown -> safe HTML for the methodology page (METRICS.md), through markdown-it-py.

CommonMark plus pipe tables. Safety: raw HTML in the source is escaped and shown as text
(``html=False``); markdown-it escapes every text, code span, code block and attribute; links are
kept only for http(s), fragment and relative URLs (``javascript:``, ``data:`` and every other
scheme stay plain text); images are not rendered (the page loads nothing from elsewhere).
Layout: headings move down by ``heading_offset`` (the page has its own h1); a table sits in a
``<div class="table-wrap">`` like every table of the site, and a right-aligned column gets the
site's ``num`` class instead of an inline style (the pages' CSP allows no inline styles).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

SAFE_SCHEMES = frozenset({"", "http", "https"})


def safe_url(url: str) -> bool:
    """True for http(s), fragment and relative URLs."""
    try:
        return urlsplit(url.strip()).scheme.lower() in SAFE_SCHEMES
    except ValueError:
        return False


def _table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return '<div class="table-wrap">\n' + self.renderToken(tokens, idx, options, env)


def _table_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _cell_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    style = token.attrs.pop("style", None)
    if style == "text-align:right":
        token.attrSet("class", "num")
    return self.renderToken(tokens, idx, options, env)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").disable("image")
    md.validateLink = safe_url
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    return md


def render(markdown: str, heading_offset: int = 1) -> str:
    """Render Markdown to HTML; headings are shifted down by ``heading_offset`` (at most h6)."""
    md = _parser()
    tokens = md.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + heading_offset)}"
    return md.renderer.render(tokens, md.options, {})
