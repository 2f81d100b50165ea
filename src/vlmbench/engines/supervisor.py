"""The engine's supervisor: a small process between vlmbench and the engine, so no engine process outlives
vlmbench, however vlmbench ends.

Run as a script (``python supervisor.py LOG GRACE_S -- ARGV...``) by :mod:`vlmbench.engines.process`; it imports
nothing of vlmbench. It

- asks the kernel for SIGTERM when its parent (the vlmbench worker) dies (``PR_SET_PDEATHSIG``), and also
  watches its stdin, a pipe whose write end only the parent holds (end of file: the parent is gone);
- is a child subreaper (``PR_SET_CHILD_SUBREAPER``): engine processes whose own parent died are re-parented
  to it, so it still finds every one of them;
- starts the engine as the leader of a new process group (its own session), output to LOG;
- on SIGTERM, SIGINT, end of stdin or the engine's exit: SIGTERM to the engine's group and every
  descendant, up to GRACE_S seconds (its second argument) for them to exit, then SIGKILL to whatever is
  left; exits with the engine's exit code (128 + N for signal N; 0 after a requested stop). An engine
  that exits unasked gets a last line in LOG saying so (its code or signal), written after the teardown
  so the log's tail names its death.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _signal_all(pgid: int, sig: int) -> None:
    import psutil

    try:
        os.killpg(pgid, sig)
    except OSError:
        pass
    for proc in _descendants(os.getpid()):
        try:
            proc.send_signal(sig)
        except psutil.Error:
            pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_tree(engine: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to the engine's group and every descendant; SIGKILL after ``grace_s``."""
    _signal_all(engine.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap()
        if engine.poll() is not None and not _descendants(os.getpid()):
            return
        time.sleep(0.1)
    _signal_all(engine.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while _descendants(os.getpid()) and time.monotonic() < deadline:
        _reap()
        time.sleep(0.05)
    engine.poll()
    _reap()


def main(argv: list[str]) -> int:
    log_path, grace, sep, *command = argv
    assert sep == "--" and command, "usage: supervisor.py LOG GRACE_S -- ARGV..."
    grace_s = float(grace)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if os.getppid() == 1:  # the parent died before the death signal was armed
        return 1
    stop = {"asked": False}

    def on_signal(signum, frame):  # noqa: ARG001
        stop["asked"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with open(log_path, "ab", buffering=0) as log:
        # The engine's own parent-death signal covers a supervisor killed outright (SIGKILL).
        engine = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True,
                                  preexec_fn=lambda: _prctl(PR_SET_PDEATHSIG, signal.SIGKILL))
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ)
    try:
        while not stop["asked"] and engine.poll() is None:
            for key, _ in sel.select(timeout=0.2):
                if not os.read(key.fd, 4096):  # end of file: the parent is gone
                    stop["asked"] = True
    finally:
        code = engine.poll()
        stop_tree(engine, grace_s)
        if code is not None and not stop["asked"]:  # after the teardown: what the rest printed comes before it
            _note_exit(log_path, code)
    if code is None or stop["asked"]:
        return 0
    return 128 - code if code < 0 else code


def exit_text(code: int) -> str:
    """``code 1`` / ``signal SIGKILL``: a Popen return code (negative: killed by that signal)."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _note_exit(log_path: str, code: int) -> None:
    try:
        with open(log_path, "a") as log:
            log.write(f"[vlmbench supervisor] the engine exited unasked ({exit_text(code)})\n")
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
