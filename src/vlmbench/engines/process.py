"""One engine server's life: start (through the supervisor), wait for readiness, stop.

:class:`EngineProcess` starts ``engines/supervisor.py`` with the engine's command line; the supervisor
runs the engine in a process group of its own and stops all of it when asked, when its parent (the
vlmbench worker) dies, even by SIGKILL, and when the engine exits. The engine's output goes to a log
file, whose last lines every error message carries. Servers bind to 127.0.0.1 (or the host named) on a
free port (or the port named, refused at once when it is in use).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from vlmbench.errors import UsageError

SUPERVISOR = Path(__file__).with_name("supervisor.py")
DEFAULT_GRACE_S = 10.0  # the supervisor's wait after SIGTERM before SIGKILL (its GRACE_S argument)
LOG_TAIL_LINES = 3  # error rows keep ~500 characters: the log's end, where engines print why they stopped
POLL_S = 0.5


class EngineStartError(RuntimeError):
    """The engine did not become ready: exited, or the readiness deadline passed. Carries the log tail."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """UsageError naming the port when something listens on it (or it cannot be bound). Connections of
    an engine stopped before (TIME_WAIT) do not count: the engines bind with SO_REUSEADDR too."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UsageError(f"--engine-port {port}: in use on {host} ({exc.strerror or exc})") from None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES, width: int = 110) -> str:
    """The log's last non-empty lines on one line (`` | `` between them, each cut to ``width``): error rows
    and messages are one line."""
    try:
        with open(path, "r", errors="replace") as f:
            tail = deque((line.strip() for line in f if line.strip()), maxlen=lines)
    except OSError:
        return "(no engine log)"
    text = " | ".join(line if len(line) <= width else line[:width - 3] + "..." for line in tail)
    return text or "(the engine log is empty)"


@dataclass
class EngineProcess:
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    base_url: str
    health_path: str = "/health"
    proc: Optional[subprocess.Popen] = None
    started_s: Optional[float] = None
    ready_s: Optional[float] = None  # seconds from start to the first healthy answer
    grace_s: float = DEFAULT_GRACE_S  # after SIGTERM, before the supervisor SIGKILLs what is left

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # vlmbench's source must not shadow the engine's packages
        env.update(self.env)
        self.started_s = time.monotonic()
        # stdin: a pipe whose write end only this process holds; its end of file tells the supervisor
        # that vlmbench is gone (besides the parent-death signal it asks the kernel for).
        self.proc = subprocess.Popen([sys.executable, str(SUPERVISOR), str(self.log_path), str(self.grace_s), "--",
                                      *self.argv],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env, close_fds=True)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return log_tail(self.log_path)

    def healthy(self, timeout_s: float = 2.0) -> bool:
        """``GET health_path`` answers 200."""
        try:
            with urllib.request.urlopen(self.base_url + self.health_path, timeout=timeout_s) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def exit_text(self) -> str:
        """How the engine ended, from the supervisor's exit status (128 + N: killed by signal N)."""
        code = self.proc.returncode if self.proc is not None else None
        if code is None:
            return "still running"
        if code < 0:  # the supervisor itself was killed (the engine went with it: its parent-death signal)
            try:
                return f"its supervisor was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"its supervisor was killed by signal {-code}"
        if code > 128:
            try:
                return f"killed by {signal.Signals(code - 128).name}"
            except ValueError:
                pass
        return f"exit code {code}"

    def death(self) -> Optional[str]:
        """None while the engine runs; else one line naming its end and the log's last lines."""
        if self.alive:
            return None
        return f"the engine died ({self.exit_text()}); last log lines: {self.tail()} [log {self.log_path}]"

    def gone(self, within_s: float) -> Optional[str]:
        """After requests failed: has the engine died? Waits while it neither answers ``GET health_path``
        nor has exited (a dying engine is torn down by its supervisor within its grace time). An engine
        that answers is alive (None); one that stays silent for ``within_s`` is stopped and reported."""
        deadline = time.monotonic() + within_s
        while self.alive:
            if self.healthy():
                return None
            if time.monotonic() >= deadline:
                self.stop()
                return (f"the engine stopped answering GET {self.health_path} for {within_s:g} s and was stopped; "
                        f"last log lines: {self.tail()} [log {self.log_path}]")
            time.sleep(POLL_S)
        return self.death()

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until ``GET health_path`` answered 200; raises EngineStartError (exit or deadline)."""
        assert self.proc is not None and self.started_s is not None
        deadline = self.started_s + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise EngineStartError(f"exited ({self.exit_text()}) before it was ready; last log lines: "
                                       f"{self.tail()} [log {self.log_path}]")
            if self.healthy():
                self.ready_s = time.monotonic() - self.started_s
                return self.ready_s
            if time.monotonic() >= deadline:
                self.stop()
                raise EngineStartError(f"not ready within --engine-start-timeout {timeout_s:g} s (GET "
                                       f"{self.health_path}); last log lines: {self.tail()} [log {self.log_path}]")
            time.sleep(POLL_S)

    def stop(self, timeout_s: float = 30.0) -> Optional[int]:
        """Ask the supervisor to stop the engine and wait until it did (it SIGKILLs what ignores SIGTERM)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except OSError:
                pass
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        return proc.returncode
