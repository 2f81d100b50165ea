"""The predictor's accuracy on measured runs: micro-benchmark profile -> calibrated, leave-one-model-out.

    python bench/predictor_accuracy.py --profile MICRO.json --runs RUN_DIR... --out DIR [--time-budget S]

1. the usable measured rows of the runs (ok, in-process, catalog models; warm rows, or cold ones
   where a case was only measured cold);
2. op counts per case (twin trace + real shapes), model by model until the time budget is spent
   (models not reached are left out and listed);
3. the profile calibrated on every row (``vlmbench calibrate --profile P --runs ...``), with its
   held-out intervals;
4. errors per stage: leave-one-model-out (each model predicted by parameters fitted on the
   others), the micro-benchmark profile alone, the plain roofline baseline, and in-sample;
5. writes DIR/profile-calibrated.json, DIR/validation.json, DIR/validation.txt and
   DIR/predicted_vs_measured.csv (one line per row and stage: measured, LOMO, micro-only, roofline).

Real-size runs are slow on a CPU; they are made outside the test suite (see README, METRICS.md).

The frozen test (``--frozen-test``): once the method is frozen, one command runs exactly the test
set below, real-size, on this CPU, and validates the *frozen* calibrated profile on it without
refitting anything (the profile must not have seen any of these models)::

    python bench/predictor_accuracy.py --frozen-test --profile CALIBRATED.json --out DIR [--plan-only] [--lock FILE]

The entries were not used while the method was developed (development: bunny-1.0-2b-zh, llava-1.5-7b,
mgm-2b, paligemma-3b-224, tinygpt-v, tinyllava-1.4b, tinyllava-legacy-2.0b at batch 1 on
diagram-shapes-336x336 and chart-bar-640x480). An entry whose memory estimate (bf16, CPU) does not
fit this machine's RAM is not run and is listed as such: on a 24 GiB machine CogAgent-18B (about
35 GiB of bf16 weights) does not fit; the others do (LLaVA-1.6-7B about 15.7 GiB at its largest
AnyRes grid, PaLI-3 about 10.3 GiB). Writes DIR/frozen-test.json and DIR/frozen-test.txt: the
validation report (median |e| with its bootstrap interval over models, coverage of the profile's
intervals per stage), the profile's sha256, the git commit, the load, and what was not run.
Run it on a quiet machine: nothing else running. On a shared machine ``--lock FILE`` holds an
exclusive flock on FILE during each measured run only (released between runs and during the
validation, so other measurements can take their turn between them). A run folder that an earlier
call finished (its manifest has ``ended_at``) is reused, not measured again.

A bad input (an unknown or malformed ``--profile``, a missing run folder) is one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vlmbench.predict.fit import calibrate_on_rows, samples  # noqa: E402
from vlmbench.predict.intervals import lomo_intervals  # noqa: E402
from vlmbench.predict.measured import load_rows  # noqa: E402
from vlmbench.predict.predictor import CountCache  # noqa: E402
from vlmbench.predict.profiles import Params, Profile, load_profile, write_profile  # noqa: E402
from vlmbench.predict.heldout import STAGES, lomo_pairs, measured, predicted  # noqa: E402
from vlmbench.predict.validate import format_report, predict_samples, validate  # noqa: E402
from vlmbench.errors import VlmbenchError  # noqa: E402


# (model, prompt, batch size, what it tests): the frozen test set; never used while developing the method
FROZEN_TEST = (
    ("llava-1.6-vicuna-7b", "chart-bar-640x480", 1, "AnyRes LLaVA-1.6 (tiled high resolution)"),
    ("llava-1.6-vicuna-7b", "document-invoice-1240x1754", 1, "one large image, 1240 x 1754 (AnyRes grid)"),
    ("pali3-5b", "diagram-shapes-336x336", 1, "PaLI-3 encoder-decoder"),
    ("pali3-5b", "diagram-shapes-336x336", 2, "batch > 1"),
    ("cogagent-18b", "screenshot-dashboard-1280x720", 1, "CogAgent cross-attention (1120 px high-resolution branch)"),
)
FROZEN_TOKENS, FROZEN_REPEATS, FROZEN_DTYPE = 16, 2, "bfloat16"
RAM_MARGIN = 1.10  # an entry runs when 1.1 x its memory estimate fits in the machine's RAM


def _ram_mb() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no MemTotal in /proc/meminfo")


def frozen_plan(ram_mb: float) -> tuple[dict[str, dict], list[str]]:
    """({model: {"prompts": [...], "batch_sizes": [...], "what": [...]}} of the entries that fit,
    [reason per entry that does not])."""
    from vlmbench.catalog import get
    from vlmbench.catalog.memory import estimate

    plan: dict[str, dict] = {}
    left_out = []
    for model, prompt, batch, what in FROZEN_TEST:
        need = estimate(get(model), batch, FROZEN_TOKENS, FROZEN_DTYPE, "cpu").total_mb
        if need * RAM_MARGIN > ram_mb:
            left_out.append(f"{model} {prompt} batch {batch} ({what}): needs about {need / 1024:.1f} GiB in "
                            f"{FROZEN_DTYPE}, this machine has {ram_mb / 1024:.1f} GiB")
            continue
        p = plan.setdefault(model, {"prompts": [], "batch_sizes": [], "what": []})
        for key, value in (("prompts", prompt), ("batch_sizes", batch), ("what", what)):
            if value not in p[key]:
                p[key].append(value)
    return plan, left_out


def _finished(run_dir: Path) -> bool:
    try:
        return bool(json.loads((run_dir / "manifest.json").read_text()).get("ended_at"))
    except (OSError, ValueError):
        return False


def _measure(cmd: list[str], lock: str | None) -> int:
    """Run one measurement, holding an exclusive flock on ``lock`` (if given) for its duration only."""
    import fcntl
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if not lock:
        return subprocess.run(cmd, env=env).returncode
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        print(f"  holding {lock} from {time.strftime('%H:%M:%S')}, load average {os.getloadavg()}", flush=True)
        try:
            return subprocess.run(cmd, env=env).returncode
        finally:
            print(f"  released {lock} at {time.strftime('%H:%M:%S')}, load average {os.getloadavg()}", flush=True)


def frozen_test(profile_path: str, out: Path, plan_only: bool, lock: str | None = None) -> int:
    import hashlib
    import os
    import subprocess

    from vlmbench.predict.fit import calibrated_models

    profile = load_profile(profile_path)
    frozen_models = {m for m, *_ in FROZEN_TEST}
    seen = calibrated_models(profile) & frozen_models
    if seen:
        print(f"--profile {profile_path}: calibrated on {', '.join(sorted(seen))}, which the frozen test holds out",
              file=sys.stderr)
        return 2
    plan, left_out = frozen_plan(_ram_mb())
    print("frozen test set:")
    for model, p in plan.items():
        print(f"  run  {model}: prompts {','.join(p['prompts'])}, batch {','.join(map(str, p['batch_sizes']))} "
              f"({'; '.join(p['what'])})")
    for reason in left_out:
        print(f"  not run (memory) {reason}")
    if plan_only:
        return 0
    if profile.device_type != "cpu":
        print(f"--profile {profile_path}: a {profile.device_type} profile; the frozen test runs on this CPU",
              file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    load_start = list(os.getloadavg())
    runs = []
    for model, p in plan.items():
        # the plan's cases only: one run per batch size, so a prompt is never run at a batch it is not listed with
        for batch in p["batch_sizes"]:
            prompts = [pr for m, pr, b, _ in FROZEN_TEST if m == model and b == batch]
            run_id = f"frozen-{model}-b{batch}"
            cmd = [sys.executable, "-m", "vlmbench", "run", "--model", model, "--prompts", ",".join(prompts),
                   "--batch-sizes", str(batch), "--repeats", str(FROZEN_REPEATS), "--warmup", "1",
                   "--max-new-tokens", str(FROZEN_TOKENS), "--dtype", FROZEN_DTYPE, "--device", "cpu",
                   "--out", str(out / "results"), "--run-id", run_id, "--no-progress"]
            if _finished(out / "results" / run_id):
                print(f"reusing the finished run {out / 'results' / run_id}", flush=True)
                runs.append(out / "results" / run_id)
                continue
            print("$ " + " ".join(cmd), flush=True)
            if _measure(cmd, lock) != 0:
                left_out.append(f"{model} batch {batch}: the run failed (see its output above)")
                continue
            runs.append(out / "results" / run_id)
    rows = load_rows(runs) if runs else []
    if not rows:
        print("no usable measured rows", file=sys.stderr)
        return 2
    report = validate(profile, rows)
    report["test_set"] = [dict(zip(("model_id", "prompt_id", "batch_size", "what"), e)) for e in FROZEN_TEST]
    report["not_run"] = left_out
    report["profile_sha256"] = hashlib.sha256(Path(profile_path).read_bytes()).hexdigest()
    report["git_commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                          text=True).stdout.strip()
    report["load_average_start"], report["load_average"] = load_start, list(os.getloadavg())
    (out / "frozen-test.json").write_text(json.dumps(report, indent=1))
    text = (format_report(report) + "\n\nnot run: " + ("; ".join(left_out) or "none")
            + f"\nprofile sha256 {report['profile_sha256']}, commit {report['git_commit']}, "
            f"load average at the start {report['load_average_start']}, at the end {report['load_average']}\n")
    (out / "frozen-test.txt").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", required=True)
    ap.add_argument("--runs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-budget", type=float, default=1e9, help="seconds for building op counts")
    ap.add_argument("--frozen-test", action="store_true",
                    help="run the frozen test set real-size on this CPU and validate --profile on it (no refit)")
    ap.add_argument("--plan-only", action="store_true", help="with --frozen-test: print what would run, run nothing")
    ap.add_argument("--lock", metavar="FILE",
                    help="with --frozen-test: hold an exclusive flock on FILE during each measured run only")
    args = ap.parse_args(argv)
    if not args.frozen_test and not args.runs:
        ap.error("--runs is required (or --frozen-test)")
    try:
        if args.frozen_test:
            return frozen_test(args.profile, Path(args.out), args.plan_only, args.lock)
        return _accuracy(args)
    except VlmbenchError as exc:
        print(f"predictor_accuracy: error: {exc}", file=sys.stderr)
        return 2


def _accuracy(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    out = Path(args.out)
    start = load_profile(args.profile)
    rows = load_rows(args.runs)
    if not rows:
        print("no usable measured rows", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    cache = CountCache()
    used, skipped = [], []
    for model in sorted({r["model_id"] for r in rows}):
        mine = [r for r in rows if r["model_id"] == model]
        if time.perf_counter() - t0 > args.time_budget:
            skipped.append(model)
            continue
        try:
            samples(mine, cache)
            used.extend(mine)
        except Exception as exc:  # noqa: BLE001 - report it and go on with the other models
            skipped.append(f"{model} ({type(exc).__name__}: {exc})")
    print(f"{len(used)} rows of {len({r['model_id'] for r in used})} models; left out: {skipped or 'none'} "
          f"({time.perf_counter() - t0:.0f} s)")
    calibrated = calibrate_on_rows(start, used, args.runs, cache)
    data = samples(used, cache)
    base = Profile.from_json(calibrated.base) if calibrated.base else start
    calibrated.interval, calibrated.interval_basis = lomo_intervals(base, data)
    write_profile(calibrated, out / "profile-calibrated.json")
    report = validate(calibrated, used, cache)
    report["left_out_models"] = skipped
    report["params"] = calibrated.to_json()["params"]
    (out / "validation.json").write_text(json.dumps(report, indent=1))
    text = format_report(report)
    blocks = report["blocks"]
    if "lomo" in blocks:
        lines = ["", "median |error|: held-out (LOMO) vs micro-benchmark only vs plain roofline (ratio roofline / LOMO)"]
        for stage in STAGES:
            lo, mi, rf = (blocks.get(b, {}).get(stage, {}) for b in ("lomo", "base", "roofline"))
            if lo.get("n"):
                ratio = (rf["median_abs"] / lo["median_abs"]) if rf.get("n") and lo["median_abs"] > 0 else float("nan")
                lines.append(f"  {stage:<12} LOMO {lo['median_abs']:6.1%}  micro {mi.get('median_abs', float('nan')):6.1%}"
                             f"  roofline {rf.get('median_abs', float('nan')):6.1%}  ratio {ratio:5.1f}x")
        text += "\n".join(lines)
    (out / "validation.txt").write_text(text + "\n")
    print(text)
    _per_row_csv(out / "predicted_vs_measured.csv", base, data)
    print(f"wrote {out} ({time.perf_counter() - t0:.0f} s)")
    return 0


def _per_row_csv(path: Path, base: Profile, data) -> None:
    lomo = {id(s): t for s, t in lomo_pairs(base, data)} if len({s.row["model_id"] for s in data}) >= 2 else {}
    micro = {id(s): t for s, t in predict_samples(base, base.params, data)}
    roof = {id(s): t for s, t in predict_samples(base, Params(), data, roofline=True)}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model_id", "prompt_id", "batch_size", "cold", "stage", "measured", "lomo", "micro", "roofline"])
        for s in data:
            for stage in STAGES:
                m = measured(s.row, stage)
                if m is None:
                    continue
                vals = [predicted(d[id(s)], stage) if id(s) in d else None for d in (lomo, micro, roof)]
                w.writerow([s.row["model_id"], s.row["prompt_id"], s.row["batch_size"], s.row.get("cold"), stage, m,
                            *["" if v is None else f"{v:.6g}" for v in vals]])


if __name__ == "__main__":
    sys.exit(main())
