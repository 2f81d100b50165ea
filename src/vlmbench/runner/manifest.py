"""``manifest.json``: resolved configuration, prompt set, environment, per-model facts, times.

Written atomically (temporary file + rename) at the start and updated at the end of a run,
so a killed run still leaves a readable manifest. No secrets are ever written: the config
holds the *name* of an API-key variable at most, never its value.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from vlmbench.vocab.files import MANIFEST_FILE, MANIFEST_VERSION


def write_manifest(run_dir: Path, data: dict[str, Any]) -> None:
    data = {"manifest_version": MANIFEST_VERSION, **data}
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=run_dir)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")
    os.replace(tmp, run_dir / MANIFEST_FILE)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / MANIFEST_FILE
    if not path.exists():
        return {}
    with open(path) as fh:
        return json.load(fh)
