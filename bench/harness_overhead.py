"""Harness overhead: vlmbench's instrumented generate vs a plain ``generate``.

Same tiny model, same inputs, same generation config, interleaved runs in one process.
Decode time of each path = T(N tokens) - T(1 token) (so preprocessing, vision and prefill
cancel out). The instrumented path is exactly what a measured request runs: the TokenClock
streamer, the vision-stage hooks and the memory tracker, via HFBackend.measure.

    python bench/harness_overhead.py [--tokens 64] [--reps 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="llava-1.5-7b-tiny")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()

    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.hf.backend import HFBackend
    from vlmbench.config import RunConfig
    from vlmbench.promptset import load_promptset

    backend = HFBackend(RunConfig(device="cpu", dtype="auto"), ModelSpec(args.model, "random"))
    backend.load()
    item = load_promptset().items[0]
    model = backend.loaded.model

    def plain(n: int) -> float:
        inputs, _ = backend.prepare([item])
        config = backend.generation_config(n)
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, generation_config=config)
        return time.perf_counter() - t0

    def instrumented(n: int) -> float:
        row = backend.measure([item], n)[0]
        return row["e2e_ms"] / 1000.0

    # "plain (again)" is the same path as "plain": its difference is the noise floor (A/A).
    paths = (("plain", plain), ("instrumented", instrumented), ("plain (again)", plain))
    for _, fn in paths:  # warm up every path
        fn(args.tokens)
        fn(1)
    samples: dict[str, dict[int, list[float]]] = {name: {1: [], args.tokens: []} for name, _ in paths}
    for _ in range(args.reps):
        for name, fn in paths:
            for n in (args.tokens, 1):
                samples[name][n].append(fn(n))
    decode = {name: statistics.median(s[args.tokens]) - statistics.median(s[1]) for name, s in samples.items()}
    ratio = decode["instrumented"] / decode["plain"]
    noise = decode["plain (again)"] / decode["plain"]
    print(f"model {args.model}, {args.tokens} tokens, median of {args.reps} interleaved runs each")
    print(f"decode time  plain generate {decode['plain'] * 1e3:8.2f} ms   instrumented "
          f"{decode['instrumented'] * 1e3:8.2f} ms   plain again {decode['plain (again)'] * 1e3:8.2f} ms")
    print(f"overhead on decode time: {100 * (ratio - 1):+.2f} % (target <= 2 %); "
          f"A/A noise floor (plain again vs plain): {100 * (noise - 1):+.2f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
