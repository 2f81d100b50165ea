"""One scheduled cycle: measure -> gate -> (confirm) -> publish -> site, under the archive's cycle lock.

The measuring step is any vlmbench command that writes run folders under ``results`` (``run``,
or a campaign command). Each run folder that appeared during it is gated against the archive
**before** it is published, so the new run never counts in the between-run noise or the
baseline it is tested against. With ``confirm`` (the CLI's default), when a gate fails the
measuring step runs again for the failing cells only (``confirm_command``: for ``run``, the
failing models), that re-measurement is gated against the same archive, and a cell fails only
where both gates fail it (:func:`vlmbench.archive.gate.confirm`): a one-off slow run (a noisy
neighbour) is reported as NOT CONFIRMED instead of failing the cycle. The re-measurement stays
in ``results`` and is not published. Then the runs are published and the site rebuilt. A second cycle on the same archive waits for the
lock up to ``wait_s`` seconds, then gives up with a clear message (``LockTimeout``); publishing
inside the cycle also takes the publishers' lock, so a concurrent ``vlmbench publish`` is safe too.

Exit status: the measuring command's when it failed without producing a run; else 2 when a run
was refused by publish; else 1 when the gate failed; else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from vlmbench.archive.gate import GateResult, confirm, gate_run
from vlmbench.archive.layout import CYCLE_LOCK_FILE
from vlmbench.archive.lock import ArchiveLock
from vlmbench.archive.publish import REFUSED, Outcome, publish
from vlmbench.results.reader import REQUESTS_FILE


@dataclass
class CycleResult:
    command_rc: int
    new_runs: list[Path] = field(default_factory=list)
    published: list[Outcome] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    confirm_runs: list[Path] = field(default_factory=list)
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
              say: Callable[[str], None] = print,
              confirm_command: Optional[Callable[[list[GateResult]], int]] = None) -> CycleResult:
    """``confirm_command(failed gates)``: re-measures the failing cells (None: no confirmation)."""
    archive.mkdir(parents=True, exist_ok=True)
    with ArchiveLock(archive / CYCLE_LOCK_FILE, wait_s):
        before = existing_runs(results)
        rc = int(command() or 0)
        new = sorted(existing_runs(results) - before)
        result = CycleResult(rc, new)
        say(f"cycle: measuring step exited {rc}; {len(new)} new run folder(s) under {results}")
        if not new:
            return result
        # gate first: the archive does not hold the new runs yet
        result.gates = [gate_run(run, archive, threshold_pct, last_k) for run in new]
        failed = [g for g in result.gates if not g.passed]
        if failed and confirm_command is not None:
            cells = sorted({c.cell_name() for g in failed for c in g.regressions})
            say(f"cycle: {len(cells)} cell(s) failed the gate; measuring them again to confirm: " + ", ".join(cells))
            seen = existing_runs(results)
            confirm_rc = int(confirm_command(failed) or 0)
            result.confirm_runs = sorted(existing_runs(results) - seen)
            say(f"cycle: confirming step exited {confirm_rc}; {len(result.confirm_runs)} run folder(s)")
            again = [gate_run(run, archive, threshold_pct, last_k) for run in result.confirm_runs]
            merged = GateResult(", ".join(g.run_id for g in again), threshold_pct,
                                [c for g in again for c in g.checks]) if again else None
            result.gates = [confirm(g, merged) if (not g.passed and merged is not None) else g for g in result.gates]
        result.published = publish(new, archive, allow_partial=allow_partial)
        for outcome in result.published:
            say(outcome.line())
        if site_out is not None:
            result.site = build_site(archive, site_out)
            say(f"cycle: site {result.site}")
        return result


def confirm_argv(argv: Sequence[str], models: Sequence[str]) -> list[str]:
    """The measuring argv restricted to the failing cells' models (``run`` without ``--suite``;
    any other command is repeated whole), under a ``-confirm`` run id when one was given."""
    out: list[str] = []
    restrict = bool(argv) and argv[0] == "run" and not any(a == "--suite" or a.startswith("--suite=") for a in argv)
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if restrict and a == "--model":
            skip = True
            continue
        if restrict and a.startswith("--model="):
            continue
        if a == "--run-id" and i + 1 < len(argv):
            out += [a, argv[i + 1] + "-confirm"]
            skip = True
            continue
        if a.startswith("--run-id="):
            out.append(a + "-confirm")
            continue
        out.append(a)
    if restrict:
        for m in models:
            out += ["--model", m]
    return out


def command_argv(command: Sequence[str], results: Path) -> list[str]:
    """The measuring command's argv; ``run`` without ``--out`` gets ``--out RESULTS``."""
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if argv and argv[0] == "run" and not any(a == "--out" or a.startswith("--out=") for a in argv):
        argv += ["--out", str(results)]
    return argv
