"""The archive's ``index.json``: one versioned file listing every archived run.

It is a results file format (like ``requests.csv`` and ``manifest.json``), so it lives in the
results layer: :func:`vlmbench.results.load` reads an archive through it, and the archive
package (publish, verify, history, gate) writes it.

Format (``archive_version`` "1")::

    {"archive_format": "vlmbench-archive", "archive_version": "1",
     "runs": [{"run_id", "path", "hardware", "date", "started_at", "ended_at", "published_at",
               "partial", "rows", "rows_expected", "schema_versions", "models", "scenarios",
               "promptset_versions", "campaign", "source", "content_sha256",
               "files": {"requests.csv": {"sha256", "bytes"}, ...}}, ...]}

``path`` is relative to the archive folder (``runs/<hardware-slug>/<YYYY-MM-DD>/<run_id>``).
Readers accept exactly ``READABLE_ARCHIVE_VERSIONS`` and refuse anything else with one line.
The index is only ever replaced whole (temporary file + rename), under the archive's lock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vlmbench.errors import SchemaError
from vlmbench.vocab.files import write_json_atomic

INDEX_FILE = "index.json"
ARCHIVE_FORMAT = "vlmbench-archive"
ARCHIVE_VERSION = "1"
READABLE_ARCHIVE_VERSIONS = ("1",)


def is_archive(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding an archive index."""
    return (Path(path) / INDEX_FILE).is_file()


def empty_index() -> dict[str, Any]:
    return {"archive_format": ARCHIVE_FORMAT, "archive_version": ARCHIVE_VERSION, "runs": []}


def read_index(archive: str | os.PathLike) -> dict[str, Any]:
    """The index of ``archive``; an empty one where the folder has none yet. Refuses other versions."""
    path = Path(archive) / INDEX_FILE
    if not path.exists():
        return empty_index()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(f"{path}: not a readable archive index ({exc})") from None
    if not isinstance(data, dict) or data.get("archive_format") != ARCHIVE_FORMAT:
        raise SchemaError(f"{path}: not a vlmbench archive index")
    version = str(data.get("archive_version"))
    if version not in READABLE_ARCHIVE_VERSIONS:
        raise SchemaError(f"{path}: archive version {version!r} is not one this vlmbench reads "
                          f"({', '.join(READABLE_ARCHIVE_VERSIONS)}); use the vlmbench release that wrote it")
    if not isinstance(data.get("runs"), list):
        raise SchemaError(f"{path}: archive index has no list of runs")
    return data


def write_index(archive: str | os.PathLike, index: dict[str, Any]) -> None:
    """Replace the index atomically (temporary file in the same folder, fsync, rename)."""
    folder = Path(archive)
    index = {**index, "archive_format": ARCHIVE_FORMAT, "archive_version": ARCHIVE_VERSION}
    index["runs"] = sorted(index["runs"], key=lambda e: (str(e.get("started_at") or ""), str(e["run_id"])))
    write_json_atomic(folder / INDEX_FILE, index, indent=1, sort_keys=True)
