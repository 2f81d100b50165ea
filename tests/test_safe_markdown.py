"""The methodology page's Markdown renderer (markdown-it-py): hostile Markdown stays inert, and
what METRICS.md uses (headings, tables, code, links) is kept.

The output is parsed with the standard library's HTML parser, so the checks are on the elements
and attributes a browser would build, not on substrings of the text.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from vlmbench.report.site.safe_markdown import render

HOSTILE = """# Title <script>alert(1)</script>

Raw <script>alert(2)</script> and <img src=x onerror=alert(3)> and <a href="javascript:alert(4)">raw a</a>.

<div onclick="alert(5)">a raw HTML block</div>

Links: [js](javascript:alert(6)) [JS](JaVaScRiPt:alert(7)) [vb](vbscript:msgbox(8)) [data](data:text/html,<b>9</b>)
[file](file:///etc/passwd) <javascript:alert(10)> [ok](https://example.org/a?b=1&c=2) [rel](methodology.html#clocks)
[frag](#top) ![img](https://example.org/tracker.png) [quote](https://x.org/" onmouseover="alert(11))

| metric | value `<td>` |
|---|--:|
| <b>bold?</b> | `<script>alert(12)</script>` |

```html
<script>alert(13)</script> & "quotes"
```
"""


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text += data


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


def test_hostile_markdown_builds_no_script_handler_or_unsafe_link():
    page = parse(render(HOSTILE))
    tags = [t for t, _ in page.elements]
    assert "script" not in tags and "img" not in tags  # an image is not loaded: it stays a plain link
    assert [a for t, a in page.elements if t == "div"] == [{"class": "table-wrap"}]  # only the table's wrapper
    for _, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), attrs
        assert "style" not in attrs
    hrefs = [a["href"] for t, a in page.elements if t == "a"]
    assert hrefs == ["https://example.org/a?b=1&c=2", "methodology.html#clocks", "#top",
                     "https://example.org/tracker.png"]
    # what was refused is still shown, as text
    for literal in ("<script>alert(1)</script>", "<script>alert(2)</script>", "<img src=x onerror=alert(3)>",
                    '<div onclick="alert(5)">', "[js](javascript:alert(6))", "<javascript:alert(10)>",
                    "<script>alert(12)</script>", '<script>alert(13)</script> & "quotes"'):
        assert literal in page.text, literal


def test_tables_code_links_and_headings_are_kept():
    html = render(HOSTILE)
    page = parse(html)
    tags = [t for t, _ in page.elements]
    assert tags[0] == "h2" and "h1" not in tags  # shifted down: the page has its own h1
    assert tags.count("table") == 1 and tags.count("th") == 2 and tags.count("td") == 2
    assert [a.get("class") for t, a in page.elements if t in ("th", "td")] == [None, "num", None, "num"]
    assert "pre" in tags and tags.count("code") == 3  # header cell, body cell, fenced block
    assert render("###### six", heading_offset=1).startswith("<h6>")


def test_the_projects_metrics_md_renders_its_tables():
    metrics = (Path(__file__).parents[1] / "METRICS.md").read_text()
    page = parse(render(metrics))
    tags = [t for t, _ in page.elements]
    source_tables = sum(1 for a, b in zip(metrics.splitlines(), metrics.splitlines()[1:])
                        if a.lstrip().startswith("|") and b.replace(" ", "").startswith("|-"))
    assert source_tables > 0 and tags.count("table") == source_tables
    assert "script" not in tags and "h1" not in tags
