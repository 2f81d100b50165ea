"""``vlmbench site --archive``: the static site of an archive of real runs (the dated series with
its known slowdown, a second machine's relabelled copy, a hostile model id): pages, data files,
links to every run's raw CSV, escaping; and ``vlmbench site RUN...`` still works."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import run_cli
from test_archive_support import FIRST_SLOW_DAY, SLOW_SCENARIO, day, dated_copy, series_archive, series_runs
from test_report_support import HOSTILE_SCRIPT

from vlmbench.archive.publish import ADDED, publish
from vlmbench.results.archive_index import read_index

MACHINE_B = "Example Accelerator B (relabelled copy)"

_SITE: dict[str, Path] = {}


def archive_site(tmp_path_factory) -> dict[str, Path]:
    """The series archive plus machine B (two days) and a hostile model id, and its site."""
    if not _SITE:
        runs = series_runs(tmp_path_factory)
        root = tmp_path_factory.mktemp("site-archive")
        archive = root / "archive"
        import shutil

        shutil.copytree(series_archive(tmp_path_factory), archive)
        extra = []
        for n in (7, 8):
            extra.append(dated_copy(runs["dirs"][n - 1], root / "b", f"machine-b-day{n}", day(n),
                                    change_row=lambda r: [dict(r, hardware=MACHINE_B)]))
        extra.append(dated_copy(runs["dirs"][0], root / "b", "hostile", day(2), change_row=lambda r: [
            dict(r, model_id=HOSTILE_SCRIPT, request_id=r["request_id"].replace(r["model_id"], HOSTILE_SCRIPT))]))
        assert {o.status for o in publish(extra, archive)} == {ADDED}
        site = root / "site"
        proc = run_cli("site", "--archive", str(archive), "-o", str(site))
        assert proc.returncode == 0, proc.stderr
        _SITE.update(archive=archive, site=site)
    return _SITE


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return archive_site(tmp_path_factory)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "script":
            self.scripts.append(a.get("src") or "")


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_page_and_data_file_is_there_and_every_link_resolves(built):
    site = built["site"]
    pages = [site / "index.html", site / "hardware.html", site / "methodology.html", *sorted((site / "models").glob("*.html"))]
    assert len(pages) == 3 + 2  # the tiny model and the hostile id
    for page in pages:
        parsed = _parse(page)
        assert parsed.scripts == [("../" if page.parent.name == "models" else "./") + "assets/site.js"]
        for href in parsed.links:
            if re.match(r"^[a-z]+:", href) or href.startswith("#"):
                continue
            assert (page.parent / unquote(href)).resolve().is_file(), f"{page.name}: broken link {href}"
    index = read_index(built["archive"])
    assert json.loads((site / "data" / "index.json").read_text()) == index
    with open(site / "data" / "index.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["run_id"] for r in rows) == sorted(e["run_id"] for e in index["runs"])
    for entry in index["runs"]:  # every run's raw CSV is on the site, byte for byte
        copied = site / entry["path"] / "requests.csv"
        assert copied.read_bytes() == (built["archive"] / entry["path"] / "requests.csv").read_bytes()


def test_model_page_has_trend_charts_with_ci_band_and_the_change_point(built):
    page = next(p for p in (built["site"] / "models").glob("llava*.html"))
    html = page.read_text()
    assert html.count('<svg class="trend"') == 4 * 4  # 4 metrics x 2 scenarios x 2 machines
    assert html.count('class="ci-band"') == 16
    assert 'class="change-point"' in html and f"change point at run day{FIRST_SLOW_DAY}" in html
    assert f"at run <code>day{FIRST_SLOW_DAY}</code>" in html and SLOW_SCENARIO in html


def test_leaderboard_and_hardware_comparison(built):
    index = (built["site"] / "index.html").read_text()
    assert 'id="filter-hardware"' in index and f'data-hardware="{MACHINE_B}"' in index
    assert index.count("<section class=\"hardware\"") == 2
    comparison = (built["site"] / "hardware.html").read_text()
    assert MACHINE_B in comparison and "(×1)" in comparison and comparison.count("<table") == 3


def test_hostile_strings_are_escaped_everywhere(built):
    for page in built["site"].rglob("*.html"):
        text = page.read_text()
        assert HOSTILE_SCRIPT not in text, page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (built["site"] / "index.html").read_text()


def test_site_needs_runs_or_an_archive_not_both(tmp_path_factory, tmp_path, capsys):
    """Building from run folders is unchanged (tests/test_site.py); the two modes do not mix."""
    from vlmbench.cli import main

    runs = series_runs(tmp_path_factory)["dirs"]
    assert main(["site", str(runs[0]), "--archive", str(tmp_path), "-o", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["site", "-o", str(tmp_path / "y")]) == 2
    assert "give run folders, or --archive DIR" in capsys.readouterr().err
    assert main(["site", "--archive", str(tmp_path), "-o", str(tmp_path / "z")]) == 2
    assert "not an archive" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()
