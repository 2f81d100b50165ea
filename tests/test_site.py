"""``vlmbench site``: a static leaderboard from real runs (plus a relabelled second machine and a
copy with hostile model ids); structure, local-only links, methodology, and inert hostile text."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from test_report_support import (
    HOSTILE_ERROR,
    HOSTILE_FORMULA,
    HOSTILE_HARDWARE,
    HOSTILE_HOST,
    HOSTILE_SCRIPT,
    MACHINE_B,
    demo_site,
    hostile_run,
)

from vlmbench.cli import main
from vlmbench.report.build import build_report
from vlmbench.report.site.methodology import methodology_html
from vlmbench.results.schema import COLUMNS


class Page(HTMLParser):
    """Every start tag with its attributes, and the text as a browser would show it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag]


@pytest.fixture(scope="module")
def site(tiny_run, tmp_path_factory):
    return demo_site(tmp_path_factory, tiny_run.run_dir)


def _pages(site) -> list[Path]:
    return sorted(site.out_dir.rglob("*.html"))


def test_one_sortable_table_per_hardware_with_filters_and_badges(site):
    page = Page((site.out_dir / "index.html").read_text())
    hardware = list(dict.fromkeys(s["hardware"] for s in site.summaries))
    assert MACHINE_B in hardware and len(hardware) == 3
    sections = [a["data-hardware"] for a in page.all("section")]
    assert sections == hardware
    assert len([a for a in page.all("table") if "sortable" in a.get("class", "")]) == 3
    options = {a["data-filter"] for a in page.all("select")}
    assert options == {"hardware", "size", "weights", "stack"}  # issue 22 item 6: a stack filter
    option_values = {a["value"] for a in page.all("option")}
    assert set(hardware) | {"tiny (<100M)", "random", ""} <= option_values
    rows = [a for a in page.all("tr") if "data-hardware" in a]
    assert len(rows) == len(site.summaries)
    assert {r["data-weights"] for r in rows} == {"random"}
    # real catalog models have a parameter count in the manifest; the hostile copies do not
    assert {r["data-size"] for r in rows} == {"tiny (<100M)", "unknown size"}
    badges = [a for a in page.all("span") if a.get("class") == "badge random"]
    assert len(badges) >= len(rows)  # every row of a random-weight model, plus the legend


def test_every_page_is_static_and_self_contained(site):
    """Only relative links to files that exist; scripts and styles local; no inline script."""
    for path in _pages(site):
        page = Page(path.read_text())
        for _, attrs in page.tags:
            for name in ("href", "src"):
                if name not in attrs:
                    continue
                url = urlparse(attrs[name])
                assert not url.scheme and not url.netloc, f"{path}: external {attrs[name]}"
                if url.path:
                    assert (path.parent / unquote(url.path)).resolve().exists(), f"{path}: broken {attrs[name]}"
        scripts = page.all("script")
        assert len(scripts) == 1 and scripts[0]["src"].endswith("assets/site.js"), path
        assert "Content-Security-Policy" in [a.get("http-equiv") for a in page.all("meta")]


def test_model_pages_link_from_the_leaderboard(site):
    page = Page((site.out_dir / "index.html").read_text())
    links = {a["href"] for a in page.all("a") if a.get("href", "").startswith("models/")}
    assert links == {p.relative_to(site.out_dir).as_posix() for p in site.model_pages.values()}
    tiny = Page(site.model_pages["llava-1.5-7b-tiny"].read_text())
    assert "Distributions" in tiny.text and "95% CI" in tiny.text and MACHINE_B in tiny.text
    # small samples: p90/p99 cells empty, the reason said once in the caption, no per-row flag
    assert tiny.text.count("with fewer the cell is left empty") == 1 and "needs n>=" not in tiny.text
    raising = Page(site.model_pages["raise-tiny"].read_text())
    assert "RuntimeError: injected model failure" in raising.text and "No ok requests to chart" in raising.text


