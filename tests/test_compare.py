"""``vlmbench compare`` on a real run and on a copy of it with an injected, documented slowdown.

The slowdown: run B is run A's own requests.csv rewritten through the real RowWriter with every
time multiplied and every rate divided by a factor (test_report_support.slowed_down). The factor
is at least 1.5 and larger than the spread of A's own timings, so B's slowest-looking request
of A is still faster than B's fastest: the change is unambiguous however loaded this machine
is while the tiny model runs, and the test cannot pass by chance or fail by noise.
"""

from __future__ import annotations

import csv

import pytest

from conftest import run_cli
from test_report_support import HOSTILE_FORMULA, copy_run, slowed_down

from vlmbench.report.compare import IMPROVEMENT, NOT_SIGNIFICANT, REGRESSION, compare_runs
from vlmbench.report.runs import load_run
from vlmbench.results.reader import read_rows

METRICS = ("ttft_ms", "tpot_ms", "e2e_ms", "decode_tps")


def _factor(run_dir) -> float:
    warm = [r for r in read_rows(run_dir / "requests.csv") if r["status"] == "ok" and not r["cold"]]
    spread = max(max(r[m] for r in warm) / min(r[m] for r in warm) for m in METRICS)
    return max(1.5, 1.25 * spread)


@pytest.fixture(scope="module")
def pair(tiny_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    a = tiny_run.run_dir
    factor = _factor(a)
    slow = copy_run(a, root, "slow", slowed_down(factor))
    same = copy_run(a, root, "same")
    return a, slow, same, factor


def test_injected_slowdown_fails_the_ci_gate(pair):
    a, slow, _, factor = pair
    proc = run_cli("compare", str(a), str(slow), "--fail-above", "20")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    for label in ("TTFT", "TPOT", "E2E", "decode tok/s"):
        assert f"REGRESSION: llava-1.5-7b-tiny / b1-n4: {label} worse by" in out
    assert "warning" not in out  # same machine, same settings: nothing to warn about
    comparison = compare_runs(load_run(a), load_run(slow))
    assert {r.verdict for r in comparison.rows} == {REGRESSION}
    ttft = next(r for r in comparison.rows if r.metric.column == "ttft_ms")
    assert ttft.ratio == pytest.approx(factor, rel=1e-3) and ttft.p_value < 0.01


def test_threshold_above_the_slowdown_passes(pair):
    a, slow, _, factor = pair
    proc = run_cli("compare", str(a), str(slow), "--fail-above", f"{(factor - 1) * 100 + 10:.0f}")
    assert proc.returncode == 0, proc.stdout
    assert "no significant regression beyond" in proc.stdout


def test_no_change_and_improvement_pass(pair):
    a, slow, same, _ = pair
    unchanged = compare_runs(load_run(a), load_run(same))
    assert {r.verdict for r in unchanged.rows} == {NOT_SIGNIFICANT}
    assert all(r.ratio == pytest.approx(1.0) for r in unchanged.rows)
    improved = compare_runs(load_run(slow), load_run(a))
    assert {r.verdict for r in improved.rows} == {IMPROVEMENT}
    proc = run_cli("compare", str(slow), str(a), "--fail-above", "5")
    assert proc.returncode == 0, proc.stdout


def test_min_effect_threshold_hides_small_significant_changes(pair, tmp_path):
    a, _, _, _ = pair
    slight = copy_run(a, tmp_path, "slight", slowed_down(1.03))
    comparison = compare_runs(load_run(a), load_run(slight), min_effect_pct=5.0)
    assert REGRESSION not in {r.verdict for r in comparison.rows}
    assert run_cli("compare", str(a), str(slight), "--fail-above", "1").returncode == 0


def test_fingerprint_and_setting_differences_are_warned(pair, tmp_path):
    a, _, _, _ = pair

    def other_machine(manifest):
        manifest["environment"]["software"]["torch"] = "9.9.9"
        manifest["environment"]["cpu"]["model"] = "Other CPU"
        manifest["environment"]["hostname"] = "elsewhere"  # not a difference that matters

    other = copy_run(a, tmp_path, "other", lambda r: [dict(r, hardware="Other CPU (2 threads)", dtype="float32")],
                     other_machine)
    proc = run_cli("compare", str(a), str(other))
    assert proc.returncode == 0
    assert "warning: software differs: software.torch" in proc.stdout
    assert "warning: hardware differs: cpu.model" in proc.stdout
    assert "setting differs: hardware" in proc.stdout and "setting differs: dtype" in proc.stdout
    assert "hostname" not in proc.stdout


def test_csv_output_neutralises_formula_model_ids(pair, tmp_path):
    a, _, _, _ = pair
    hostile_a = copy_run(a, tmp_path, "ha", lambda r: [dict(r, model_id=HOSTILE_FORMULA)])
    hostile_b = copy_run(a, tmp_path, "hb", lambda r: [dict(r, model_id=HOSTILE_FORMULA)])
    out = tmp_path / "cmp.csv"
    proc = run_cli("compare", str(hostile_a), str(hostile_b), "--csv", str(out))
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(r["model_id"] == "'" + HOSTILE_FORMULA for r in rows)


def test_runs_without_common_models_are_a_usage_error(pair, tmp_path):
    a, _, _, _ = pair
    renamed = copy_run(a, tmp_path, "renamed", lambda r: [dict(r, model_id="another-model")])
    proc = run_cli("compare", str(a), str(renamed), "--fail-above", "10")
    assert proc.returncode == 2 and "no (model, scenario) in common" in proc.stderr


def test_requests_failing_only_in_b_are_warned(pair, tmp_path):
    a, _, _, _ = pair
    identity = ("run_id", "request_id", "model_id", "system", "weights", "backend", "device", "dtype", "hardware",
                "scenario", "promptset_version", "prompt_id", "repeat", "cold")

    def fail_second_repeat(row):
        if row["repeat"] == 1:
            return [dict({k: row[k] for k in identity}, status="oom", error="OutOfMemoryError: injected")]
        return [row]

    broken = copy_run(a, tmp_path, "broken", fail_second_repeat)
    comparison = compare_runs(load_run(a), load_run(broken))
    failed = sum(1 for r in read_rows(broken / "requests.csv") if r["status"] != "ok")
    assert failed > 0
    assert f"llava-1.5-7b-tiny / b1-n4: {failed} failed requests in B (A: 0)" in " ".join(comparison.warnings)
    assert all(r.n_b < r.n_a for r in comparison.rows)  # failed rows are not compared
