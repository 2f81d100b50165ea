"""``vlmbench compare RUN_A RUN_B``: B over A per model, with significance; ``--fail-above`` for CI."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "compare"
HELP = "compare run B against run A: median ratios, Mann-Whitney significance, exit 1 on regression"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vlmbench.report.compare import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT_PCT

    p.add_argument("run_a", metavar="RUN_A", help="baseline run folder")
    p.add_argument("run_b", metavar="RUN_B", help="run folder compared against the baseline")
    p.add_argument("--fail-above", type=float, default=None, metavar="PCT",
                   help="exit 1 when any metric is significantly worse than A by more than PCT percent")
    p.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT_PCT, metavar="PCT",
                   help=f"changes smaller than PCT percent never count (default {DEFAULT_MIN_EFFECT_PCT:g})")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                   help=f"significance level of the Mann-Whitney U test (default {DEFAULT_ALPHA:g})")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE", help="also write the comparison as CSV")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.errors import UsageError
    from vlmbench.report.compare import COMPARISON_COLUMNS, compare_runs, comparison_records, comparison_text
    from vlmbench.report.export_csv import write_csv
    from vlmbench.report.runs import load_run

    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha {args.alpha:g}: expected a number between 0 and 1")
    if args.min_effect < 0 or (args.fail_above is not None and args.fail_above < 0):
        raise UsageError("--min-effect and --fail-above take a percentage >= 0")
    comparison = compare_runs(load_run(args.run_a), load_run(args.run_b), args.alpha, args.min_effect)
    print(comparison_text(comparison))
    if args.csv:
        write_csv(args.csv, COMPARISON_COLUMNS, comparison_records(comparison))
    if args.fail_above is None:
        return 0
    regressions = comparison.regressions(args.fail_above)
    for r in regressions:
        print(f"REGRESSION: {r.model_id} / {r.scenario}: {r.metric.label} worse by {r.worse_pct:.1f}% "
              f"(> {args.fail_above:g}%, p={r.p_value:.3g})")
    if regressions:
        return 1
    print(f"no significant regression beyond {args.fail_above:g}%")
    return 0
