"""``vlmbench models``: the catalog as a table or JSON."""

from __future__ import annotations

import argparse
import json

NAME = "models"
HELP = "list the model catalog (ids, systems, parameters, visual tokens, checkpoints)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--plugin", action="append", dest="plugins", default=[], metavar="MODULE")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.catalog import all_entries, load_module
    from vlmbench.catalog.describe import describe_all, table

    for plugin in args.plugins:
        load_module(plugin)
    rows = describe_all(all_entries())
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
    return 0
