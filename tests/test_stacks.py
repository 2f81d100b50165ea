"""Stack as an axis of publication, on real rows: the same tiny LLaVA measured in-process (``hf``) and on a real
vLLM CPU engine (``vllm-<version>+<recipe>``) on this machine, merged into one report, one leaderboard site and
one archive site:

- the two stacks are two rows (tables, summary, archive series, hardware comparison), each labelled with its
  stack, never merged: each row's counts and medians are its own stack's rows;
- the ``stacks_by_model`` chart puts the model's stacks side by side (TTFT user and TPOT p50 bars per stack,
  the bars' lengths the summary's medians) in the report and on the site's model page; the archive site's
  model page has the same comparison as inline SVG;
- a stack string reaching HTML is escaped (a copy of the engine run with a hostile stack);
- in Chromium: the leaderboard's stack filter shows one stack's rows only; the archive model page draws the
  stack bars inside their box.

The engine starts once (1-3 minutes on 2 cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmbench.results.reader import read_rows

from conftest import run_cli
from test_engine_vllm import vllm_installed  # noqa: F401 - autouse: skips locally, fails in CI without vLLM
from test_report_support import HOSTILE_SCRIPT, copy_run
from test_site_browser import CHROMIUM, NEEDS, _open, browser, filter_rows, in_ci  # noqa: F401 - the browser fixture

pytestmark = [pytest.mark.slow, pytest.mark.server]
MODEL = "llava-1.5-7b-tiny-hd64"
PROMPTS = "chart-bar-640x480,photo-cat-451x300"
COMMON = ("--model", MODEL, "--prompts", PROMPTS, "--repeats", "2", "--max-new-tokens", "32", "--warmup", "1",
          "--no-progress")


def _run_dir(out: Path) -> Path:
    return next(p for p in out.iterdir() if p.is_dir() and (p / "requests.csv").exists())


@pytest.fixture(scope="module")
def stack_runs(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("stacks")
    hf = run_cli("run", *COMMON, "--out", str(out / "hf"), timeout=900)
    assert hf.returncode == 0, hf.stderr[-3000:]
    engine = run_cli("run", "--engine", "vllm", *COMMON, "--out", str(out / "vllm"), timeout=1500)
    assert engine.returncode == 0, engine.stderr[-3000:]
    return {"hf": _run_dir(out / "hf"), "vllm": _run_dir(out / "vllm"), "root": out}


def _has_tpot(run_dir: Path) -> bool:
    values = [r["tpot_ms"] for r in read_rows(run_dir / "requests.csv") if r["status"] == "ok"]
    return any(v not in ("", None) and v == v for v in values)  # v == v: not NaN


def _stacks(run_dir: Path) -> set[str]:
    return {r["stack"] for r in read_rows(run_dir / "requests.csv")}


def test_report_keeps_stacks_apart_and_charts_them_side_by_side(stack_runs, tmp_path):
    from vlmbench.report.build import build_report
    from vlmbench.report.charts import contexts, stacks
    from vlmbench.report.groups import group_requests
    from vlmbench.report.runs import load_runs
    from vlmbench.report.summary import summarise

    from vlmbench.engines import server_metrics

    (engine_stack,) = _stacks(stack_runs["vllm"])
    assert _stacks(stack_runs["hf"]) == {"hf"} and engine_stack.startswith("vllm-0.32.0+")
    # the engine's /metrics deltas reached the run folder through the driver (side records)
    assert {w["stack"] for w in server_metrics.read(stack_runs["vllm"])} == {engine_stack}
    report = build_report([stack_runs["hf"], stack_runs["vllm"]], tmp_path / "report")
    rows = {s["stack"]: s for s in report.summaries if s["model_id"] == MODEL}
    assert set(rows) == {"hf", engine_stack}  # two rows, never one merged row
    for stack, run in (("hf", stack_runs["hf"]), (engine_stack, stack_runs["vllm"])):
        own = [r for r in read_rows(run / "requests.csv") if r["status"] == "ok" and not r["cold"]]
        assert rows[stack]["warm_n"] == len(own)  # each row counts its own stack's requests only
    assert rows["hf"]["hardware"] == rows[engine_stack]["hardware"]  # the same machine: one chart compares them

    assert "stacks_by_model" in {c.name for c in report.charts}
    groups = group_requests(load_runs([stack_runs["hf"], stack_runs["vllm"]]))
    (ctx,) = contexts(groups, summarise(groups))
    fig = stacks.draw(ctx)
    ttft_ax, tpot_ax = fig.axes
    labels = [t.get_text() for t in ttft_ax.get_yticklabels()]
    assert labels == ["hf", engine_stack] or labels == [engine_stack, "hf"]
    for ax, column in ((ttft_ax, "ttft_user_ms_p50"), (tpot_ax, "tpot_ms_p50")):
        widths = [p.get_width() for p in ax.patches]  # a stack without the median (a tiny model's stream can
        # deliver every token in one read: no decode interval, TPOT undefined) has no bar, never a zero one
        assert widths == pytest.approx([rows[label][column] for label in labels if rows[label][column] is not None])
        assert "(ms)" in ax.get_xlabel()

    md = (report.out_dir / "tables.md").read_text()
    html = (report.out_dir / "index.html").read_text()
    assert "Stack" in md and f" {engine_stack} " in md and " hf " in md
    assert f'data-stack="{engine_stack}"' in html and 'data-stack="hf"' in html and "stacks_by_model.png" in html


def test_site_model_page_shows_the_stacks_and_escapes_them(stack_runs, tmp_path):
    from vlmbench.report.site.build import build_site

    hostile = copy_run(stack_runs["vllm"], tmp_path / "hostile", "hostile-stack",
                       change_row=lambda r: [dict(r, stack=HOSTILE_SCRIPT)])
    site = build_site([stack_runs["hf"], stack_runs["vllm"], hostile], tmp_path / "site")
    page = site.model_pages[MODEL].read_text()
    assert "stacks_by_model.png" in page
    assert list((tmp_path / "site" / "models").glob("*/charts/*/stacks_by_model.svg"))
    index = site.index.read_text()
    (engine_stack,) = _stacks(stack_runs["vllm"])
    assert 'id="filter-stack"' in index and f'<option value="{engine_stack}">' in index
    for text in (index, page):
        assert HOSTILE_SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def _archive_site(stack_runs, root: Path) -> Path:
    from vlmbench.archive.publish import ADDED, publish

    archive = root / "archive"
    outcomes = publish([stack_runs["hf"], stack_runs["vllm"]], archive)
    assert {o.status for o in outcomes} == {ADDED}
    site = root / "archive-site"
    proc = run_cli("site", "--archive", str(archive), "-o", str(site))
    assert proc.returncode == 0, proc.stderr
    return site


def test_archive_site_series_and_pages_keep_stacks_apart(stack_runs, tmp_path):
    import re

    site = _archive_site(stack_runs, tmp_path)
    (engine_stack,) = _stacks(stack_runs["vllm"])
    index = (site / "index.html").read_text()
    stacks = re.findall(r'<tr data-hardware="[^"]*" data-size-class="[^"]*" data-stack="([^"]*)">', index)
    assert sorted(stacks) == sorted(["hf", engine_stack])  # one series per stack, each labelled
    hardware = (site / "hardware.html").read_text()
    engine_rows = hardware.count(f'<td class="c-stack">{engine_stack}</td>')
    # TTFT, TPOT, tokens/s tables: all three where the engine's stream showed decode intervals, TTFT at least
    assert engine_rows == 3 or (engine_rows >= 1 and not _has_tpot(stack_runs["vllm"]))
    assert hardware.count('<td class="c-stack">hf</td>') == 3
    page = next((site / "models").glob("llava*.html")).read_text()
    charts = re.findall(r'<svg class="stack-bars".*?</svg>', page)
    assert len(charts) == 2  # TTFT user, TPOT
    with_values = sorted(["hf", engine_stack])
    assert sorted(set(re.findall(r'data-stack="([^"]*)"', charts[0]))) == with_values  # TTFT user: both stacks
    tpot_stacks = with_values if _has_tpot(stack_runs["vllm"]) else ["hf"]
    assert sorted(set(re.findall(r'data-stack="([^"]*)"', charts[1]))) == tpot_stacks


@pytest.fixture
def chromium():
    """As test_site_browser: a missing browser skips locally and fails in CI."""
    if not CHROMIUM.exists():
        if in_ci():
            pytest.fail(f"CI=true but {CHROMIUM} missing: the browser test must run in CI ({NEEDS})")
        pytest.skip(NEEDS)


@pytest.mark.browser
def test_stack_filter_and_stack_bars_in_chromium(chromium, stack_runs, browser, tmp_path):  # noqa: F811
    from vlmbench.report.site.build import build_site

    (engine_stack,) = _stacks(stack_runs["vllm"])
    site = build_site([stack_runs["hf"], stack_runs["vllm"]], tmp_path / "site")
    _open(browser, site.index)
    total, visible = filter_rows(browser, "filter-stack", engine_stack, "data-stack")
    assert visible and set(visible) == {engine_stack} and len(visible) < total

    archive_site = _archive_site(stack_runs, tmp_path)
    _open(browser, next((archive_site / "models").glob("llava*.html")))
    boxes = browser.execute_script(
        "return [...document.querySelectorAll('svg.stack-bars')].map(svg => {"
        " const box = svg.closest('figure').getBoundingClientRect();"
        " const bars = [...svg.querySelectorAll('rect.bar')].map(r => r.getBoundingClientRect());"
        " return [box.left, box.right, Math.min(...bars.map(b => b.left)), Math.max(...bars.map(b => b.right)),"
        " bars.length, Math.min(...bars.map(b => b.width))]; })")
    assert len(boxes) == 2
    bars_expected = (2, 2 if _has_tpot(stack_runs["vllm"]) else 1)  # TTFT user, TPOT
    for (left, right, bars_left, bars_right, n, narrowest), expected in zip(boxes, bars_expected):
        assert n == expected and narrowest > 0 and left - 0.5 <= bars_left and bars_right <= right + 0.5
