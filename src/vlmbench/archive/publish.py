"""``publish``: copy finished runs into the archive, append-only, atomically, under the lock.

For each run, in order, holding the archive's lock for the whole batch:

1. inspect it (:mod:`vlmbench.archive.inspect`); a refusal is reported and the others go on;
2. if its run id is in the index: same content digest -> "already archived" (no-op); other
   content -> refused; the archived copy is never touched;
3. copy every file into ``.incoming-<random>/`` inside the archive, fsync each file, check every
   copied file's sha256 against the source's;
4. ``rename`` the folder to ``runs/<hardware>/<date>/<run_id>`` (atomic on one file system);
5. replace ``index.json`` (temporary file + rename) with the run's entry added.

A publisher killed at any point leaves the index as it was or with the run fully in: the index
is the commit point; a folder renamed in but not yet indexed is not part of the archive and is
adopted by the next publish of the same content (or reported as stray by ``verify``). Left-over
``.incoming-*`` folders belong to dead publishers (the lock proves it) and are removed by the
next publisher.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from vlmbench.archive.checksums import content_digest, file_table, run_files, sha256_file
from vlmbench.archive.discover import run_dirs
from vlmbench.archive.inspect import Refused, RunFacts, inspect_run
from vlmbench.archive.layout import INCOMING_PREFIX, LOCK_FILE, incoming_dirs, run_path
from vlmbench.archive.lock import ArchiveLock
from vlmbench.results.archive_index import read_index, write_index

ADDED = "added"
ALREADY = "already archived"
REFUSED = "refused"


@dataclass
class Outcome:
    status: str  # ADDED | ALREADY | REFUSED
    run_id: str
    message: str
    path: Optional[str] = None

    def line(self) -> str:
        return self.message


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_in(src: Path, archive: Path, files: dict[str, dict]) -> Path:
    """Copy a run into a new ``.incoming-*`` folder of the archive; checks every copy's sha256."""
    incoming = Path(tempfile.mkdtemp(prefix=INCOMING_PREFIX, dir=archive))
    for path in run_files(src):
        rel = path.relative_to(src)
        target = incoming / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        with open(target, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(target, 0o444)  # archived files are read-only
        if sha256_file(target) != files[rel.as_posix()]["sha256"]:
            raise Refused(f"{src}: {rel} changed while being copied")
    _fsync_dir(incoming)
    return incoming


def _campaign(manifest: dict) -> Optional[str]:
    value = manifest.get("campaign")
    if isinstance(value, dict):
        value = value.get("name")
    return str(value) if value else None


def _entry(facts: RunFacts, path: str, files: dict[str, dict], source: Path) -> dict:
    return {
        "run_id": facts.run_id, "path": path, "hardware": facts.hardware, "date": facts.date,
        "started_at": facts.started_at, "ended_at": facts.manifest.get("ended_at"),
        "published_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "partial": facts.partial, "why_partial": facts.why_partial,
        "rows": facts.rows, "rows_expected": facts.rows_expected,
        "schema_versions": facts.schema_versions, "models": facts.models, "scenarios": facts.scenarios,
        "promptset_versions": facts.promptset_versions,
        "campaign": _campaign(facts.manifest),
        "source": str(source), "content_sha256": content_digest(files), "files": files,
    }


def _publish_one(run_dir: Path, archive: Path, index: dict, allow_partial: bool) -> Outcome:
    try:
        facts = inspect_run(run_dir, allow_partial)
    except Refused as exc:
        return Outcome(REFUSED, run_dir.name, f"refused: {exc}")
    files = file_table(run_dir)
    digest = content_digest(files)
    known = {e["run_id"]: e for e in index["runs"]}
    if facts.run_id in known:
        entry = known[facts.run_id]
        if entry.get("content_sha256") == digest:
            return Outcome(ALREADY, facts.run_id, f"run {facts.run_id}: already archived (same content) at "
                                                 f"{entry['path']}; nothing done", entry["path"])
        return Outcome(REFUSED, facts.run_id, f"refused: run {facts.run_id}: already archived with different "
                                              f"content ({entry['path']}); archived runs are never replaced")
    rel = run_path(facts.hardware, facts.date, facts.run_id)
    final = archive / rel
    try:
        if final.exists():  # renamed in by a publisher killed before it wrote the index
            if content_digest(file_table(final)) != digest:
                return Outcome(REFUSED, facts.run_id, f"refused: run {facts.run_id}: {rel} exists, not indexed, "
                                                      "with different content; inspect it by hand")
            adopted = " (adopted a copy left by an interrupted publish)"
        else:
            incoming = _copy_in(run_dir, archive, files)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(incoming, final)
            _fsync_dir(final.parent)
            adopted = ""
    except Refused as exc:
        return Outcome(REFUSED, facts.run_id, f"refused: {exc}")
    index["runs"].append(_entry(facts, rel, files, run_dir))
    write_index(archive, index)
    mark = f" PARTIAL ({facts.why_partial})" if facts.partial else ""
    return Outcome(ADDED, facts.run_id, f"run {facts.run_id}: archived at {rel} ({facts.rows} rows){mark}{adopted}",
                   rel)


def publish(paths: Iterable[str | os.PathLike], archive: str | os.PathLike, allow_partial: bool = False,
            wait_s: Optional[float] = None) -> list[Outcome]:
    """Publish every run under ``paths`` into ``archive`` (created when missing); one outcome per run."""
    archive = Path(archive)
    dirs = run_dirs(paths)
    archive.mkdir(parents=True, exist_ok=True)
    outcomes = []
    with ArchiveLock(archive / LOCK_FILE, wait_s):
        for stale in incoming_dirs(archive):  # we hold the lock: their publishers are dead
            shutil.rmtree(stale, ignore_errors=True)
        index = read_index(archive)
        for run_dir in dirs:
            outcomes.append(_publish_one(run_dir, archive, index, allow_partial))
    return outcomes
