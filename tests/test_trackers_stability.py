"""Stability flags, per prompt across repeats (report/stability.py, plugged into report/summary.py).

Behaviour changed by issue 11 item 3 / issue 16 item 7: the flags used to compare the first and
second half of a group's rows in time order (different prompts with --repeats 1) and the CV
over all rows (prompt sizes, not noise). Now both compare each prompt with itself across
repeats. Synthetic rows check the rules; real runs of paced tiny models (tests/plugins/
drift_models.py) check both ways end to end: a stable machine whose times follow the prompt is
not flagged, a slowdown that starts halfway through the repeats is.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vlmbench.report.groups import group_requests
from vlmbench.report.runs import RunData
from vlmbench.report.stability import (
    MIN_UNITS_FOR_DRIFT,
    drift,
    observations,
    repeat_cv,
    stability,
    stability_flags,
    units,
)
from vlmbench.report.summary import summarise_group
from vlmbench.results.frame import typed


def rows(times: dict[str, list[float]], metric: str = "ttft_ms", noise: float = 0.01, seed: int = 0,
         batch: int = 1) -> list[dict]:
    """Rows of prompts x repeats: ``times[prompt][r]`` is repeat r's value (relative noise added),
    measured repeat by repeat as the runner does (all prompts of repeat 0, then repeat 1, ...)."""
    rng = np.random.default_rng(seed)
    out = []
    n_rep = max(len(v) for v in times.values())
    prompts = list(times)
    for r in range(n_rep):
        for i, p in enumerate(prompts):
            if r >= len(times[p]):
                continue
            window = f"m|b{batch}|{'+'.join(prompts[i - i % batch:i - i % batch + batch])}|r{r}"
            out.append({metric: float(times[p][r] * (1 + noise * rng.standard_normal())), "prompt_id": p,
                        "repeat": r, "batch_size": batch, "window_id": window, "request_id": f"m|{p}|r{r}",
                        "started_at": f"2026-01-01T00:{r:02d}:{i:02d}.000000Z", "status": "ok", "cold": False,
                        "run_id": "r", "model_id": "m", "scenario": "b1-n8"})
    return out


def sized(n: int, repeats: int, slow_from: int = 99, factor: float = 1.0) -> dict[str, list[float]]:
    """n prompts whose times follow their size (10 .. 10 n ms), equal in every repeat until
    ``slow_from``, then ``factor`` times slower."""
    return {f"p{i}": [10.0 * (i + 1) * (factor if r >= slow_from else 1.0) for r in range(repeats)]
            for i in range(n)}


def test_prompt_sizes_are_not_noise():
    data = rows(sized(8, 3))
    values = [r["ttft_ms"] for r in data]
    assert np.std(values, ddof=1) / np.mean(values) > 0.25  # the old flag fired on this
    s = stability(data, "ttft_ms")
    assert s.repeat_cv is not None and s.repeat_cv < 0.03
    assert not s.drift.flagged and abs(s.drift.relative) < 0.05
    assert stability_flags(data, ["ttft_ms"]) == []


def test_one_repeat_compares_nothing_across_different_prompts():
    # the first half of the prompts is 3x slower than the second: the old first-vs-second-half rule said drift
    data = rows({f"p{i}": [30.0 if i < 4 else 10.0] for i in range(8)})
    assert drift(observations(data, "ttft_ms")) is None
    assert repeat_cv(observations(data, "ttft_ms")) is None
    assert stability_flags(data, ["ttft_ms"]) == []


def test_a_slowdown_between_repeats_is_flagged_as_a_machine_change():
    data = rows(sized(8, 2, slow_from=1, factor=1.3), noise=0.0)
    d = drift(observations(data, "ttft_ms"))
    assert d.n_units == 8 and d.relative == pytest.approx(0.3, abs=0.03)
    assert d.p == pytest.approx(2 / 2 ** 8)  # exact sign-flip test: every prompt slower
    (flag,) = stability_flags(data, ["ttft_ms"])
    assert flag.startswith("drift ttft_ms: later repeats +30% against the first, median over 8 prompts")
    assert "machine changed" in flag


def test_a_first_repeat_that_paid_warmup_costs_is_flagged_as_warmup():
    data = rows({p: [v[0] * 1.4, v[1], v[2]] for p, v in sized(7, 3).items()}, noise=0.0)  # repeat 0 slower
    (flag,) = stability_flags(data, ["ttft_ms"])
    assert "-29%" in flag and "warmup too short or not covering every input shape" in flag


def test_a_small_or_inconsistent_change_is_not_flagged():
    base = sized(8, 2)
    small = rows(base | {p: [v[0], v[1] * 1.08] for p, v in base.items()})  # +8 %: under 10 %
    assert not drift(observations(small, "ttft_ms")).flagged
    mixed = {p: [v[0], v[1] * (1.5 if i % 2 else 1 / 1.5)] for i, (p, v) in enumerate(base.items())}
    d = drift(observations(rows(mixed), "ttft_ms"))  # half the prompts faster, half slower: no trend
    assert d.p > 0.05 and not d.flagged


def test_fewer_prompts_than_the_test_needs_are_not_tested():
    data = rows(sized(MIN_UNITS_FOR_DRIFT - 1, 2, slow_from=1, factor=2.0))
    d = drift(observations(data, "ttft_ms"))
    assert d.relative == pytest.approx(1.0, abs=0.05) and not d.tested and not d.flagged
    assert d.p == pytest.approx(2 / 2 ** (MIN_UNITS_FOR_DRIFT - 1))  # the best 5 pairs can do: 0.0625


def test_high_repeat_cv_is_flagged():
    data = rows({f"p{i}": [10.0, 30.0, 10.0, 30.0] for i in range(3)}, noise=0.0)
    assert stability_flags(data, ["ttft_ms"]) == ["high CV ttft_ms=0.58 (>0.25) across repeats of the same prompt"]


def test_the_rows_of_one_batch_are_one_observation():
    data = rows(sized(4, 2), batch=2)
    assert sorted(set(units(pd.DataFrame(data)))) == ["p0+p1", "p2+p3"]
    obs = observations(data, "ttft_ms")
    assert len(obs) == 4  # 2 batches x 2 repeats, not 8 rows


def test_the_summary_carries_repeat_cv_drift_and_flags():
    frame = typed(pd.DataFrame(rows(sized(8, 2, slow_from=1, factor=1.3), noise=0.0)))
    frame["tpot_ms"] = 20.0
    (group,) = group_requests([RunData(Path("."), frame)])
    summary = summarise_group(group)
    assert summary["warm_n"] == 16 and summary["n"] == 16
    assert summary["ttft_ms_drift_pct"] == pytest.approx(30.0, abs=3.0)
    assert summary["tpot_ms_drift_pct"] == pytest.approx(0.0) and summary["tpot_ms_repeat_cv"] == pytest.approx(0.0)
    assert "drift ttft_ms" in summary["flags"] and "drift tpot_ms" not in summary["flags"]


# --- end to end: real runs of paced tiny models -----------------------------------------------------------------

N_PROMPTS, REPEATS = 7, 4


@pytest.fixture(scope="module")
def paced(tmp_path_factory):
    from vlmbench.config import RunConfig
    from vlmbench.promptset import load_promptset
    from vlmbench.report.runs import load_run
    from vlmbench.runner import run_benchmark

    prompts = load_promptset().ids()[:N_PROMPTS]
    config = RunConfig(models=["prompt-paced-tiny", "slowdown-paced-tiny", "shape-cost-paced-tiny"],
                       plugins=["plugins.drift_models"], max_new_tokens=4, repeats=REPEATS, warmup=1,
                       prompts=prompts, out=tmp_path_factory.mktemp("paced"), run_id="paced", progress=False)
    run = load_run(run_benchmark(config).run_dir)
    # the same one-time costs per input shape without the shape warmup: they land in repeat 0
    unwarmed = RunConfig(models=["shape-cost-paced-tiny"], plugins=["plugins.drift_models"], max_new_tokens=4,
                         repeats=REPEATS, warmup=1, warmup_shapes=False, prompts=prompts,
                         out=tmp_path_factory.mktemp("unwarmed"), run_id="unwarmed", progress=False)
    groups = group_requests([run]) + [
        dataclasses.replace(g, model_id=f"{g.model_id} unwarmed") for g in group_requests([load_run(run_benchmark(unwarmed).run_dir)])]
    return {g.model_id: (summarise_group(g), g.warm) for g in groups}


@pytest.fixture(scope="module")
def paced_summaries(paced):
    return {model: summary for model, (summary, _) in paced.items()}


@pytest.fixture(scope="module")
def paced_frames(paced):
    return {model: warm for model, (_, warm) in paced.items()}


def test_a_stable_machine_whose_times_follow_the_prompt_is_not_flagged(paced_summaries, paced_frames):
    s = paced_summaries["prompt-paced-tiny"]
    assert s["ok"] == s["n"] == N_PROMPTS * REPEATS
    per_prompt = paced_frames["prompt-paced-tiny"].groupby("prompt_id")["tpot_ms"].median()
    assert per_prompt.max() / per_prompt.min() > 1.5  # times follow the prompt, as on a real model
    assert s["ttft_ms_drift_p"] is not None and s["tpot_ms_drift_p"] is not None  # drift was tested
    assert "drift" not in s["flags"] and "high CV" not in s["flags"], s["flags"]


def test_a_slowdown_halfway_through_is_flagged(paced_summaries):
    s = paced_summaries["slowdown-paced-tiny"]
    assert s["ok"] == s["n"] == N_PROMPTS * REPEATS
    for metric in ("ttft_ms", "tpot_ms"):
        assert 25.0 < s[f"{metric}_drift_pct"] < 60.0, s  # the schedule: +50 %
        assert s[f"{metric}_drift_p"] < 0.05
        assert f"drift {metric}: later repeats" in s["flags"] and "machine changed" in s["flags"]


def test_one_time_costs_per_input_shape_stay_out_of_the_measured_repeats(paced_summaries):
    """The shape warmup runs every prompt once (prefill only) before the first repeat: a model
    whose first sight of each input is 1.5x slower is not flagged with it, and is flagged
    "warmup too short" without it (--no-warmup-shapes)."""
    warmed, unwarmed = paced_summaries["shape-cost-paced-tiny"], paced_summaries["shape-cost-paced-tiny unwarmed"]
    assert warmed["ok"] == warmed["n"] == unwarmed["ok"] == unwarmed["n"] == N_PROMPTS * REPEATS
    assert "drift" not in warmed["flags"], warmed["flags"]
    for metric in ("ttft_ms", "tpot_ms"):
        assert unwarmed[f"{metric}_drift_pct"] < -15.0, unwarmed  # repeat 0 paid 1.5x
        assert unwarmed[f"{metric}_drift_p"] < 0.05
        assert f"drift {metric}: later repeats -" in unwarmed["flags"], unwarmed["flags"]
    assert "one-time costs" in unwarmed["flags"]
