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
from vlmbench.predict.validate import (STAGES, _measured, _predict, _predicted, format_report,  # noqa: E402
                                       lomo_pairs, validate)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", required=True)
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--time-budget", type=float, default=1e9, help="seconds for building op counts")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = load_profile(args.profile)
    rows = load_rows(args.runs)
    if not rows:
        print("no usable measured rows", file=sys.stderr)
        return 2
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
    calibrated.interval = lomo_intervals(base, data)
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
    micro = {id(s): t for s, t in _predict(base, base.params, data)}
    roof = {id(s): t for s, t in _predict(base, Params(), data, roofline=True)}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model_id", "prompt_id", "batch_size", "cold", "stage", "measured", "lomo", "micro", "roofline"])
        for s in data:
            for stage in STAGES:
                m = _measured(s.row, stage)
                if m is None:
                    continue
                vals = [_predicted(d[id(s)], stage) if id(s) in d else None for d in (lomo, micro, roof)]
                w.writerow([s.row["model_id"], s.row["prompt_id"], s.row["batch_size"], s.row.get("cold"), stage, m,
                            *["" if v is None else f"{v:.6g}" for v in vals]])


if __name__ == "__main__":
    sys.exit(main())
