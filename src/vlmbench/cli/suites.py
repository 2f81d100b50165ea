"""``vlmbench suites``: the built-in suites."""

from __future__ import annotations

import argparse

NAME = "suites"
HELP = "list the built-in suites (use one with `vlmbench run --suite NAME`)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show", metavar="NAME", help="print the suite file")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.errors import UsageError
    from vlmbench.runner.suite import builtin_suite_path, builtin_suites, parse_suite

    if args.show:
        path = builtin_suite_path(args.show)
        if path is None:
            raise UsageError(f"--show {args.show!r}: no such built-in suite")
        print(path.read_text(), end="")
        return 0
    for name, description, path in builtin_suites():
        values, _ = parse_suite(path)
        print(f"{name:10s} {len(values['models']):3d} models  {description}")
        print(f"{'':10s} {path}")
    return 0
