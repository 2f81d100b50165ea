"""``archive verify``: every indexed file present with its recorded sha256 and size; nothing
unrecorded inside an archived run; run folders that no index entry names are reported as stray
(a publish killed between the rename and the index write leaves one: not part of the archive,
adopted by the next publish of that run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vlmbench.archive.checksums import run_files, sha256_file
from vlmbench.archive.layout import RUNS_DIR, incoming_dirs
from vlmbench.results.archive_index import INDEX_FILE, read_index


@dataclass
class Verification:
    runs: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)  # the archive is damaged: exit 1
    notes: list[str] = field(default_factory=list)  # harmless leftovers of interrupted publishers

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_archive(archive: Path) -> Verification:
    archive = Path(archive)
    result = Verification()
    if not (archive / INDEX_FILE).is_file():
        result.problems.append(f"{archive}: no {INDEX_FILE} (not an archive)")
        return result
    index = read_index(archive)
    indexed: set[Path] = set()
    for entry in index["runs"]:
        run_dir = archive / entry["path"]
        indexed.add(run_dir.resolve())
        result.runs += 1
        recorded = entry.get("files") or {}
        if not run_dir.is_dir():
            result.problems.append(f"run {entry['run_id']}: folder {entry['path']} is missing")
            continue
        for name, meta in sorted(recorded.items()):
            path = run_dir / name
            result.files += 1
            if not path.is_file():
                result.problems.append(f"run {entry['run_id']}: {entry['path']}/{name} is missing")
            elif path.stat().st_size != meta.get("bytes"):
                result.problems.append(f"run {entry['run_id']}: {entry['path']}/{name} has {path.stat().st_size} "
                                       f"bytes, recorded {meta.get('bytes')} (sha256 mismatch)")
            elif sha256_file(path) != meta.get("sha256"):
                result.problems.append(f"run {entry['run_id']}: {entry['path']}/{name}: sha256 mismatch "
                                       f"(recorded {str(meta.get('sha256'))[:12]}…, found "
                                       f"{sha256_file(path)[:12]}…)")
        for path in run_files(run_dir):
            name = path.relative_to(run_dir).as_posix()
            if name not in recorded:
                result.problems.append(f"run {entry['run_id']}: {entry['path']}/{name} is not in the index")
    runs_root = archive / RUNS_DIR
    if runs_root.is_dir():
        for folder in sorted(p for p in runs_root.glob("*/*/*") if p.is_dir()):
            if folder.resolve() not in indexed:
                result.notes.append(f"{folder.relative_to(archive)}: not in the index (left by an interrupted "
                                    "publish; publishing that run again adopts it)")
    for folder in incoming_dirs(archive):
        result.notes.append(f"{folder.name}: unfinished copy of an interrupted publish (removed by the next publish)")
    return result
