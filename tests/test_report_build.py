"""``vlmbench report`` on real runs of the runner: summary.csv, tables.md, index.html, charts."""

from __future__ import annotations

import csv
import statistics
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from conftest import run_cli
from test_report_support import load_run

from vlmbench.cli import main
from vlmbench.report.build import build_report
from vlmbench.report.charts import CHARTS, contexts, stacks, visual_tokens
from vlmbench.report.groups import group_requests
from vlmbench.report.runs import load_runs
from vlmbench.report.summary import SUMMARY_COLUMNS, summarise
from vlmbench.results.reader import read_rows


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _num(text):
    return None if text == "" else float(text)


@pytest.fixture(scope="module")
def runs(tiny_run, tmp_path_factory):
    return tiny_run.run_dir, load_run(tmp_path_factory)


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "both"
    return build_report(list(runs), out)


def test_summary_rows_are_recomputed_from_requests_csv(report, runs):
    tiny_dir, _ = runs
    raw = read_rows(tiny_dir / "requests.csv")
    warm = [r for r in raw if r["status"] == "ok" and not r["cold"]]
    cold = [r for r in raw if r["status"] == "ok" and r["cold"]]
    assert len(cold) == 1 and len(warm) == len(raw) - 1
    summary = _csv_rows(report.out_dir / "summary.csv")
    assert list(summary[0].keys()) == list(SUMMARY_COLUMNS)
    row = next(s for s in summary if s["run_id"] == raw[0]["run_id"])
    assert (int(row["n"]), int(row["ok"]), int(row["failed"]), int(row["warm_n"]), int(row["cold_n"])) == (
        len(raw), len(raw), 0, len(warm), 1)
    for metric in ("ttft_ms", "ttft_user_ms", "tpot_ms", "e2e_ms", "decode_tps"):
        values = [r[metric] for r in warm]
        assert _num(row[f"{metric}_p50"]) == pytest.approx(statistics.median(values), abs=1e-4)
        assert _num(row[f"{metric}_mean"]) == pytest.approx(statistics.mean(values), abs=1e-4)
        assert _num(row[f"{metric}_std"]) == pytest.approx(statistics.stdev(values), abs=1e-4)
    # the cold request is reported on its own and kept out of the warm statistics
    assert _num(row["cold_ttft_ms"]) == pytest.approx(cold[0]["ttft_ms"], abs=1e-4)
    assert _num(row["ttft_ms_p50_ci_low"]) <= _num(row["ttft_ms_p50"]) <= _num(row["ttft_ms_p50_ci_high"])
    assert _num(row["tpot_ms_p50_ci_low"]) <= _num(row["tpot_ms_p50"]) <= _num(row["tpot_ms_p50_ci_high"])
    # a percentile the sample cannot support is an empty cell (said once, in the captions), not a flag
    assert len(warm) < 10 and "needs n" not in row["flags"]
    assert all(row[f"{m}_p{q}"] == "" for m in ("ttft_ms", "ttft_user_ms", "e2e_ms") for q in (90, 99))
    peak_rss = max(r["peak_rss_mb"] for r in raw if r["status"] == "ok")
    assert _num(row["peak_rss_mb_max"]) == pytest.approx(peak_rss, abs=1e-3)
    assert row["peak_cuda_allocated_mb_max"] == "" and row["energy_j_mean"] == ""  # not measured on CPU: empty, not 0


def test_failed_rows_are_counted_never_averaged_and_windows_counted_once(report, runs):
    _, load_dir = runs
    raw = read_rows(load_dir / "requests.csv")
    summary = {(s["model_id"], s["scenario"]): s for s in _csv_rows(report.out_dir / "summary.csv")
               if s["run_id"] == "load-run"}
    failed = [s for (model, _), s in summary.items() if model == "raise-tiny"]
    assert failed and all(int(s["ok"]) == 0 and int(s["failed"]) == int(s["n"]) > 0 for s in failed)
    assert all(s["ttft_ms_p50"] == "" and "failed (error" in s["flags"] for s in failed)
    batch2 = next(s for (model, _), s in summary.items() if model != "raise-tiny" and s["batch_size"] == "2")
    rows = [r for r in raw if r["scenario"] == batch2["scenario"] and r["model_id"] == batch2["model_id"]
            and r["status"] == "ok" and not r["cold"]]
    per_window = {r["window_id"]: r["window_output_tps"] for r in rows}
    assert len(per_window) < len(rows)  # two requests share each batch window
    assert _num(batch2["window_output_tps_p50"]) == pytest.approx(statistics.median(per_window.values()), abs=1e-3)
    # the window's size beside its figure: 2 requests per batch window, in the rows and the summary
    assert {r["window_requests"] for r in rows} == {2} and _num(batch2["window_requests_p50"]) == 2
    svg = (report.out_dir / next(c for c in report.charts if c.name == "load_curves").svg).read_text()
    assert "n=2" in svg  # each throughput point of the load chart is labelled with its window size


