"""Do the host-clock timings agree with the device clock? One tiny model, the real backend.

Each measured request is ``HFBackend.measure`` (TokenClock streamer, host clock), while the
same ``generate`` call is also timed with device marks (CUDA events on a GPU, see
measure/device.py): one when ``generate`` is entered, one at the end of every forward pass
(after the LM head, when the logits of a token are complete on the device). Then

    device TTFT = first forward end - generate entered
    device TPOT = (last forward end - first forward end) / (n - 1)

and the streamer's ``ttft_ms`` / ``tpot_ms`` (stamped on the host after each token was copied
to it) must agree within ``--tolerance`` (medians over ``--repeats``); a host stamp *later*
than the device by up to ``--abs-tolerance-ms`` is accepted as well (sampling and the copy of
the token to the host come after the forward pass; on a tiny model that can exceed 5 %). The host stamps
include the sampling step and the copy of each token to the host, so they come out slightly
later; a host clock that ran ahead of unfinished device work would come out *earlier*, and
that is what the check catches. A second pass with a static cache (no --compile) checks that
transformers did not compile the decode step on its own (it does on GPUs unless told not to).

    python bench/cuda_timing_check.py [--device cuda] [--tokens 64] [--repeats 5] [--json OUT]

Exit status 0 when everything agrees, 1 otherwise. On the CPU the two clocks are the same
clock, so the check only exercises the path (bench/gpu_check.sh --dry-run-cpu).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any


def timed_backend(args: argparse.Namespace, cache: str) -> Any:
    from vlmbench.backends.base import ModelSpec
    from vlmbench.backends.hf.backend import HFBackend
    from vlmbench.config import RunConfig

    config = RunConfig(models=[args.model], device=args.device, dtype=args.dtype, cache=cache,
                       prompts=[args.prompt], max_new_tokens=args.tokens)
    backend = HFBackend(config, ModelSpec(args.model, "random"))
    backend.load()
    return backend


def device_timed_requests(backend: Any, item: Any, tokens: int, repeats: int) -> list[dict[str, float]]:
    """Measure ``repeats`` requests with the backend; time the same generate with device marks."""
    model, ops = backend.loaded.model, backend.ops
    marks: dict[str, Any] = {"start": None, "ends": []}
    generate = model.generate

    def marked_generate(*a: Any, **kw: Any) -> Any:
        marks["start"] = ops.mark()
        marks["ends"] = []
        return generate(*a, **kw)

    model.generate = marked_generate  # instance attribute: the backend's call goes through it
    handle = model.register_forward_hook(lambda *_: marks["ends"].append(ops.mark()))
    out = []
    try:
        backend.measure([item], tokens)  # warmup, not kept
        for _ in range(repeats):
            (row,) = backend.measure([item], tokens)
            ends = marks["ends"]
            first = ops.elapsed_ms(marks["start"], ends[0])
            last = ops.elapsed_ms(marks["start"], ends[-1])
            out.append({
                "host_ttft_ms": row["ttft_ms"], "device_ttft_ms": first,
                "host_tpot_ms": row["tpot_ms"], "device_tpot_ms": (last - first) / (len(ends) - 1),
                "forwards": len(ends), "n_output_tokens": row["n_output_tokens"],
                "cache": row["cache"], "compile": row["compile"],
            })
    finally:
        handle.remove()
        del model.generate
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--model", default="llava-1.5-7b-tiny")
    ap.add_argument("--prompt", default="photo-cat-451x300")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=0.05, help="relative agreement required (default 5 %%)")
    ap.add_argument("--abs-tolerance-ms", type=float, default=1.0,
                    help="host later than device by up to this many ms is accepted too: the host stamp follows "
                         "sampling and the copy to the host (default 1.0)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()

    from vlmbench.promptset import load_promptset

    item = load_promptset(ids=[args.prompt]).items[0]
    report: dict[str, Any] = {"device": args.device, "model": args.model, "tokens": args.tokens,
                              "tolerance": args.tolerance, "abs_tolerance_ms": args.abs_tolerance_ms, "passes": {}}
    ok = True
    for cache in ("dynamic", "static"):
        backend = timed_backend(args, cache)
        try:
            requests = device_timed_requests(backend, item, args.tokens, args.repeats)
            report["hardware"] = backend.ops.name()
        finally:
            backend.close()
        summary: dict[str, Any] = {"requests": requests}
        for metric in ("ttft_ms", "tpot_ms"):
            host = statistics.median(r[f"host_{metric}"] for r in requests)
            device = statistics.median(r[f"device_{metric}"] for r in requests)
            error = (host - device) / device
            # Host earlier than the device would mean a stamp taken before the work was done:
            # only the relative tolerance. Host later: the post-forward work, up to the larger.
            agrees = -args.tolerance * device <= host - device <= max(args.tolerance * device, args.abs_tolerance_ms)
            summary[metric] = {"host": host, "device": device, "relative_difference": error, "agrees": agrees}
            ok &= agrees
        summary["cache_recorded"] = sorted({r["cache"] for r in requests})
        summary["compiled"] = any(r["compile"] for r in requests)
        ok &= summary["cache_recorded"] == [cache] and not summary["compiled"]
        ok &= all(r["forwards"] == r["n_output_tokens"] == args.tokens for r in requests)
        report["passes"][cache] = summary
        print(f"{cache:8s} TTFT host {summary['ttft_ms']['host']:.3f} ms vs device {summary['ttft_ms']['device']:.3f} ms "
              f"({summary['ttft_ms']['relative_difference']:+.2%}); TPOT host {summary['tpot_ms']['host']:.3f} vs "
              f"device {summary['tpot_ms']['device']:.3f} ms ({summary['tpot_ms']['relative_difference']:+.2%}); "
              f"cache={summary['cache_recorded']} compiled={summary['compiled']}")
    report["ok"] = ok
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print("timing check:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
