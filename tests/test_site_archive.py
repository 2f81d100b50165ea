"""``vlmbench site --archive``: the static site of an archive of real runs (the dated series with
its known slowdown, a second machine's relabelled copy, a hostile model id): pages, data files,
links to every run's raw CSV, escaping; and ``vlmbench site RUN...`` still works."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

import pytest

from conftest import run_cli
from test_archive_support import FIRST_SLOW_DAY, SLOW_SCENARIO, day, dated_copy, series_archive, series_runs
from test_report_support import HOSTILE_SCRIPT

from vlmbench.archive.publish import ADDED, publish
from vlmbench.results.archive_index import read_index

MACHINE_B = "Example Accelerator B (relabelled copy)"
REAL_COPY = "zz-real-size-relabelled"  # a copy marked real-size, keeping one warm observation per scenario


def _one_warm_observation_as_real_size() -> Callable[[dict], list[dict]]:
    """Rows of a copy that claims published shapes (``size_class`` real) and keeps, per scenario,
    the cold rows and the first warm observation only (the rows of one batched call together)."""
    first: dict[str, str] = {}

    def change(row: dict) -> list[dict]:
        row = dict(row, model_id=REAL_COPY, size_class="real",
                   request_id=str(row["request_id"]).replace(str(row["model_id"]), REAL_COPY))
        if row["status"] != "ok" or row["cold"]:
            return [row]
        unit = str(row["window_id"]) if int(row["batch_size"] or 1) > 1 else str(row["request_id"])
        return [row] if first.setdefault(str(row["scenario"]), unit) == unit else []

    return change

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
        extra.append(dated_copy(runs["dirs"][2], root / "b", "real-size-copy", day(3),
                                change_row=_one_warm_observation_as_real_size(),
                                change_manifest=lambda m: m.update(rows_expected=None)))  # rows dropped on purpose
        outcomes = publish(extra, archive)
        assert {o.status for o in outcomes} == {ADDED}, [o for o in outcomes if o.status != ADDED]
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
    assert len(pages) == 3 + 3  # the tiny model, the hostile id and the real-size copy
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


def test_leaderboard_keeps_real_size_apart_from_tiny(built):
    """As the single-run report does: per hardware, real-size series in their own table, first."""
    index = (built["site"] / "index.html").read_text()
    sections = {part.split('"', 2)[1]: part for part in index.split('<section class="hardware" data-hardware=')[1:]}
    section = next(text for hw, text in sections.items() if hw != MACHINE_B)
    assert section.count('<table class="results sortable">') == 2
    real, rest = section.split('<h3 class="size-heading">')[1:3]
    assert real.startswith("Real-size models") and f">{REAL_COPY}</a>" in real and 'data-size-class="tiny"' not in real
    assert f">{REAL_COPY}</a>" not in rest and 'data-size-class="tiny"' in rest
    other = sections[MACHINE_B]
    assert "size-heading" not in other and other.count("<table") == 1  # nothing to set apart there


def test_a_single_warm_observation_has_no_ci_but_its_reason(built):
    """A run median from one observation (one batched call, one request) has no bootstrap CI:
    the page says why instead of showing [x-x]."""
    page = next((built["site"] / "models").glob("zz-real*.html")).read_text()
    assert "no CI: 1 observation" in page
    assert not re.search(r"\[([0-9.e+-]+)-\1\]", page)  # no degenerate interval anywhere
    with open(built["site"] / "data" / "history.csv", newline="") as fh:
        copy = [r for r in csv.DictReader(fh) if r["model_id"] == REAL_COPY]
    assert copy and all(r["observations"] == "1" and r["ttft_ms"] and r["ttft_ms_lo"] == "" for r in copy)


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