def test_tables_md_and_index_html_show_the_response_time_table_per_hardware(report):
    md = (report.out_dir / "tables.md").read_text()
    index = (report.out_dir / "index.html").read_text()
    hardware = {s["hardware"] for s in report.summaries}
    for hw in hardware:
        assert f"## {hw}" in md and f"<h2>{hw}</h2>" in index
    # changed by issue 16 item 4: the headline TTFT is the user's (comparable across backends), each
    # header states its scope; the model TTFT and the stages are kept as in-process columns
    # changed by issue 20 item 5: headers take the metric registry's labels (vlmbench.vocab.metrics)
    for header in ("Model", "Size", "TTFT user p50 (ms, request", "TTFT p50 (ms, in-process", "decode tokens/s p50",
                   "E2E p50 (ms)", "preprocess p50 (ms, in-process)", "vision p50 (ms, in-process)",
                   "prefill p50 (ms, in-process)"):
        assert header in md and header in index
    s = next(x for x in report.summaries if x["ttft_ms_p50"] is not None)
    assert f"{s['ttft_ms_p50']:,.1f}" in md and f'data-sort="{float(s["ttft_ms_p50"])!r}"' in index
    assert f"{s['ttft_user_ms_p50']:,.1f}" in md and f'data-sort="{float(s["ttft_user_ms_p50"])!r}"' in index
    # issue 11 item 5: tables.md is Markdown, without HTML entities
    assert "->" in md and not any(entity in md for entity in ("&gt;", "&lt;", "&amp;", "&quot;"))
    assert "[random weights]" in md and 'class="badge random"' in index
    assert "assets/site.js" in index and (report.out_dir / "assets" / "site.js").exists()


def test_every_chart_is_written_as_png_and_svg(report):
    names = {c.name for c in report.charts}
    # two batch sizes: the load chart is drawn too; every prompt gives LLaVA-1.5 576 visual tokens, so
    # there is no visual-token cost to fit (that chart is tested in test_image_axis.py); every model ran
    # on one stack (in-process), so there are no stacks to put side by side (tests/test_stacks.py)
    assert names == {chart.NAME for chart in CHARTS} - {visual_tokens.NAME, stacks.NAME}
    for c in report.charts:
        with Image.open(report.out_dir / c.png) as im:
            assert im.format == "PNG" and im.size[0] > 500 and im.size[1] > 250
        assert ET.parse(report.out_dir / c.svg).getroot().tag.endswith("svg")


def test_chart_titles_name_hardware_and_prompt_set_and_axes_have_units(runs):
    runs_data = load_runs(list(runs))
    groups = group_requests(runs_data)
    ctx = contexts(groups, summarise(groups))[0]
    for chart in CHARTS:
        fig = chart.draw(ctx)
        if chart in (visual_tokens, stacks):  # one visual-token count, one stack: nothing to fit or compare
            assert fig is None
            continue
        assert fig is not None, chart.NAME
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
        assert any(ctx.hardware in t and "prompt set v1" in t for t in titles), chart.NAME
        labels = " ".join(ax.get_xlabel() + " " + ax.get_ylabel() for ax in fig.axes)
        assert any(unit in labels for unit in ("(ms)", "tokens/s", "(MiB)")), chart.NAME


def test_load_chart_only_where_several_load_levels_exist(tiny_run, tmp_path):
    report = build_report([tiny_run.run_dir], tmp_path / "single")
    assert "load_curves" not in {c.name for c in report.charts}
    assert "ttft_by_model" in {c.name for c in report.charts}


def test_cli_report_writes_outputs(tiny_run, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["report", str(tiny_run.run_dir), "-o", str(out)]) == 0
    assert {"summary.csv", "tables.md", "index.html"} <= {p.name for p in out.iterdir()}
    assert str(out / "index.html") in capsys.readouterr().out


def test_bad_input_is_one_line_naming_the_file_and_exit_2(tiny_run, tmp_path):
    text = (tiny_run.run_dir / "requests.csv").read_text().splitlines(keepends=True)
    future = tmp_path / "future"
    future.mkdir()
    (future / "requests.csv").write_text(text[0] + "".join("99" + line[1:] for line in text[1:]))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "requests.csv").write_text(text[0])
    cases = (
        (future, "schema version '99' is not one this vlmbench reads"),
        (tmp_path / "missing", "no such run directory"),
        (empty, "no rows"),
        (tmp_path, "no such results file"),
    )
    for run_dir, needle in cases:
        proc = run_cli("report", str(run_dir), "-o", str(tmp_path / "out"))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and str(run_dir) in lines[0], lines
