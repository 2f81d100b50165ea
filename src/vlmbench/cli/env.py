"""``vlmbench env``: the hardware and software fingerprint as JSON."""

from __future__ import annotations

import argparse
import json

NAME = "env"
HELP = "print the hardware and software fingerprint as JSON"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def execute(args: argparse.Namespace) -> int:
    from vlmbench.measure.fingerprint import fingerprint

    print(json.dumps(fingerprint(), indent=2))
    return 0
