"""Names of the files a run folder holds (written by the runner, read by report and archive),
and the one way every vlmbench file is written: atomically (:func:`write_atomic`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

REQUESTS_FILE = "requests.csv"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = "1"
CAMPAIGN_FILE = "campaign.json"  # results/<campaign>/campaign.json: targets, jobs, where each ran
CAMPAIGN_VERSION = "1"


def write_atomic(path: "str | os.PathLike[str]", text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) all at once: a temporary file in the same folder,
    flushed to disk, then renamed over it; a reader sees the old file or the new one, never a
    part, and a failure leaves the old file and no temporary one. The folder is created if
    needed; the file is readable by everyone (``0o644``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: "str | os.PathLike[str]", data: Any, **dump: Any) -> None:
    """``data`` as JSON (``dump``: json.dumps options; default indent 2), written atomically."""
    dump.setdefault("indent", 2)
    write_atomic(path, json.dumps(data, **dump) + "\n")


def append_side_record(run_dir: "str | os.PathLike[str]", file: str, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to the side file ``file`` of ``run_dir`` (a plain file name: a
    record from a worker or a cluster node never names a path outside the run folder)."""
    if not file or Path(file).name != file or file.startswith(".") or file in (REQUESTS_FILE, MANIFEST_FILE):
        raise ValueError(f"side file {file!r}: not a plain side-file name")
    path = Path(run_dir) / file
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")
