"""Where model workers come from: a ``forkserver`` whose server has already imported the heavy
libraries, so a worker is a ``fork()`` of a warm interpreter (tens of ms) instead of a fresh
one importing torch and transformers (seconds).

Isolation is the same as with ``spawn``: every worker is its own process; a crash, SIGKILL or
OOM kill ends only that process, and the parent sees it through the process sentinel with the
signal in ``exitcode``. The server is a plain interpreter started with ``exec`` (not a fork of
the parent), it only *imports* modules: no CUDA context, no thread pool and no model exist in
it when it forks, so each worker initialises CUDA itself, exactly as a spawned one would. The
server exits when the parent does (its end of the server's "alive" pipe closes), and each worker
has the kernel SIGKILL it when its own parent, the server, goes (``worker._die_with_parent``).

``sys.path`` and the working directory travel to the server as with ``spawn`` (multiprocessing
sends them when it starts the server); catalog plugins travel in the job's ``RunConfig`` and are
imported by the worker.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.context import BaseContext

START_METHODS = ("forkserver", "spawn")
# Imported once, in the server, before any worker is forked. Pure imports: none of these
# initialises CUDA or starts threads at import time.
PRELOAD = (
    "torch",
    "torchvision",
    "transformers",
    "transformers.modeling_utils",
    "transformers.generation",
    "vlmbench.backends.hf.backend",
    "vlmbench.jobs.worker",
)


def worker_context(method: str = "forkserver") -> BaseContext:
    """The multiprocessing context model workers are started from."""
    if method not in START_METHODS:
        raise ValueError(f"start method {method!r}: must be one of {', '.join(START_METHODS)}")
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def warm_up_server() -> None:
    """Start the fork server now (it imports PRELOAD in the background while the parent plans)."""
    worker_context("forkserver")
    from multiprocessing import forkserver

    forkserver.ensure_running()
