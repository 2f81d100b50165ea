"""``vlmbench archive verify DIR``: check every archived file against its recorded sha256."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "archive"
HELP = "archive maintenance: 'verify DIR' checks every archived file against its recorded checksum"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="archive_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", help="check every file against the index's sha256 (exit 1 when any differs)")
    verify.add_argument("archive", type=Path, metavar="DIR")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.archive.verify import verify_archive

    result = verify_archive(args.archive)
    for line in result.problems:
        print(f"BAD: {line}", file=sys.stderr)
    for line in result.notes:
        print(f"note: {line}")
    state = "OK" if result.ok else f"{len(result.problems)} problem(s)"
    print(f"archive {args.archive}: {result.runs} runs, {result.files} files checked: {state}")
    return 0 if result.ok else 1
