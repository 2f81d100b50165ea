"""Random-weight materialisation: vlmbench's fast init vs transformers' default init.

Measured side by side in one run, each build in a fresh process (alternating A, B, A, B...),
on a ~1B-parameter catalog model. Prints build times, the speed-up, and the forward time of
both models on the same input (which must be equal within noise: the fast init must not make
the model faster than a properly initialised one, e.g. through untouched zero pages).

    python bench/random_init_vs_default.py [--model tinyllava-1.4b] [--rounds 3] [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, statistics, sys, time, torch
from vlmbench.catalog import get
from vlmbench.catalog.materialise import build_random_model, construct, default_dtype
method, model_id, dtype_name = sys.argv[1], sys.argv[2], sys.argv[3]
dtype = getattr(torch, dtype_name)
entry = get(model_id)
config = entry.build_config()
t0 = time.perf_counter()
if method == "fast":
    model = build_random_model(entry.model_class, config, "cpu", dtype)
else:
    with default_dtype(dtype):
        model = construct(entry.model_class, config, dtype).eval()
build_s = time.perf_counter() - t0
n_params = sum(p.numel() for p in model.parameters())
text = getattr(config, "text_config", config)
ids = torch.randint(5, min(text.vocab_size, 1000), (1, 512))
times = []
with torch.inference_mode():
    model.get_decoder()(input_ids=ids) if hasattr(model, "get_decoder") else None
    for _ in range(5):
        t = time.perf_counter()
        model.get_decoder()(input_ids=ids)
        times.append(time.perf_counter() - t)
print(json.dumps({"method": method, "build_s": build_s, "forward_s": statistics.median(times), "params": n_params}))
"""


def run_child(method: str, model: str, dtype: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, method, model, dtype], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tinyllava-1.4b")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    results: dict[str, list[dict]] = {"fast": [], "default": []}
    for _ in range(args.rounds):
        for method in ("fast", "default"):
            results[method].append(run_child(method, args.model, args.dtype))
    fast_build = statistics.median(r["build_s"] for r in results["fast"])
    default_build = statistics.median(r["build_s"] for r in results["default"])
    fast_fwd = statistics.median(r["forward_s"] for r in results["fast"])
    default_fwd = statistics.median(r["forward_s"] for r in results["default"])
    params = results["fast"][0]["params"]
    print(f"model {args.model}: {params / 1e9:.3f}B parameters, {args.dtype}, {args.rounds} rounds, fresh process each")
    print(f"build   default init  {default_build:8.2f} s   fast init {fast_build:8.2f} s   speed-up x{default_build / fast_build:.1f} (target >= 8)")
    print(f"forward default-init model {default_fwd * 1e3:8.1f} ms   fast-init model {fast_fwd * 1e3:8.1f} ms   ratio {fast_fwd / default_fwd:.3f} (target 1.00 within noise)")
    print("all builds (s): default", [round(r["build_s"], 2) for r in results["default"]],
          "fast", [round(r["build_s"], 2) for r in results["fast"]])
    print("all forwards (ms): default", [round(r["forward_s"] * 1e3, 1) for r in results["default"]],
          "fast", [round(r["forward_s"] * 1e3, 1) for r in results["fast"]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
