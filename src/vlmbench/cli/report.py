"""``vlmbench report``: summary.csv, tables.md, index.html and charts from run folders."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "report"
HELP = "response-time tables, summary statistics and charts from one or more run folders"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) holding requests.csv and manifest.json")
    p.add_argument("-o", "--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default: reports/<first run id>)")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.report.build import build_report
    from vlmbench.report.runs import load_run

    out = args.out or Path("reports") / load_run(args.runs[0]).run_id
    report = build_report(args.runs, out)
    print(f"{len(report.summaries)} summary rows from {len(report.runs)} run(s), {len(report.charts)} charts")
    for path in report.files:
        print(path)
    return 0
