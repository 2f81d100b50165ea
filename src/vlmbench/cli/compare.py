"""``vlmbench compare RUN_A RUN_B``: B over A per model and prompt (paired); ``--fail-above`` for CI.

Between-run noise comes from ``--archive DIR`` (the archive's history of run medians,
:mod:`vlmbench.archive.noise`) or ``--between-run-noise PCT``; without either (or where the
history is too short) a 10 % between-run spread is assumed, as the gate does, and every verdict
line says ``assumed`` (see :mod:`vlmbench.report.compare`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

NAME = "compare"
HELP = "compare run B against run A per prompt (paired), with between-run noise from an archive; exit 1 on regression"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vlmbench.report.compare import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT_PCT

    p.add_argument("run_a", metavar="RUN_A", help="baseline run folder")
    p.add_argument("run_b", metavar="RUN_B", help="run folder compared against the baseline")
    p.add_argument("--fail-above", type=float, default=None, metavar="PCT",
                   help="exit 1 when any metric is a regression (beyond min effect and between-run noise) worse "
                        "than A by more than PCT percent")
    p.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT_PCT, metavar="PCT",
                   help=f"changes smaller than PCT percent never count (default {DEFAULT_MIN_EFFECT_PCT:g})")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                   help=f"significance level of the within-run paired test (default {DEFAULT_ALPHA:g})")
    p.add_argument("--archive", type=Path, default=None, metavar="DIR",
                   help="an archive holding a history of runs of these cells: their between-run spread decides "
                        "what is noise")
    p.add_argument("--between-run-noise", type=float, default=None, metavar="PCT",
                   help="how far two runs of unchanged code on this machine differ (percent), measured by you; "
                        "a change counts only beyond it")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE", help="also write the comparison as CSV")


def archive_noise(archive: Path) -> tuple[Any, str]:
    """A noise lookup from the archive's between-run spread (None for a cell with no history)."""
    from vlmbench.errors import UsageError
    from vlmbench.results import load

    try:
        from vlmbench.archive.noise import between_run_spread, sigma_for
        from vlmbench.archive.series import CELL_KEYS
        from vlmbench.report.compare import allowance_pct
    except ImportError as exc:  # an install without the archive package
        raise UsageError(f"--archive {archive}: this vlmbench has no archive support ({exc})") from None
    if not archive.is_dir():
        raise UsageError(f"--archive {archive}: no such archive folder")
    spread = between_run_spread(load(archive))

    def lookup(a: Any, b: Any, metric: Any) -> Optional[tuple[float, str]]:
        cell = {"model_id": b.model_id, "hardware": b.hardware, "scenario": b.scenario,
                "promptset_version": b.promptset_version}
        sigma, source = sigma_for(spread, cell, metric.column, keys=CELL_KEYS)
        if source == "assumed":
            return None  # too little history: the assumed spread, marked so
        return allowance_pct(sigma), f"archive ({source})"

    note = (f"from the history in {archive} (95 % band of the difference of two run medians, "
            "exp(1.96 sqrt(2) sigma) - 1)")
    return lookup, note


def execute(args: argparse.Namespace) -> int:
    from vlmbench.errors import UsageError
    from vlmbench.report.compare import (
        ASSUMED,
        COMPARISON_COLUMNS,
        NOT_JUDGED,
        compare_runs,
        comparison_records,
        comparison_text,
        fixed_noise,
    )
    from vlmbench.report.export_csv import write_csv
    from vlmbench.report.runs import load_run

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha:g}: expected a number between 0 and 1")
    if args.min_effect < 0 or (args.fail_above is not None and args.fail_above < 0):
        raise UsageError("--min-effect and --fail-above take a percentage >= 0")
    if args.between_run_noise is not None and args.between_run_noise < 0:
        raise UsageError("--between-run-noise takes a percentage >= 0")
    if args.between_run_noise is not None and args.archive is not None:
        raise UsageError("--between-run-noise and --archive: give one source of between-run noise")
    run_a, run_b = load_run(args.run_a), load_run(args.run_b)
    noise, note = None, ""
    if args.archive is not None:
        noise, note = archive_noise(args.archive)
    elif args.between_run_noise is not None:
        noise = fixed_noise(args.between_run_noise)
        note = f"±{args.between_run_noise:g}% as stated with --between-run-noise"
    comparison = compare_runs(run_a, run_b, args.alpha, args.min_effect, noise=noise, noise_note=note)
    print(comparison_text(comparison))
    if args.csv:
        write_csv(args.csv, COMPARISON_COLUMNS, comparison_records(comparison))
    if args.fail_above is None:
        return 0
    for r in comparison.not_judged():
        print(f"NOT JUDGED: {r.model_id} / {r.scenario}: {r.metric.label}: {r.reason}")
    regressions = comparison.regressions(args.fail_above)
    for r in regressions:
        assumed = " (assumed: no measured between-run noise)" if r.noise_source == ASSUMED else ""
        print(f"REGRESSION: {r.model_id} / {r.scenario}: {r.metric.label} worse by {r.worse_pct:.1f}% "
              f"(> {args.fail_above:g}%, beyond between-run noise ±{r.noise_pct:.1f}%{assumed}, "
              f"{r.test} p={r.p_value:.3g})")
    if regressions:
        return 1
    judged = len(comparison.rows) - len(comparison.not_judged())
    if not judged:
        print(f"compare: NOT JUDGED: none of the {len(comparison.rows)} metric(s) could be judged (reasons above)")
        return 0
    assumed = any(r.noise_source == ASSUMED for r in comparison.rows if r.verdict != NOT_JUDGED)
    print(f"no significant regression beyond {args.fail_above:g}% in the {judged} judged metric(s)"
          + (f"; {len(comparison.not_judged())} NOT JUDGED (above)" if comparison.not_judged() else "")
          + (" (between-run noise assumed)" if assumed else ""))
    return 0
