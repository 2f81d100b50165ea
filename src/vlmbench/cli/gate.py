"""``vlmbench gate NEW_RUN --archive DIR [--threshold 5] [--last K]``: regression gate of a new run
against the archive's history. Exit 1 when a cell is significantly slower by more than the
threshold beyond the archive's between-run spread (see METRICS.md, "Regression gate")."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "gate"
HELP = "fail (exit 1) when a new run is slower than the archive's last K runs beyond noise and threshold"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vlmbench.archive.gate import DEFAULT_LAST_K, DEFAULT_THRESHOLD_PCT

    p.add_argument("runs", nargs="+", metavar="NEW_RUN", help="run folder(s) to check (published or not)")
    p.add_argument("--archive", type=Path, required=True, metavar="DIR")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD_PCT, metavar="PCT",
                   help=f"slowdown tolerated beyond the between-run spread, percent (default {DEFAULT_THRESHOLD_PCT:g})")
    p.add_argument("--last", type=int, default=DEFAULT_LAST_K, metavar="K",
                   help=f"baseline: the last K archived runs of each cell (default {DEFAULT_LAST_K})")
    p.add_argument("--json", type=Path, default=None, metavar="FILE",
                   help="also write every check (verdict, ratio, bounds, spread, minimum detectable slowdown) as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="print every cell and metric, not only changes")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.archive.gate import gate_runs, report_lines
    from vlmbench.errors import UsageError
    from vlmbench.results.archive_index import is_archive

    if not is_archive(args.archive):
        raise UsageError(f"--archive {args.archive}: not an archive (no index.json); publish runs into it first")
    if args.last < 1:
        raise UsageError(f"--last {args.last}: must be at least 1")
    if args.threshold < 0:
        raise UsageError(f"--threshold {args.threshold:g}: must not be negative")
    results = gate_runs(args.runs, args.archive, args.threshold, args.last)
    for result in results:
        for line in report_lines(result, verbose=args.verbose):
            print(line)
    if args.json is not None:
        from vlmbench.vocab.files import write_json_atomic

        write_json_atomic(args.json, {"gates": [r.record() for r in results]}, default=str)
    return 0 if all(r.passed for r in results) else 1
