"""A suite as a campaign on a local, in-process Ray vs ``vlmbench run`` of the same suite.

Each round runs both, one after the other (the order alternates between rounds), as a user would:
``vlmbench run --suite S`` and ``vlmbench campaign FILE`` where FILE has one CPU target of this
machine and ``suite: S``. Reported:

- wall time of each command and the ratio campaign / run (target <= 1.15): what Ray adds (its
  start, the task, rows carried back) around the same measured work;
- per model, the median TTFT of the warm ok rows of each, their ratio, and whether the two are
  equal within noise: the difference of medians is within the larger interquartile range of the
  two (the times are taken by the same measure layer in a worker process either way).

Usage: ``python bench/campaign_vs_run.py [--suite default] [--models A,B] [--rounds 1]``.
``--models`` keeps only those models of the suite (to fit a shared machine). The machine may be
shared with other work: compare the ratio, and rerun when it is busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _suite_mapping(suite: str, models: list[str] | None) -> dict:
    from vlmbench.runner.suite import resolve_suite

    data = yaml.safe_load(resolve_suite(suite).read_text())
    if models:
        keep = set(models)
        data["models"] = [m for m in data["models"] if (m["id"] if isinstance(m, dict) else m) in keep]
    data.pop("name", None)
    data.pop("description", None)
    return data


def _cmd(args: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vlmbench", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"vlmbench {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def _ttft(csv: Path) -> dict[str, list[float]]:
    import vlmbench

    rows = vlmbench.load(csv)
    warm = rows[(rows["status"] == "ok") & ~rows["cold"].fillna(False).astype(bool) & rows["ttft_ms"].notna()]
    return {model: list(times) for model, times in warm.groupby("model_id")["ttft_ms"]}


def _iqr(values: list[float]) -> float:
    if len(values) < 4:
        return 0.0
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="default")
    ap.add_argument("--models", default="", help="comma-separated subset of the suite's models")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m] or None

    work = Path(tempfile.mkdtemp(prefix="vlmbench-campaign-vs-run-"))
    suite_file = work / "suite.yaml"
    suite_file.write_text(yaml.safe_dump({"name": "bench", **_suite_mapping(args.suite, models)}, sort_keys=False))
    campaign_file = work / "campaign.yaml"
    campaign_file.write_text(yaml.safe_dump({"name": "bench", "suite": str(suite_file),
                                             "targets": [{"label": "this-cpu", "device": "cpu"}]}, sort_keys=False))
    walls: dict[str, list[float]] = {"run": [], "campaign": []}
    ttft: dict[str, dict[str, list[float]]] = {"run": {}, "campaign": {}}
    for r in range(args.rounds):
        order = ("run", "campaign") if r % 2 == 0 else ("campaign", "run")
        for kind in order:
            out = work / f"{kind}-{r}"
            if kind == "run":
                wall = _cmd(["run", "--suite", str(suite_file), "--out", str(out), "--run-id", "r", "--no-progress"])
                csv = out / "r" / "requests.csv"
            else:
                wall = _cmd(["campaign", str(campaign_file), "--out", str(out), "--no-progress"])
                csv = next((out / "bench" / "this-cpu").glob("*/requests.csv"))
            walls[kind].append(wall)
            for model, values in _ttft(csv).items():
                ttft[kind].setdefault(model, []).extend(values)
            print(f"round {r + 1} {kind:>8}: {wall:.1f} s", flush=True)

    ratio = statistics.median(walls["campaign"]) / statistics.median(walls["run"])
    print(f"\nwall: run {statistics.median(walls['run']):.1f} s, campaign {statistics.median(walls['campaign']):.1f} s, "
          f"ratio campaign/run {ratio:.3f} ({'<=' if ratio <= 1.15 else '>'} 1.15)")
    print(f"\n{'model':<28} {'run TTFT':>10} {'campaign':>10} {'ratio':>7} {'IQR max':>9}  equal within noise")
    all_equal = True
    for model in ttft["run"]:
        a, b = ttft["run"][model], ttft["campaign"].get(model, [])
        if not b:
            print(f"{model:<28} no campaign rows")
            all_equal = False
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        noise = max(_iqr(a), _iqr(b), 0.05 * ma)
        equal = abs(ma - mb) <= noise
        all_equal &= equal
        print(f"{model:<28} {ma:>10.1f} {mb:>10.1f} {mb / ma:>7.3f} {noise:>9.1f}  {'yes' if equal else 'NO'}")
    print(f"\nall per-model medians equal within noise: {'yes' if all_equal else 'NO'}; files in {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
