"""``vlmbench models``: the catalog as a table or JSON."""

from __future__ import annotations

import argparse
import json

from vlmbench.cli.listargs import int_list

NAME = "models"
HELP = "list the model catalog (ids, systems, parameters, visual tokens, checkpoints)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--plugin", action="append", dest="plugins", default=[], metavar="MODULE")
    mem = p.add_argument_group("memory estimate (weights + KV cache + activations, see catalog/memory.py)")
    mem.add_argument("--memory", type=float, default=None, metavar="GIB",
                     help="print the memory estimate of every entry against a device with GIB of memory")
    mem.add_argument("--batch-sizes", type=int_list, default=[1], metavar="B,B", help="batch sizes to estimate (default 1)")
    mem.add_argument("--max-new-tokens", type=int, default=32)
    mem.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    mem.add_argument("--device-type", default="cuda", choices=("cuda", "cpu"))


def execute(args: argparse.Namespace) -> int:
    from vlmbench.catalog import all_entries, load_module
    from vlmbench.catalog.describe import describe_all, table

    for plugin in args.plugins:
        load_module(plugin)
    if args.memory is not None:
        from vlmbench.catalog.memory import memory_rows, memory_table
        mem_rows = memory_rows(all_entries(), args.memory, args.batch_sizes, args.max_new_tokens, args.dtype,
                               args.device_type)
        print(json.dumps(mem_rows, indent=2) if args.json else memory_table(mem_rows))
        return 0
    rows = describe_all(all_entries())
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(rows))
    return 0
