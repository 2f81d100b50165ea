"""SHA-256 of archived files, and the digest that identifies a run's content."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def run_files(run_dir: Path) -> list[Path]:
    """The regular files of a run folder, recursively, without symlinks and temporary files
    (a file being rewritten is ``.NAME-*.tmp``, vocab.files.write_atomic)."""
    return sorted(p for p in Path(run_dir).rglob("*")
                  if p.is_file() and not p.is_symlink() and not any(part.startswith(".") for part in
                                                                    p.relative_to(run_dir).parts))


def file_table(run_dir: Path) -> dict[str, dict[str, object]]:
    """{relative posix path: {"sha256", "bytes"}} of every file of a run folder."""
    return {p.relative_to(run_dir).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in run_files(run_dir)}


IDENTITY_FILES = ("requests.csv", "manifest.json")


def content_digest(files: dict[str, dict[str, object]]) -> str:
    """One SHA-256 over the (path, sha256) pairs of the files that are the run's content (its rows
    and manifest; derived files such as summary.txt do not count): equal digests = same run."""
    h = hashlib.sha256()
    for name in sorted(n for n in files if n in IDENTITY_FILES):
        h.update(f"{name}\0{files[name]['sha256']}\n".encode())
    return h.hexdigest()
