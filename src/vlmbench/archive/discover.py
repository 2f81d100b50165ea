"""The run folders named by publish's arguments: run folders themselves, or any folder above
them (a campaign's ``results/<campaign>/``, a results root), searched recursively."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from vlmbench.errors import UsageError
from vlmbench.results.reader import REQUESTS_FILE


def run_dirs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if (p / REQUESTS_FILE).is_file():
            found.append(p)
        elif p.is_dir():
            below = sorted(q.parent for q in p.rglob(REQUESTS_FILE)
                           if q.is_file() and not any(part.startswith(".") for part in q.relative_to(p).parts))
            if not below:
                raise UsageError(f"{p}: no run folder ({REQUESTS_FILE}) in this folder or below it")
            found.extend(below)
        else:
            raise UsageError(f"{p}: no such run folder")
    unique: dict[Path, Path] = {}
    for d in found:
        unique.setdefault(d.resolve(), d)  # results/latest and the run it points to: once
    return list(unique.values())
