"""``vlmbench gate`` against an archive of real runs published as a dated series.

- The known slowdown (copies of a real run scaled by known day factors, the batch-2 cell slowed
  by F = 1.5 from day 6): the gate of day 6 fails on exactly that cell, with the cost ratio the
  factors fix (ratios, not timings: a stalled machine cannot move them), and passes the batch-1
  cell with its minimum detectable slowdown; a copy sped up by F lists the improvement and passes.
- The new run never counts in its own noise: gating day 6 after it was published gives the
  same verdicts and spread as before (it is left out of the spread and the baseline).
- Real re-runs of unchanged code (not copies): R2 gated against a history of R1, R3, R4 copies
  passes, and so does R3 against R1, R2, R4 as measured; the numbers are printed (``pytest -s``).
- A software change between runs is shown beside the cells; a cell with no history is NEW.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from test_archive_support import (FIRST_SLOW_DAY, KEPT_SCENARIO, SLOW_FACTOR, SLOW_SCENARIO, aa_archive, all_real, day,
                                  dated_copy, expected_ratio, series_archive, series_runs)
from test_report_support import slowed_down

from vlmbench.archive.gate import IMPROVEMENT, NEW, PASS, REGRESSION, gate_run, report_lines
from vlmbench.archive.publish import publish


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return series_runs(tmp_path_factory), series_archive(tmp_path_factory)


def _scenarios(checks, verdict):
    return {c.cell["scenario"] for c in checks if c.verdict == verdict}


def test_known_slowdown_fails_exactly_the_slowed_cell(series, tmp_path):
    runs, archive = series
    slowed = runs["dirs"][FIRST_SLOW_DAY - 1]
    report = tmp_path / "gate.json"
    proc = run_cli("gate", str(slowed), "--archive", str(archive), "--threshold", "5", "--last", "5",
                   "--json", str(report))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    regressions = [line for line in proc.stdout.splitlines() if line.startswith("REGRESSION")]
    assert regressions and all(f"/ {SLOW_SCENARIO} /" in line for line in regressions)
    level = f"one-sided {100 * (1 - 0.05 / 4):.2f}% bounds"  # Bonferroni: 2 cells x 2 metrics (TTFT user, TPOT)
    assert any("TPOT p50" in line and level in line and "->" in line for line in regressions)
    assert not any("tokens/s" in line for line in proc.stdout.splitlines())  # one metric of each redundant pair
    assert "gate: FAIL" in proc.stdout and "1 of 2 cell(s)" in proc.stdout
    passed = [line for line in proc.stdout.splitlines() if line.startswith("PASS; this cell detects >= +")]
    assert len(passed) == 1 and f"/ {KEPT_SCENARIO} /" in passed[0]
    saved = json.loads(report.read_text())["gates"][0]
    assert not saved["passed"] and all(c["mds_pct"] > 0 for c in saved["checks"])

    result = gate_run(slowed, archive)
    assert _scenarios(result.checks, REGRESSION) == {SLOW_SCENARIO}
    kept = [c for c in result.checks if c.cell["scenario"] == KEPT_SCENARIO]
    assert kept and {c.verdict for c in kept} == {PASS}
    assert {c.metric for c in result.checks} == {"ttft_user_ms", "tpot_ms"}
    for check in kept:
        assert check.ratio == pytest.approx(expected_ratio(FIRST_SLOW_DAY, slowed=False), rel=2e-3)
        assert 5 < check.mds_pct < 100 * (SLOW_FACTOR - 1)  # this history can see the slowdown it had
    for check in result.regressions:
        assert check.baseline_runs == [f"day{n}" for n in range(1, FIRST_SLOW_DAY)]  # the last 5 before it
        assert check.ratio == pytest.approx(expected_ratio(FIRST_SLOW_DAY, slowed=True), rel=2e-3)
        assert check.lower > 1.0 and check.ratio > 1.05
        assert check.new_p50 / check.old_p50 == pytest.approx(check.ratio, rel=1e-9)


def test_the_new_run_never_counts_in_its_own_noise(series, tmp_path):
    runs, archive = series
    slowed = runs["dirs"][FIRST_SLOW_DAY - 1]
    before = gate_run(slowed, archive)  # day 6 is archived: it must be left out of spread and baseline
    unpublished = tmp_path / "archive"
    publish(runs["dirs"][:FIRST_SLOW_DAY - 1], unpublished)
    alone = gate_run(slowed, unpublished)
    assert [(c.cell["scenario"], c.metric, c.verdict) for c in before.checks] == \
        [(c.cell["scenario"], c.metric, c.verdict) for c in alone.checks]
    for a, b in zip(before.checks, alone.checks):
        assert a.sigma == pytest.approx(b.sigma, rel=1e-12) and a.baseline_runs == b.baseline_runs


def test_later_days_are_gated_against_their_own_last_runs(series):
    runs, archive = series
    last = gate_run(runs["dirs"][-1], archive, last_k=2)  # day 8 vs days 6 and 7: both already slow
    assert last.passed and {c.verdict for c in last.checks} <= {PASS}
    assert {tuple(c.baseline_runs) for c in last.checks} == {("day6", "day7")}


def test_improvement_is_listed_and_passes(series, tmp_path):
    runs, archive = series
    faster = dated_copy(runs["dirs"][-1], tmp_path, "faster", day(28),  # day 8 with batch 1 sped up
                        change_row=lambda r: slowed_down(1.0 / SLOW_FACTOR)(r)
                        if r["scenario"] == KEPT_SCENARIO else [r])
    result = gate_run(faster, archive, last_k=3)  # baseline days 6-8
    assert result.passed
    assert _scenarios(result.checks, IMPROVEMENT) == {KEPT_SCENARIO}
    assert any(line.startswith("IMPROVEMENT") for line in report_lines(result))
    assert "improvement(s)" in report_lines(result)[-1]


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_real_reruns_of_unchanged_code_pass(tmp_path_factory, tmp_path):
    runs = all_real(tmp_path_factory)
    history = aa_archive(tmp_path_factory)  # dated copies of R1, R3, R4: nothing of R2
    proc = run_cli("gate", str(runs["R2"]), "--archive", str(history), "-v")
    print("\nA/A gate, real R2 vs a history of R1/R3/R4 copies:\n" + proc.stdout)
    assert proc.returncode == 0, proc.stdout
    assert "gate: PASS" in proc.stdout and REGRESSION not in proc.stdout
    assert "[cell+pool]" in proc.stdout  # gated against the learned spread, not an assumed one

    # the newest of the four real runs against the other three as they were measured (which one is
    # newest depends on the order the test files ran in: R3 comes from the cycle test)
    started = {name: json.loads((path / "manifest.json").read_text())["started_at"] for name, path in runs.items()}
    newest = max(started, key=started.get)
    other = tmp_path / "archive"
    publish([path for name, path in runs.items() if name != newest], other)
    result = gate_run(runs[newest], other, last_k=3)
    print(f"A/A gate, real {newest} vs the other real runs:\n" + "\n".join(report_lines(result, verbose=True)))
    assert result.passed, report_lines(result, verbose=True)
    assert {c.verdict for c in result.checks} <= {PASS, IMPROVEMENT}
    assert {c.spread_source for c in result.checks} == {"cell+pool"}
    assert all(c.level == pytest.approx(1 - 0.05 / len(result.checks)) for c in result.checks)


def test_software_change_is_shown_beside_the_cells_and_new_cells_are_new(series, tmp_path):
    runs, archive = series

    def upgraded(m):
        m["environment"]["software"]["torch"] = "99.0"

    def renamed(r):
        if r["scenario"] != KEPT_SCENARIO:
            return [r]
        return [dict(r, model_id="another-model", request_id=r["request_id"].replace(r["model_id"], "another-model"))]

    new = dated_copy(runs["dirs"][-1], tmp_path, "upgraded", day(20), change_row=renamed, change_manifest=upgraded)
    result = gate_run(new, archive, last_k=3)  # the batch-2 cell vs days 6-8 (slow already): unchanged
    assert result.passed
    assert [c.verdict for c in result.checks if c.cell["model_id"] == "another-model"] == [NEW]
    lines = report_lines(result)
    assert any("changed since run day8: software.torch:" in line
               and "-> 99.0" in line and f"/ {SLOW_SCENARIO} /" in line for line in lines)


def test_t_quantile_is_students_t_and_normal_without_a_finite_df():
    # issue 20 item 9: the scipy-missing expansion went; t_quantile is scipy's t, normal at df = inf
    from scipy.stats import t

    from vlmbench.archive.quantiles import t_quantile

    for df in (4, 14, 100):
        assert t_quantile(0.975, df) == pytest.approx(float(t.ppf(0.975, df)), rel=1e-12)
    assert t_quantile(0.975, 4) > t_quantile(0.975, 14) > t_quantile(0.975, 100) > t_quantile(0.975, float("inf"))
    assert t_quantile(0.975, float("inf")) == pytest.approx(1.959964, rel=1e-6)
