"""``vlmbench publish RUN_DIR... --archive DIR [--allow-partial]``: add finished runs (or every run
of a campaign folder) to an append-only archive. Exit 0 when every run was added or was already
there, 2 when any run was refused (the others are still published)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "publish"
HELP = "copy finished runs (or campaign folders) into an append-only archive with a checksummed index"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders, or folders above them (a campaign)")
    p.add_argument("--archive", type=Path, required=True, metavar="DIR", help="archive folder (created when missing)")
    p.add_argument("--allow-partial", action="store_true",
                   help="archive runs with missing or torn rows, marked partial, instead of refusing them")
    p.add_argument("--wait", type=float, default=None, metavar="S",
                   help="wait at most S seconds for another publisher's lock (default: as long as it takes)")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.archive.lock import LockTimeout
    from vlmbench.archive.publish import REFUSED, publish
    from vlmbench.errors import UsageError

    try:
        outcomes = publish(args.runs, args.archive, allow_partial=args.allow_partial, wait_s=args.wait)
    except LockTimeout as exc:
        raise UsageError(f"--archive {args.archive}: another publisher is still running ({exc})") from None
    refused = [o for o in outcomes if o.status == REFUSED]
    for o in outcomes:
        print(o.line(), file=sys.stderr if o.status == REFUSED else sys.stdout)
    added = sum(o.status == "added" for o in outcomes)
    print(f"archive {args.archive}: {added} added, {len(outcomes) - added - len(refused)} already there, "
          f"{len(refused)} refused")
    return 2 if refused else 0
