"""History of an archive of real runs (a dated series with a known slowdown from day 6): run
medians and current values computed with pandas, the between-run spread, change points (with
ruptures and with the numpy fallback, which must agree), and ``vlmbench history``."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from test_archive_support import FIRST_SLOW_DAY, KEPT_SCENARIO, SLOW_SCENARIO, series_archive, series_runs

from vlmbench.analysis.observations import observation_labels
from vlmbench.analysis.statistics import bootstrap_median_ci
from vlmbench.archive import changepoints
from vlmbench.archive.history import build_history
from vlmbench.archive.noise import ASSUMED_SIGMA, MIN_SIGMA, between_run_spread, spread_from_medians
from vlmbench.archive.series import ci_text, current_values, run_medians
from vlmbench.results import load


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return series_archive(tmp_path_factory)


@pytest.fixture(scope="module")
def frame(archive):
    return load(archive)


def test_run_medians_are_the_medians_of_each_runs_warm_rows(frame):
    medians = run_medians(frame)
    assert len(medians) == 8 * 2  # 8 runs x 2 cells
    warm = frame[(frame["status"] == "ok") & ~frame["cold"].astype(bool)]
    for (run_id, scenario), rows in warm.groupby(["run_id", "scenario"]):
        row = medians[(medians["run_id"] == run_id) & (medians["scenario"] == scenario)].iloc[0]
        assert row["tpot_ms"] == pytest.approx(float(np.median(rows["tpot_ms"].to_numpy())))
        assert row["tpot_ms_lo"] <= row["tpot_ms"] <= row["tpot_ms_hi"]
        assert row["n"] == len(rows)
    assert list(medians[medians["scenario"] == SLOW_SCENARIO]["run_id"]) == [f"day{n}" for n in range(1, 9)]


def test_run_median_ci_keeps_the_prompt_set_fixed(frame):
    """The history plots one prompt set's median run after run, so its CI is the spread of that
    median when the same prompts are measured again: resampled within each prompt. One prompt's
    rows: the single-run report's bootstrap interval (small-sample widening aside). A scaled copy of a real run with
    18 prompts and a known per-request noise: the interval covers the known median close to as
    often as it says (a percentile bootstrap of 3 repeats runs a little short), where resampling
    across prompts (the report's unit) is several times wider and covers every time."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    warm = frame[(frame["status"] == "ok") & ~frame["cold"].astype(bool)]
    day1 = warm[(warm["run_id"] == "day1") & (warm["scenario"] == KEPT_SCENARIO)]
    one = day1[day1["prompt_id"] == day1["prompt_id"].iloc[0]]
    row = run_medians(one).iloc[0]
    report = bootstrap_median_ci(one["tpot_ms"].tolist(), clusters=observation_labels(one).tolist())
    # the same draws; widened by sqrt(k / (k - 1)) about the median for k repeats (a resample of k
    # draws varies (k - 1) / k as much as a new measurement of k would)
    centre, widen = float(np.median(one["tpot_ms"])), math.sqrt(len(one) / (len(one) - 1))
    assert row["tpot_ms_lo"] == pytest.approx(centre - widen * (centre - report[0]), rel=1e-9)
    assert row["tpot_ms_hi"] == pytest.approx(centre + widen * (report[1] - centre), rel=1e-9)

    prompts, repeats, sigma = 18, 3, 0.05
    real = day1.groupby("prompt_id")["tpot_ms"].median()
    templates = [day1[day1["prompt_id"] == p].iloc[0] for p in real.index]
    scale = np.exp(np.linspace(-0.3, 0.3, prompts))
    base = real.iloc[0] * scale  # costs spread evenly around a real one: coverage does not depend on its value
    rows = []
    for j in range(prompts):
        for r in range(repeats):
            copy = templates[j % len(templates)].copy()
            copy["prompt_id"], copy["repeat"], copy["request_id"] = f"p{j}", r, f"copy|p{j}|{r}"
            rows.append(copy)
    template = pd.DataFrame(rows).reset_index(drop=True)
    cut = lambda t: norm.cdf((np.log(t) - np.log(base)) / sigma).mean() - 0.5  # noqa: E731
    truth = brentq(cut, base.min() / 2, base.max() * 2)
    rng = np.random.default_rng(11)
    ours, across = [], []
    for _ in range(120):
        copy = template.assign(tpot_ms=np.repeat(base, repeats) * np.exp(rng.normal(0.0, sigma, len(template))))
        m = run_medians(copy).iloc[0]
        ours.append((m["tpot_ms_lo"], m["tpot_ms_hi"]))
        across.append(bootstrap_median_ci(copy["tpot_ms"].tolist(), clusters=observation_labels(copy).tolist()))
    ours, across = np.array(ours), np.array(across)
    covered = np.mean((ours[:, 0] <= truth) & (truth <= ours[:, 1]))
    covered_across = np.mean((across[:, 0] <= truth) & (truth <= across[:, 1]))
    width, width_across = np.mean(ours[:, 1] - ours[:, 0]), np.mean(across[:, 1] - across[:, 0])
    print(f"coverage {covered:.2f} (across prompts {covered_across:.2f}); width ratio {width_across / width:.1f}")
    assert 0.80 <= covered <= 0.995  # nominal 95 %: a percentile bootstrap of 3 repeats runs short (90 %)
    assert covered_across >= 0.99 and width_across > 1.5 * width  # across prompts: wider than it says
    # each prompt measured once: nothing varies within a prompt, so no CI, with the reason
    once = run_medians(template.assign(tpot_ms=np.repeat(base, repeats))[template["repeat"] == 0]).iloc[0]
    assert np.isnan(once["tpot_ms_lo"]) and "each prompt measured once" in ci_text(once, "tpot_ms")


def test_current_value_over_last_n_runs_or_last_days(frame, tmp_path_factory):
    factor = series_runs(tmp_path_factory)["factor"]
    medians = run_medians(frame)
    slow = medians[medians["scenario"] == SLOW_SCENARIO].set_index("run_id")
    last3 = current_values(medians, last_n=3)
    row = last3[last3["scenario"] == SLOW_SCENARIO].iloc[0]
    assert row["runs"] == 3 and row["last_run_id"] == "day8"
    assert row["tpot_ms"] == pytest.approx(slow.loc[["day6", "day7", "day8"], "tpot_ms"].median())
    assert row["tpot_ms_min"] <= row["tpot_ms"] <= row["tpot_ms_max"]
    days = current_values(medians, days=1.5)  # day 7 03:00 .. day 8 03:00
    assert days[days["scenario"] == SLOW_SCENARIO].iloc[0]["runs"] == 2
    early = current_values(medians[medians["run_id"].isin([f"day{n}" for n in range(1, 6)])], last_n=5)
    ratio = row["tpot_ms"] / early[early["scenario"] == SLOW_SCENARIO].iloc[0]["tpot_ms"]
    assert ratio > factor / 2  # the current value moved with the slowdown


def test_between_run_spread_is_learned_from_run_medians(frame, tmp_path_factory):
    spread = between_run_spread(frame)
    tpot = spread[spread["metric"] == "tpot_ms"].set_index("scenario")
    assert set(tpot["source"]) == {"cell+pool"} and (tpot["runs"] == 8).all() and (tpot["diffs"] == 7).all()
    # the step of the slowed cell moves one consecutive difference only: its spread stays of the
    # order of the other cell's, far below the step itself
    medians = run_medians(frame)
    kept = medians[medians["scenario"] == KEPT_SCENARIO]["tpot_ms"].to_numpy()
    direct = 1.4826 * np.median(np.abs(np.diff(np.log(kept)))) / math.sqrt(2)
    factor = series_runs(tmp_path_factory)["factor"]
    assert tpot.loc[SLOW_SCENARIO, "sigma"] < 0.5 * math.log(factor)
    # the cell's own estimate (7 differences) shrunk towards the hardware's pool (K0 = 4), never below the pool
    expected = max(math.sqrt((7 * direct ** 2 + 4 * _pool(frame) ** 2) / 11), _pool(frame), MIN_SIGMA)
    assert tpot.loc[KEPT_SCENARIO, "sigma"] == pytest.approx(expected, rel=1e-9)
    # a column the history does not track (compare asks for e2e_ms): its run medians are made here
    e2e = between_run_spread(frame, metrics=["e2e_ms"])
    assert set(e2e["metric"]) == {"e2e_ms"} and len(e2e) == 2 and (e2e["sigma"] > 0).all()
    # one run only: nothing to learn from, the assumed spread is used
    one = spread_from_medians(medians[medians["run_id"] == "day1"])
    assert set(one["source"]) == {"assumed"} and np.allclose(one["sigma"], ASSUMED_SIGMA)


def test_one_slow_run_does_not_inflate_the_spread(frame):
    """A noisy neighbour: one run of the real archive (day 3) 1.3x slower in every cell. Left out
    as an outlier, it leaves the spread where the archive without it puts it; kept in, it would
    move two of each cell's consecutive differences."""
    medians = run_medians(frame)
    spread = spread_from_medians(medians, metrics=["tpot_ms"]).set_index("scenario")
    assert (spread["outlier_runs"] == 0).all()  # the real archive has none (its step is no outlier)
    slowed = medians.copy()
    day3 = slowed["run_id"] == "day3"
    slowed.loc[day3, "tpot_ms"] = slowed.loc[day3, "tpot_ms"] * 1.3
    noisy = spread_from_medians(slowed, metrics=["tpot_ms"]).set_index("scenario")
    assert (noisy["outlier_runs"] == 1).all() and (noisy["diffs"] == 6).all()
    without = spread_from_medians(medians[~day3], metrics=["tpot_ms"]).set_index("scenario")
    assert np.allclose(noisy["sigma"], without.loc[noisy.index, "sigma"])
    # the same archive judged by the plain MAD of consecutive differences (outliers kept)
    x = np.log(slowed[slowed["scenario"] == KEPT_SCENARIO]["tpot_ms"].to_numpy())
    plain = 1.4826 * np.median(np.abs(np.diff(x))) / math.sqrt(2)
    assert noisy.loc[KEPT_SCENARIO, "sigma"] < plain


def _pool(frame) -> float:
    medians = run_medians(frame)
    diffs = medians.groupby("scenario")["tpot_ms"].transform(lambda s: np.log(s).diff()).abs().dropna()
    return 1.4826 * float(np.median(diffs)) / math.sqrt(2)


def test_change_point_is_found_at_the_slowed_run(frame):
    history = build_history(frame)
    changes = history.changes
    slowed = changes[changes["scenario"] == SLOW_SCENARIO]
    assert set(slowed["run_id"]) == {f"day{FIRST_SLOW_DAY}"}
    assert {"tpot_ms", "decode_tps"} <= set(slowed["metric"])
    assert changes[changes["scenario"] == KEPT_SCENARIO].empty
    flagged = history.medians.dropna(subset=["change_metrics"])
    assert set(flagged["run_id"]) == {f"day{FIRST_SLOW_DAY}"}


def test_fallback_pelt_agrees_with_ruptures_and_is_used_without_it(frame, monkeypatch):
    pytest.importorskip("ruptures")
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(4, 30))
        x = rng.normal(0.0, 0.05, n)
        for start in rng.integers(1, n, size=int(rng.integers(0, 3))):
            x[start:] += rng.normal(0.0, 0.4)
        pen = float(rng.uniform(0.001, 0.2))
        assert changepoints.pelt_numpy(x, pen) == changepoints.pelt_ruptures(x, pen)
    medians = run_medians(frame)
    slow = np.log(medians[medians["scenario"] == SLOW_SCENARIO]["tpot_ms"].to_numpy())
    spread = spread_from_medians(medians)
    sigma = float(spread[(spread["scenario"] == SLOW_SCENARIO) & (spread["metric"] == "tpot_ms")]["sigma"].iloc[0])
    with_ruptures = changepoints.detect(slow, sigma)
    monkeypatch.setitem(sys.modules, "ruptures", None)  # as on a machine without the extra
    assert changepoints.pelt_ruptures(slow, 0.01) is None
    assert changepoints.detect(slow, sigma) == with_ruptures == [FIRST_SLOW_DAY - 1]


def test_history_command_prints_current_values_runs_and_changes(archive):
    proc = run_cli("history", "--archive", str(archive), "--changes", "--runs", "--last-n", "3")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "median of the run medians of the last 3 runs" in out
    assert f"/ {SLOW_SCENARIO} / v1  (3 runs, last day8)" in out
    change_lines = [line for line in out.splitlines() if " at run day" in line]
    assert change_lines and all(f"/ {SLOW_SCENARIO} /" in line and "at run day6 (2026-01-06)" in line
                                for line in change_lines)
    assert "<- change:" in out and out.count("  day") >= 16
    only = run_cli("history", "--archive", str(archive), "--model", "no-such-model")
    assert only.returncode == 2 and "no series match" in only.stderr


def test_history_series_is_sorted_by_time_not_by_run_id(frame):
    shuffled = frame.sample(frac=1.0, random_state=3)
    a = run_medians(frame)
    b = run_medians(shuffled)
    pd.testing.assert_series_equal(a["run_id"], b["run_id"])
