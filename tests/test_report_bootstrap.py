"""The bootstrap CI of the median resamples the independent unit, the generate window (issue 16 item 5).

Simulation: K windows of B rows; a window's rows share its timing (one lognormal draw per
window, plus 1 % per-row noise), as the B rows of one batched generate call do. The population
median of a row is exp(0) = 1. The nominal 95 % interval must cover it 92-98 % of the time at
batch 1, 4 and 8. Resampling rows instead (the old behaviour) covers ~65 % at batch 4 and ~48 %
at batch 8 with these settings: the test fails on it.
"""

from __future__ import annotations

import numpy as np
import pytest

from vlmbench.analysis.statistics import bootstrap_median_ci, cluster_bootstrap_medians

WINDOWS = 24
SIMULATIONS = 400
RESAMPLES = 500


def coverage(batch: int, by_window: bool, seed: int = 11) -> float:
    rng = np.random.default_rng(seed + batch)
    window_ids = [f"w{k}" for k in np.repeat(np.arange(WINDOWS), batch)]
    hits = 0
    for _ in range(SIMULATIONS):
        per_window = np.exp(rng.normal(0.0, 0.3, WINDOWS))
        values = np.repeat(per_window, batch) * np.exp(rng.normal(0.0, 0.01, WINDOWS * batch))
        low, high = bootstrap_median_ci(values.tolist(), resamples=RESAMPLES,
                                        clusters=window_ids if by_window else None)
        hits += low <= 1.0 <= high
    return hits / SIMULATIONS


@pytest.mark.parametrize("batch", [1, 4, 8])
def test_coverage_is_nominal_at_every_batch_size(batch):
    assert 0.92 <= coverage(batch, by_window=True) <= 0.98


def test_resampling_rows_at_batch_8_would_be_far_too_narrow():
    assert coverage(8, by_window=False) < 0.75  # what the issue measured (46 %): the reason for windows


def test_weighted_medians_equal_the_medians_of_the_pooled_resamples():
    """The vectorised cluster resample gives exactly np.median of the concatenated clusters."""
    rng = np.random.default_rng(3)
    sizes = [1, 3, 2, 4, 2]  # unequal windows (a batch sweep that stopped, a partial last batch)
    cluster_of = np.repeat(np.arange(len(sizes)), sizes)
    values = rng.normal(10.0, 2.0, cluster_of.size)
    medians = cluster_bootstrap_medians(values, cluster_of, 50, np.random.Generator(np.random.PCG64(5)))
    picks = np.random.Generator(np.random.PCG64(5)).integers(0, len(sizes), size=(50, len(sizes)))
    expected = [np.median(np.concatenate([values[cluster_of == k] for k in row])) for row in picks]
    assert medians == pytest.approx(expected)


def test_the_summary_ci_uses_windows():
    """Four rows of one window with identical timings are one observation: with two windows the
    interval spans both windows' values, where resampling rows would narrow it."""
    values = [10.0] * 4 + [20.0] * 4
    windows = ["a"] * 4 + ["b"] * 4
    assert bootstrap_median_ci(values, clusters=windows) == (10.0, 20.0)
    assert bootstrap_median_ci([7.0]) is None and bootstrap_median_ci([]) is None


def test_observations_are_batched_calls_in_process_and_requests_at_an_endpoint():
    """An endpoint scenario's rows share one load-window id but were timed one by one: each is an
    observation, so their interval is not collapsed onto the median; in-process rows of one batch-4
    call are one observation; batch-1 rows are one each."""
    import pandas as pd

    from vlmbench.analysis.observations import observation_labels

    rng = np.random.default_rng(3)
    endpoint = pd.DataFrame({"run_id": "r", "backend": "openai", "batch_size": 1, "window_id": "m|c8-n32",
                             "request_id": [f"m|c8-n32|p{i}|r0|s0" for i in range(40)],
                             "ttft_ms": rng.lognormal(3.0, 0.3, 40)})
    labels = observation_labels(endpoint)
    assert labels.nunique() == 40
    low, high = bootstrap_median_ci(endpoint["ttft_ms"].tolist(), clusters=labels.tolist())
    assert high / low > 1.05  # one cluster would give low == high == the median
    batched = pd.DataFrame({"run_id": "r", "backend": "hf", "batch_size": [4] * 8 + [1] * 2,
                            "window_id": ["w0"] * 4 + ["w1"] * 4 + ["w2", "w3"],
                            "request_id": [f"q{i}" for i in range(10)]})
    assert observation_labels(batched).nunique() == 4
    assert observation_labels(batched.assign(run_id=["a"] * 4 + ["b"] * 6)).nunique() == 4  # w0, w1, q8, q9
