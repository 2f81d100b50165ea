"""How long a model's worker takes to start: ``spawn`` (a fresh interpreter) vs the preloaded
``forkserver`` that ``vlmbench run`` uses (``vlmbench/jobs/processes.py``), side by side.

One round starts one worker with each method, in alternating order, and times from
``Process.start()`` to the moment the worker has imported everything a model worker imports
before it loads a model (torch, torchvision, transformers, the hf backend, the worker module)
and said so over its pipe. With the fork server those imports were done once in the server;
with spawn every worker does them itself. The fork server's own start (it imports the same
modules once per run) is timed separately and reported as a one-off.

Usage: ``python bench/worker_startup.py [--rounds 7]``. Prints the median per method and the
ratio spawn / forkserver. The machine may be shared: compare the ratio, not the absolutes.
"""

from __future__ import annotations

import argparse
import statistics
import time

from vlmbench.jobs.processes import PRELOAD, worker_context


def _probe(conn) -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    import torch

    conn.send((time.perf_counter(), torch.cuda.is_initialized()))
    conn.close()


def start_once(method: str) -> tuple[float, bool]:
    ctx = worker_context(method)
    parent, child = ctx.Pipe(duplex=False)
    t0 = time.perf_counter()
    proc = ctx.Process(target=_probe, args=(child,), daemon=True)
    proc.start()
    child.close()
    ready_at, cuda = parent.recv()
    proc.join(30)
    parent.close()
    return ready_at - t0, cuda


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    t0 = time.perf_counter()
    first, _ = start_once("forkserver")  # starts the server: it imports PRELOAD once
    print(f"fork server start + first worker (one-off per run): {first:.2f} s")
    times: dict[str, list[float]] = {"spawn": [], "forkserver": []}
    cuda_seen = False
    for r in range(args.rounds):
        order = ("spawn", "forkserver") if r % 2 == 0 else ("forkserver", "spawn")
        for method in order:
            seconds, cuda = start_once(method)
            cuda_seen |= cuda
            times[method].append(seconds)
        print(f"round {r + 1}: spawn {times['spawn'][-1]:.3f} s, forkserver {times['forkserver'][-1]:.3f} s",
              flush=True)
    med = {m: statistics.median(v) for m, v in times.items()}
    print()
    for m, v in times.items():
        print(f"{m:>10}: median {med[m]:.3f} s  (min {min(v):.3f}, max {max(v):.3f}, n={len(v)})")
    print(f"ratio spawn / forkserver (medians): {med['spawn'] / med['forkserver']:.1f}x")
    print(f"forkserver median <= 0.5 s: {'yes' if med['forkserver'] <= 0.5 else 'NO'}")
    print(f"CUDA initialised in a worker before it loaded anything: {'YES (bad)' if cuda_seen else 'no'}")
    print(f"total bench time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
