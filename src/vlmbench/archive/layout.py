"""Where things are inside an archive folder::

    index.json                                   the index (results/archive_index.py)
    .lock                                        flock'ed by every publisher (never removed)
    .cycle.lock                                  flock'ed by ``vlmbench cycle`` for a whole cycle
    .incoming-<random>/                          a run being copied in (renamed into runs/ when complete)
    runs/<hardware-slug>/<YYYY-MM-DD>/<run_id>/  one archived run: its files, never modified
"""

from __future__ import annotations

import re
from pathlib import Path

from vlmbench.vocab.slug import slug

RUNS_DIR = "runs"
LOCK_FILE = ".lock"
CYCLE_LOCK_FILE = ".cycle.lock"
INCOMING_PREFIX = ".incoming-"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def valid_run_id(run_id: str) -> bool:
    """A run id usable as a folder name (no separators, no leading dot)."""
    return bool(_RUN_ID.match(run_id or ""))


def run_path(hardware: str, date: str, run_id: str) -> str:
    """The archive-relative folder of a run (posix separators, as stored in the index)."""
    return f"{RUNS_DIR}/{slug(hardware or 'unknown')}/{date}/{run_id}"


def incoming_dirs(archive: Path) -> list[Path]:
    return sorted(p for p in Path(archive).glob(INCOMING_PREFIX + "*") if p.is_dir())
