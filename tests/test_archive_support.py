"""Shared material for the archive / history / gate / archive-site tests (no tests here).

Real runs, made once per test session (the cost is the tiny model's worker start, seconds each):

- :func:`real_runs` : REAL runs ``R1``, ``R2``, ``R4`` of the runner with one configuration (tiny
  LLaVA at batch sizes 1 and 2, 2 prompts x 3 repeats, 4 tokens), one after the other;
- :func:`cycle_outcome` : ``vlmbench cycle`` (its CLI entry point) measuring a third REAL run ``R3``
  of the same configuration into its own archive (publish -> gate -> site), so the cycle test
  costs no extra run.

Built from them by copying (``test_report_support.copy_run``: rows rewritten through the real
RowWriter, run id and dates rewritten, as the history needs runs on distinct days):

- :func:`series_archive` : 8 daily runs, 2026-01-01..08 = copies of R1, each scaled as a whole by
  a known between-run factor (:data:`DAY_FACTORS`, about 4 % run-to-run), and from day 6 on the
  batch-2 cell slowed by :data:`SLOW_FACTOR` (times x F, rates / F): the known regression, a
  persistent one (days 6-8), as a bad commit would cause. The batch-1 cell gets the day factors
  only. Every ratio between days is known exactly, whatever the machine did while R1 was measured
  (a derived factor broke once when the machine stalled: 18 million).
- :func:`aa_archive` : 5 daily copies of R1, R3 and R4 (R1 R3 R4 R1 R3), the history a real
  re-run R2 (not a copy) is gated against.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Optional

from conftest import TINY, few_prompt_ids
from test_report_support import copy_run, slowed_down

from vlmbench.results.reader import read_rows

SLOW_SCENARIO = "b2-n4"
KEPT_SCENARIO = "b1-n4"
SERIES_DAYS = 8
FIRST_SLOW_DAY = 6
DAY_FACTORS = (1.00, 1.05, 0.96, 1.02, 0.98, 1.03, 0.97, 1.01)
SLOW_FACTOR = 1.5
RUN_ARGS = ("run", "--model", TINY, "--prompts", ",".join(few_prompt_ids(2)), "--batch-sizes", "1,2",
            "--repeats", "3", "--max-new-tokens", "4", "--warmup", "1", "--no-progress")

_SESSION: dict[str, Any] = {}


def real_runs(tmp_path_factory) -> dict[str, Path]:
    """{"R1", "R2", "R4": run dir}: real runs, same configuration, one after the other."""
    if "real" not in _SESSION:
        from vlmbench.config import RunConfig
        from vlmbench.runner import run_benchmark

        out = tmp_path_factory.mktemp("archive-real")
        runs = {}
        for name in ("R1", "R2", "R4"):
            config = RunConfig(models=[TINY], max_new_tokens=4, repeats=3, warmup=1, prompts=few_prompt_ids(2),
                               batch_sizes=[1, 2], out=out, run_id=f"real-{name.lower()}", progress=False)
            runs[name] = run_benchmark(config).run_dir
        _SESSION["real"] = runs
    return _SESSION["real"]


def cycle_outcome(tmp_path_factory) -> dict[str, Any]:
    """One real ``vlmbench cycle`` (the CLI entry point, in this process so the tiny model's
    libraries are not imported once more) measuring R3 into an empty archive."""
    if "cycle" not in _SESSION:
        import contextlib
        import io
        import subprocess

        from vlmbench.cli import main

        root = tmp_path_factory.mktemp("cycle")
        results, archive, site = root / "results", root / "archive", root / "site"
        out, err = io.StringIO(), io.StringIO()
        argv = ["cycle", "--archive", str(archive), "--site", str(site), "--results", str(results),
                "--", *RUN_ARGS, "--run-id", "real-r3"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
        proc = subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())
        _SESSION["cycle"] = {"proc": proc, "results": results, "archive": archive, "site": site,
                             "run_dir": results / "real-r3"}
    return _SESSION["cycle"]


def all_real(tmp_path_factory) -> dict[str, Path]:
    runs = dict(real_runs(tmp_path_factory))
    outcome = cycle_outcome(tmp_path_factory)
    assert outcome["proc"].returncode == 0, outcome["proc"].stdout + outcome["proc"].stderr
    runs["R3"] = outcome["run_dir"]
    return runs


def day(n: int) -> dt.datetime:
    return dt.datetime(2026, 1, n, 3, 0, tzinfo=dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def dated_copy(src: Path, root: Path, run_id: str, when: dt.datetime,
               change_row: Optional[Callable[[dict], list[dict]]] = None,
               change_manifest: Callable[[dict], None] = lambda m: None) -> Path:
    """A copy of a real run under ``run_id``, moved in time so that it started at ``when`` (every
    row's ``started_at`` shifted by the same amount, so their order is kept)."""
    rows = read_rows(src / "requests.csv")
    starts = [dt.datetime.fromisoformat(str(r["started_at"]).replace("Z", "+00:00")) for r in rows if r["started_at"]]
    shift = when - min(starts)

    def rows_of(row: dict) -> list[dict]:
        if row["started_at"]:
            t = dt.datetime.fromisoformat(str(row["started_at"]).replace("Z", "+00:00")) + shift
            row = dict(row, started_at=t.isoformat().replace("+00:00", "Z"))
        return change_row(row) if change_row else [row]

    def manifest(m: dict) -> None:
        m["started_at"] = _iso(when)
        m["ended_at"] = _iso(when + dt.timedelta(minutes=5))
        change_manifest(m)

    return copy_run(src, root, run_id, rows_of, manifest)


def expected_ratio(day_n: int, slowed: bool) -> float:
    """The cost ratio of day ``day_n`` against the median of the five days before it (copies of
    one run scaled by known factors: exact up to the CSV's rounding)."""
    base = sorted(DAY_FACTORS[day_n - 6:day_n - 1])[2]
    return DAY_FACTORS[day_n - 1] * (SLOW_FACTOR if slowed else 1.0) / base


def _day_change(n: int) -> Callable[[dict], list[dict]]:
    whole = slowed_down(DAY_FACTORS[n - 1])
    slow = slowed_down(SLOW_FACTOR)
    return lambda row: [x for r in whole(row) for x in (slow(r) if n >= FIRST_SLOW_DAY
                                                          and r["scenario"] == SLOW_SCENARIO else [r])]


def series_runs(tmp_path_factory) -> dict[str, Any]:
    """The dated copies of the series (not yet published): {"dirs": [day1..day8], "factor": F}."""
    if "series" not in _SESSION:
        source = real_runs(tmp_path_factory)["R1"]
        root = tmp_path_factory.mktemp("series-runs")
        dirs = [dated_copy(source, root, f"day{n}", day(n), _day_change(n)) for n in range(1, SERIES_DAYS + 1)]
        _SESSION["series"] = {"dirs": dirs, "factor": SLOW_FACTOR, "root": root}
    return _SESSION["series"]


def series_archive(tmp_path_factory) -> Path:
    """The 8-day series published into an archive (one publish call per day, as a schedule would)."""
    if "series_archive" not in _SESSION:
        dirs = series_runs(tmp_path_factory)["dirs"]
        archive = tmp_path_factory.mktemp("series-archive") / "archive"
        from vlmbench.archive.publish import ADDED, publish

        for d in dirs:
            assert [o.status for o in publish([d], archive)] == [ADDED]
        _SESSION["series_archive"] = archive
    return _SESSION["series_archive"]


def aa_archive(tmp_path_factory) -> Path:
    """Copies of R1, R3 and R4 on days 1-5 (R1 R3 R4 R1 R3): the history for the real re-run R2."""
    if "aa_archive" not in _SESSION:
        runs = all_real(tmp_path_factory)
        root = tmp_path_factory.mktemp("aa-runs")
        archive = tmp_path_factory.mktemp("aa-archive") / "archive"
        from vlmbench.archive.publish import publish

        for n, source in enumerate(("R1", "R3", "R4", "R1", "R3"), start=1):
            publish([dated_copy(runs[source], root, f"aa-day{n}", day(n))], archive)
        _SESSION["aa_archive"] = archive
    return _SESSION["aa_archive"]
