"""The regression gate's power and false-alarm rate, and the change-point detector's, measured on
simulated archives run through the code as built (``vlmbench.archive.gate.gate_frames``,
``vlmbench.archive.gate.confirm``, ``vlmbench.archive.changepoints.detect``).

The simulated archive (the one the audit of issue 21 used):

- 10 models (cells), 18 prompts x 3 repeats each, one warm request per (prompt, repeat); a
  prompt's cost is fixed (lognormal, 30 % between prompts), TTFT user and TPOT;
- per-request noise 3 % (lognormal);
- between-run noise: per run and cell, lognormal with sigma = ln(1 + noise) (3/5/10/15 %),
  the same factor on both metrics of a cell (a slow run is slow everywhere in the cell);
- heavy tails (``tails``): one run in ten is also 1.3x slower on every cell (a noisy neighbour);
- one slow run (``one slow``): exactly one of the K archived runs (at a random place) is 1.3x
  slower on every cell, the new run and its re-measurement are not (the baseline outlier case);
- K archived runs (3/5/10), then the new run with every cell slowed by +0/10/25/50 %.

A trial "catches" the slowdown when the gate of the new run fails (any cell REGRESSION); the
A/A false-alarm rate is the same with +0 %. ``confirmed``: the cycle's ``--confirm``: the
failing cells are measured again (a fresh run drawn from the same distribution, with the same
slowdown) and the run fails only on cells that fail both times.

Change points (``--changepoints``): series of 20 run medians at 5 % noise (and with heavy
tails), unchanged or with a sustained +10 % step of the last 5 runs (a step in the middle also);
false alarms = unchanged series with any change point; detection = step series with a change
point within one run of the step. The curve over penalty factors is printed.

Usage: ``python bench/gate_power.py [--trials 100] [--aa-trials 300] [--quick | --outliers] [--changepoints]
[--jobs N]``.
Pure CPU, no model; about 0.1 s per gated run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from vlmbench.archive import changepoints  # noqa: E402
from vlmbench.archive.gate import confirm, gate_frames  # noqa: E402

MODELS = 10
PROMPTS = 18
REPEATS = 3
REQUEST_NOISE = 0.03
SLOW_RUN_P = 0.10
SLOW_RUN_FACTOR = 1.3


GAUSSIAN, TAILS, ONE_SLOW = "Gaussian", "heavy tails", "one slow run"


def _run_frame(rng: np.random.Generator, run: int, costs: np.ndarray, noise: float, effect: float,
               tails: bool, models: int = MODELS, slow: bool = False) -> pd.DataFrame:
    """One simulated run's rows: costs[model, prompt, metric] x run factor x request noise;
    ``slow``: this run is the noisy neighbour's (x1.3 on every cell)."""
    per_run = np.exp(rng.normal(0.0, math.log1p(noise), size=models))
    if slow or (tails and rng.random() < SLOW_RUN_P):
        per_run = per_run * SLOW_RUN_FACTOR
    n = models * PROMPTS * REPEATS
    model = np.repeat(np.arange(models), PROMPTS * REPEATS)
    prompt = np.tile(np.repeat(np.arange(PROMPTS), REPEATS), models)
    repeat = np.tile(np.arange(REPEATS), models * PROMPTS)
    factor = per_run[model] * (1.0 + effect)
    ttft = costs[model, prompt, 0] * factor * np.exp(rng.normal(0.0, REQUEST_NOISE, n))
    tpot = costs[model, prompt, 1] * factor * np.exp(rng.normal(0.0, REQUEST_NOISE, n))
    start = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=run)
    run_id = f"run{run}"
    return pd.DataFrame({
        "run_id": run_id, "run_dir": f"/sim/{run_id}",
        "request_id": [f"m{m}|b1-n8|p{p}|{r}|0" for m, p, r in zip(model, prompt, repeat)],
        "model_id": [f"model-{m}" for m in model], "hardware": "sim", "scenario": "b1-n8",
        "promptset_version": "v1", "prompt_id": [f"p{p}" for p in prompt], "repeat": repeat,
        "backend": "hf", "device": "cpu", "dtype": "float32", "attn": "sdpa", "cache": "dynamic",
        "compile": False, "weights": "random", "processor_kind": "fast", "cache_bust": pd.NA,
        "length_enforced": True, "batch_size": 1, "window_id": pd.NA, "status": "ok", "cold": False,
        "ttft_ms": ttft * 0.8, "ttft_user_ms": ttft, "tpot_ms": tpot, "decode_tps": 1000.0 / tpot,
        "peak_rss_mb": 100.0, "peak_nvml_mb": np.nan, "peak_cuda_reserved_mb": np.nan,
        "peak_cuda_allocated_mb": np.nan, "started_at": start + pd.to_timedelta(np.arange(n), unit="s"),
    })


def _costs(rng: np.random.Generator, models: int = MODELS) -> np.ndarray:
    base = np.exp(rng.normal(np.log([200.0, 20.0]), 0.5, size=(models, 1, 2)))
    return base * np.exp(rng.normal(0.0, 0.3, size=(models, PROMPTS, 2)))


def gate_trial(seed: int, noise: float, runs: int, effect: float, mode: str) -> tuple[bool, bool]:
    """(gate failed, failed after --confirm) of one simulated archive and new run; ``mode``:
    GAUSSIAN, TAILS or ONE_SLOW (module doc)."""
    rng = np.random.default_rng(seed)
    costs = _costs(rng)
    tails = mode == TAILS
    slow_at = int(rng.integers(runs)) if mode == ONE_SLOW else -1
    archive = pd.concat([_run_frame(rng, i, costs, noise, 0.0, tails, slow=i == slow_at) for i in range(runs)],
                        ignore_index=True)
    new = _run_frame(rng, runs, costs, noise, effect, tails)
    result = gate_frames(new, archive, env_of=lambda _: {})
    if result.passed:
        return False, False
    failing = {c.cell["model_id"] for c in result.regressions}
    again = _run_frame(rng, runs + 1, costs, noise, effect, tails)
    again = again[again["model_id"].isin(failing)].assign(
        started_at=lambda f: f["started_at"] - pd.Timedelta(hours=1))  # measured before the next nightly run
    return True, not confirm(result, gate_frames(again, archive, env_of=lambda _: {})).passed


