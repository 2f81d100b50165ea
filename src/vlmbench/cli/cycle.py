"""``vlmbench cycle --archive DIR --site SITE [--results DIR] [--wait S] [--no-confirm] -- run ARGS...``:
one scheduled cycle in one command: the measuring command (``run ...`` or a campaign), the gate
of each run it wrote against the archive (before publishing it: the new run never counts in its
own noise), a re-measurement of the failing cells that must fail too (``--confirm``, default),
the publish of the runs, and the site rebuilt from the archive.

Exit 0 all well; 1 the gate failed; 2 a run was refused by publish (or bad input); 75 another
cycle holds the archive's cycle lock beyond ``--wait``; otherwise the measuring command's code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "cycle"
HELP = "one scheduled cycle: run (or campaign) -> gate (confirmed) -> publish -> site, locked against overlapping cycles"
LOCKED_EXIT = 75  # EX_TEMPFAIL: try again later


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archive", type=Path, required=True, metavar="DIR")
    p.add_argument("--site", type=Path, default=None, metavar="SITE", help="rebuild this static site from the archive")
    p.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                   help="where the measuring command writes run folders (default: results; "
                        "'run' without --out is given --out DIR)")
    p.add_argument("--wait", type=float, default=0.0, metavar="S",
                   help="wait up to S seconds for a running cycle to finish (default 0: exit 75 at once)")
    p.add_argument("--threshold", type=float, default=5.0, metavar="PCT", help="gate threshold (default 5)")
    p.add_argument("--last", type=int, default=5, metavar="K", help="gate baseline: last K runs (default 5)")
    p.add_argument("--confirm", action=argparse.BooleanOptionalAction, default=True,
                   help="when the gate fails, measure the failing cells again and fail only where the re-run "
                        "fails too (default on; --no-confirm fails on the first measurement)")
    p.add_argument("--allow-partial", action="store_true", help="publish runs with missing rows, marked partial")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                   help="the measuring vlmbench command after '--', e.g. -- run --suite default")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.archive.cycle import command_argv, confirm_argv, run_cycle
    from vlmbench.archive.gate import report_lines
    from vlmbench.archive.lock import LockTimeout
    from vlmbench.cli import main as vlmbench_main
    from vlmbench.cli.site import project_metrics_file
    from vlmbench.errors import UsageError
    from vlmbench.archive_site.build import build_archive_site

    argv = command_argv(args.command, args.results)
    if not argv:
        raise UsageError("cycle: give the measuring command after '--', e.g. -- run --suite default")
    if argv[0] == NAME:
        raise UsageError("cycle: the measuring command cannot be another cycle")
    metrics = project_metrics_file()
    markdown = metrics.read_text(encoding="utf-8") if metrics else None

    def site(archive: Path, out: Path) -> Path:
        return build_archive_site(archive, out, metrics_markdown=markdown).index

    def again(failed) -> int:
        models = sorted({str(c.cell["model_id"]) for g in failed for c in g.regressions})
        return vlmbench_main(confirm_argv(argv, models))

    try:
        result = run_cycle(lambda: vlmbench_main(argv), args.results, args.archive, args.site, site,
                           wait_s=args.wait, threshold_pct=args.threshold, last_k=args.last,
                           allow_partial=args.allow_partial, confirm_command=again if args.confirm else None)
    except LockTimeout as exc:
        print(f"vlmbench cycle: another cycle is running on {args.archive} ({exc}); not starting this one",
              file=sys.stderr)
        return LOCKED_EXIT
    for gate in result.gates:
        for line in report_lines(gate):
            print(line)
    return result.exit_code
