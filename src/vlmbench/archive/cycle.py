"""One scheduled cycle: measure -> publish -> gate -> site, under the archive's cycle lock.

The measuring step is any vlmbench command that writes run folders under ``results`` (``run``,
or a campaign command); the cycle publishes the run folders that appeared during it, gates each
against the archive, and rebuilds the site. A second cycle on the same archive waits for the
lock up to ``wait_s`` seconds, then gives up with a clear message (``LockTimeout``); publishing
inside the cycle also takes the publishers' lock, so a concurrent ``vlmbench publish`` is safe too.

Exit status: the measuring command's when it failed without producing a run; else 2 when a run
was refused by publish; else 1 when the gate failed; else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from vlmbench.archive.gate import GateResult, gate_runs
from vlmbench.archive.layout import CYCLE_LOCK_FILE
from vlmbench.archive.lock import ArchiveLock
from vlmbench.archive.publish import ADDED, ALREADY, REFUSED, Outcome, publish
from vlmbench.results.reader import REQUESTS_FILE


@dataclass
class CycleResult:
    command_rc: int
    new_runs: list[Path] = field(default_factory=list)
    published: list[Outcome] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    site: Optional[Path] = None

    @property
    def exit_code(self) -> int:
        if self.command_rc and not self.new_runs:
            return self.command_rc
        if any(o.status == REFUSED for o in self.published):
            return 2
        if any(not g.passed for g in self.gates):
            return 1
        return 0


def existing_runs(results: Path) -> set[Path]:
    if not results.is_dir():
        return set()
    return {p.parent.resolve() for p in results.rglob(REQUESTS_FILE)
            if p.is_file() and not p.parent.is_symlink()}


def run_cycle(command: Callable[[], int], results: Path, archive: Path, site_out: Optional[Path],
              build_site: Callable[[Path, Path], Path], wait_s: float = 0.0, threshold_pct: float = 5.0,
              last_k: int = 5, allow_partial: bool = False,
              say: Callable[[str], None] = print) -> CycleResult:
    archive.mkdir(parents=True, exist_ok=True)
    with ArchiveLock(archive / CYCLE_LOCK_FILE, wait_s):
        before = existing_runs(results)
        rc = int(command() or 0)
        new = sorted(existing_runs(results) - before)
        result = CycleResult(rc, new)
        say(f"cycle: measuring step exited {rc}; {len(new)} new run folder(s) under {results}")
        if not new:
            return result
        result.published = publish(new, archive, allow_partial=allow_partial)
        for outcome in result.published:
            say(outcome.line())
        landed = [Path(archive) / o.path for o in result.published if o.status in (ADDED, ALREADY) and o.path]
        if landed:
            result.gates = gate_runs(landed, archive, threshold_pct, last_k)
        if site_out is not None:
            result.site = build_site(archive, site_out)
            say(f"cycle: site {result.site}")
        return result


def command_argv(command: Sequence[str], results: Path) -> list[str]:
    """The measuring command's argv; ``run`` without ``--out`` gets ``--out RESULTS``."""
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if argv and argv[0] == "run" and not any(a == "--out" or a.startswith("--out=") for a in argv):
        argv += ["--out", str(results)]
    return argv