def _trial(args: tuple) -> tuple[bool, bool]:
    return gate_trial(*args)


def power_rows(trials: int, aa_trials: int, rows, effects, pool=None) -> list[str]:
    """One table row per (noise, archived runs, tails), printed as soon as it is measured."""
    lines = ["gate: fraction of runs failing, gate alone [with --confirm]; tails: 1 run in 10 x1.3 slower",
             "| noise | archived runs | run noise | " + " | ".join(f"+{100 * e:.0f}%" for e in effects) + " |",
             "|---:|---:|:---|" + "---:|" * len(effects)]
    print("\n".join(lines), flush=True)
    for noise, runs, mode in rows:
        cells = []
        for effect in effects:
            n = aa_trials if effect == 0 else trials
            jobs = [(10_000 * runs + 1000 * int(100 * noise) + i + int(1e6 * effect), noise, runs, effect, mode)
                    for i in range(n)]
            outcomes = list(pool.map(_trial, jobs)) if pool is not None else [_trial(j) for j in jobs]
            raw = sum(o[0] for o in outcomes) / n
            confirmed = sum(o[1] for o in outcomes) / n
            cells.append(f"{100 * raw:.0f}% [{100 * confirmed:.0f}%]")
        lines.append(f"| {100 * noise:.0f}% | {runs} | {mode} | "
                     + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def _series(rng: np.random.Generator, n: int, noise: float, step_at: int | None, step: float, tails: bool) -> np.ndarray:
    x = rng.normal(0.0, math.log1p(noise), n)
    if tails:
        x = x + np.where(rng.random(n) < SLOW_RUN_P, math.log(SLOW_RUN_FACTOR), 0.0)
    if step_at is not None:
        x[step_at:] += math.log1p(step)
    return x


def changepoint_curve(trials: int, factors, n: int = 20, noise: float = 0.05, step: float = 0.10) -> list[str]:
    """False alarms (unchanged series) and detection (a sustained step lasting the last 5 runs) per
    penalty factor, with the series' sigma estimated as the history does (MAD of differences)."""
    from vlmbench.archive.noise import MAD_TO_SIGMA

    lines = ["change points: 20 runs at 5 % noise; step +10 % over the last 5 runs (and in the middle)",
             "| penalty factor | false alarms | false alarms, tails | found (last 5) | found (middle) |",
             "|---:|---:|---:|---:|---:|"]
    saved = changepoints.PENALTY_FACTOR
    try:
        for factor in factors:
            changepoints.PENALTY_FACTOR = factor
            counts = [0, 0, 0, 0]
            for i in range(trials):
                rng = np.random.default_rng(7_000_000 + i)
                for j, (step_at, tails) in enumerate(((None, False), (None, True), (n - 5, False), (n // 2, False))):
                    x = _series(rng, n, noise, step_at, step, tails)
                    sigma = MAD_TO_SIGMA * float(np.median(np.abs(np.diff(x)))) / math.sqrt(2.0)
                    found = changepoints.detect(x, sigma)
                    hit = any(abs(p - step_at) <= 1 for p in found) if step_at is not None else bool(found)
                    counts[j] += hit
            lines.append(f"| {factor:g} | " + " | ".join(f"{100 * c / trials:.1f}%" for c in counts) + " |")
            print(lines[-1], flush=True)
    finally:
        changepoints.PENALTY_FACTOR = saved
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=100, help="trials per slowed configuration")
    p.add_argument("--aa-trials", type=int, default=300, help="trials per A/A configuration")
    p.add_argument("--quick", action="store_true", help="5 %% noise and 5 runs only (the targets' row)")
    p.add_argument("--outliers", action="store_true",
                   help="5 %% noise, 5 and 10 runs: Gaussian, heavy tails and one slow run in the baseline")
    p.add_argument("--changepoints", action="store_true", help="also the change-point curve")
    p.add_argument("--cp-trials", type=int, default=400)
    p.add_argument("--jobs", type=int, default=1, help="processes")
    args = p.parse_args()
    started = time.time()
    g, t, o = GAUSSIAN, TAILS, ONE_SLOW
    rows = [(0.05, 5, g), (0.05, 3, g), (0.05, 10, g), (0.05, 5, t), (0.05, 5, o), (0.03, 5, g),
            (0.10, 5, g), (0.15, 5, g), (0.05, 10, t), (0.05, 10, o), (0.03, 3, g), (0.03, 10, g),
            (0.10, 3, g), (0.10, 10, g), (0.15, 3, g), (0.15, 10, g)]
    if args.quick:
        rows = rows[:1]
    if args.outliers:
        rows = [r for r in rows if r[0] == 0.05 and r[1] in (5, 10)]
    effects = (0.0, 0.10, 0.25, 0.50)
    import multiprocessing

    pool = multiprocessing.Pool(args.jobs) if args.jobs > 1 else None
    out = power_rows(args.trials, args.aa_trials, rows, effects, pool=pool)
    if args.changepoints:
        out += [""] + changepoint_curve(args.cp_trials, (2, 3, 4, 6, 8, 10, 12))
    print("\n".join(out))
    print(f"({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