def test_methodology_states_definitions_prompt_set_and_random_weights(site):
    page = Page((site.out_dir / "methodology.html").read_text())
    for column in COLUMNS:
        assert column.name in page.text
    manifest = json.loads((Path(__file__).parents[1] / "src/vlmbench/promptset/v1/manifest.json").read_text())
    for item in manifest["items"]:
        assert item["id"] in page.text and item["licence"] in page.text and item["prompt"] in page.text
    assert "EOS never ends a request early" in page.text and "output text is meaningless" in page.text
    # compare is paired per prompt and judged against between-run noise (issue 16.6), no longer Mann-Whitney
    assert "bootstrap" in page.text and "paired per prompt" in page.text and "between-run" in page.text
    metrics_md = Path(__file__).parents[1] / "METRICS.md"
    if metrics_md.exists():  # the project's METRICS.md is rendered, not shown raw
        first_heading = re.search(r"^#\s+(.+)$", metrics_md.read_text(), re.M).group(1)
        assert f"<h2>{first_heading}</h2>" in (site.out_dir / "methodology.html").read_text()


def test_methodology_without_metrics_md_uses_the_schema_docs():
    body = methodology_html(None, ["v1"])
    assert "<h2>Metric definitions</h2>" in body
    assert "generate start (or request sent) -&gt; first token on the host" in body  # ttft_ms doc


def test_hostile_strings_are_shown_literally_and_inject_nothing(site):
    expected_text = (HOSTILE_SCRIPT, HOSTILE_FORMULA, HOSTILE_HARDWARE, HOSTILE_ERROR, HOSTILE_HOST)
    seen = ""
    for path in _pages(site):
        raw = path.read_text()
        page = Page(raw)
        seen += page.text
        assert "<script>alert" not in raw and "<svg" not in raw and "<img src=x" not in raw, path
        for tag, attrs in page.tags:
            assert not any(name.startswith("on") for name in attrs), (path, tag, attrs)
            assert tag not in ("svg", "iframe", "object", "embed", "b"), (path, tag)
        for _, attrs in [(t, a) for t, a in page.tags if t == "img"]:
            assert attrs["src"].endswith(".png"), (path, attrs)
    for text in expected_text:
        assert text in seen, text


def test_exported_csv_neutralises_formulas(site):
    with open(site.out_dir / "data" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    models = {r["model_id"] for r in rows}
    assert "'" + HOSTILE_FORMULA in models and HOSTILE_FORMULA not in models
    assert HOSTILE_SCRIPT in models  # not a formula: kept as written (CSV is data, not HTML)
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values())


def test_report_outputs_keep_hostile_text_inert(tiny_run, tmp_path):
    hostile = hostile_run(tiny_run.run_dir, tmp_path)
    report = build_report([hostile], tmp_path / "report")
    md = (report.out_dir / "tables.md").read_text()
    # changed by issue 11 item 5: tables.md holds no HTML entities; Markdown backslash escapes keep the
    # text inert, checked by rendering it as a Markdown viewer would (raw HTML allowed)
    from markdown_it import MarkdownIt

    assert "&lt;" not in md and "\\<script>alert(1)\\</script>" in md
    rendered = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert "<script>" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    page = Page((report.out_dir / "index.html").read_text())
    assert HOSTILE_SCRIPT in page.text and HOSTILE_HOST in page.text
    assert [a["src"] for a in page.all("script")] == ["./assets/site.js"]
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    for svg in report.out_dir.rglob("*.svg"):
        assert "<script" not in svg.read_text()
    with open(report.out_dir / "summary.csv", newline="") as fh:
        assert "'" + HOSTILE_FORMULA in {r["model_id"] for r in csv.DictReader(fh)}


def test_cli_site(tiny_run, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["site", str(tiny_run.run_dir), "-o", str(out)]) == 0
    assert (out / "index.html").exists() and (out / "methodology.html").exists()
    assert main(["site", str(tiny_run.run_dir), "-o", str(out), "--metrics", str(tmp_path / "nope.md")]) == 2
    assert "nope.md: no such file" in capsys.readouterr().err
