"""Command line entry point. Each subcommand lives in its own module in this package and is
listed once in ``SUBCOMMANDS``; a module exposes ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``execute(args) -> int``.

Errors with a message for the user (``VlmbenchError``) become one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from vlmbench.version import __version__
from vlmbench.errors import VlmbenchError

# One line per subcommand: the module (in vlmbench.cli) that implements it.
SUBCOMMANDS: tuple[str, ...] = (
    "run",
    "models",
    "suites",
    "env",
    "report",
    "compare",
    "site",
    "campaign",
    "calibrate",
    "predict",
    "publish",
    "archive",
    "history",
    "gate",
    "cycle",
    "engine",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments already; keep its one-line message."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vlmbench", description="Response-time benchmark for vision-language models.")
    parser.add_argument("--version", action="version", version=f"vlmbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"vlmbench.cli.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_execute=module.execute)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_execute", None):
        parser.print_help()
        return 2
    try:
        return int(args._execute(args) or 0)
    except VlmbenchError as exc:
        print(f"vlmbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vlmbench {args.command}: interrupted; rows already measured are on disk", file=sys.stderr)
        return 130
