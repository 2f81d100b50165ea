"""The memory estimate (catalog/memory.py) against the peak a real run measures, on real-size models.

The estimate decides what a run does not even try (``status=skipped``) and claims to err on the
large side. This puts it next to the measured peak of the same model, dtype, batch size and
output length: each model runs through the real runner (its own worker process, random weights
of the real shapes unless ``--weights pretrained``), one model at a time, and the worst request
of each model (the cold one included: with ``--warmup 0 --prompts 1`` it is the only one) is the
peak:

- CPU: ``peak_rss_mb``, the worker's resident high-water mark (weights, KV cache, activations,
  the interpreter and its libraries: what the estimate's total stands for);
- CUDA: ``peak_cuda_reserved_mb`` (the allocator's reservation; NVML's per-process figure is
  printed too, it adds the CUDA context).

    python bench/memory_estimate_vs_peak.py [--models tinyllava-1.4b,tinyllava-legacy-1.5b]
        [--dtype auto] [--device cpu] [--max-new-tokens 8] [--batch-size 1] [--prompts 1]
        [--warmup 0] [--out DIR]

``--dtype auto`` is what a run uses: bf16 on GPUs and on CPUs with native bf16, else fp32 (on
a CPU without it, bf16 matmuls are ~100x slower than fp32: a real-size request takes minutes).

Prints one line per model (estimate parts, peak, ratio estimate / peak) and writes
``memory_estimate_vs_peak.json`` in the run folder. Exit 1 when an estimate is below its peak
(the claim does not hold), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="tinyllava-1.4b,tinyllava-legacy-1.5b")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", default="random", choices=("random", "pretrained"))
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--prompts", type=int, default=1, help="how many prompts of the packaged set")
    ap.add_argument("--warmup", type=int, default=0, help="unrecorded warmup requests per model")
    ap.add_argument("--request-timeout", type=float, default=1800.0, help="seconds (CPU runs of real sizes are slow)")
    ap.add_argument("--out", type=Path, default=None, help="results root (default: a temporary folder)")
    args = ap.parse_args(argv)

    from vlmbench.catalog import get
    from vlmbench.catalog.memory import estimate
    import vlmbench
    from vlmbench.promptset import load_promptset

    models = [m for m in args.models.split(",") if m]
    out = args.out or Path(tempfile.mkdtemp(prefix="vlmbench-memory-"))
    config = vlmbench.RunConfig(models=models, weights=args.weights, device=args.device, dtype=args.dtype,
                       max_new_tokens=args.max_new_tokens, repeats=1, warmup=args.warmup, batch_sizes=[args.batch_size],
                       prompts=load_promptset().ids()[: args.prompts], out=out, progress=False,
                       request_timeout_s=args.request_timeout)
    result = vlmbench.run(config)
    frame = result.frame.astype(object)
    rows = frame.where(frame.notna(), None).to_dict("records")
    device_type = args.device.split(":")[0]
    column = "peak_rss_mb" if device_type == "cpu" else "peak_cuda_reserved_mb"

    report, worst = [], float("inf")
    for model_id in models:
        ok = [r for r in rows if r["model_id"] == model_id and r["status"] == "ok"]
        if not ok:
            errors = {r["error"] for r in rows if r["model_id"] == model_id}
            print(f"{model_id}: no ok rows ({'; '.join(sorted(str(e) for e in errors))})")
            report.append({"model": model_id, "error": sorted(str(e) for e in errors)})
            continue
        est = estimate(get(model_id), args.batch_size, args.max_new_tokens, ok[0]["dtype"], device_type)
        peak = max(r[column] for r in ok if r[column] is not None)
        nvml = max((r["peak_nvml_mb"] for r in ok if r.get("peak_nvml_mb") is not None), default=None)
        ratio = est.total_mb / peak
        worst = min(worst, ratio)
        item = {"model": model_id, "dtype": ok[0]["dtype"], "device": args.device, "batch_size": args.batch_size,
                "max_new_tokens": args.max_new_tokens, "requests": len(ok),
                "estimate_mib": {"total": est.total_mb, "weights": est.weights_mb, "kv_cache": est.kv_cache_mb,
                                 "activations": est.activations_mb, "overhead": est.overhead_mb},
                "measured_weights_mib": ok[0]["weights_mb"], "peak_column": column, "peak_mib": peak,
                "peak_nvml_mib": nvml, "estimate_over_peak": ratio}
        report.append(item)
        print(f"{model_id} {item['dtype']} on {args.device}, batch {args.batch_size}, {args.max_new_tokens} tokens: "
              f"estimate {est.total_mb:,.0f} MiB (weights {est.weights_mb:,.0f} [loaded {ok[0]['weights_mb']:,.0f}]"
              f" + KV {est.kv_cache_mb:,.0f} + activations {est.activations_mb:,.0f} + overhead "
              f"{est.overhead_mb:,.0f}) vs measured {column} {peak:,.0f} MiB"
              + (f" (NVML {nvml:,.0f})" if nvml is not None else "")
              + f": estimate / peak = {ratio:.3f} -> {'errs large, as claimed' if ratio >= 1 else 'BELOW the peak'}")
    path = result.run_dir / "memory_estimate_vs_peak.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"run": str(result.run_dir), "models": report}, indent=2) + "\n")
    tmp.replace(path)
    print(f"written: {path}")
    return 0 if worst >= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
