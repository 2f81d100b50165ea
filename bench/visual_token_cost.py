"""The visual-token cost curve of real-size catalog entries on this machine, and how well the
fit predicts a size it did not see.

For each entry (default: SmolVLM2-256M, whose tiling makes the token count follow the aspect
ratio, and Qwen2.5-VL-3B, whose pixel budget makes it follow the area), one ``vlmbench run``
measures generated images at the given sizes (random weights, real shapes, 2 output tokens,
``--warmup 0 --no-warmup-shapes``: the first request is the cold one and stays out of the fit).
The fit of :mod:`vlmbench.analysis.visual_cost` is made on every size but the held-out one; the
held-out size's median measured TTFT is compared with the fit's prediction at its token count.

Usage (real-size models: run under the big-memory lock on a shared machine)::

    flock /tmp/vlmbench-bigmem.lock python bench/visual_token_cost.py [--repeats 3] [--out DIR]

Prints, per entry and stage, ms per 1,000 visual tokens with its CI, the intercept, R^2, and the
held-out prediction error; writes ``visual_token_cost.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# entry -> (sizes fitted, held-out size)
ENTRIES = {
    # tiling after resizing to a 2048 longest edge: 4:1 -> 5 tiles (320 tokens), 2:1 -> 9 (576),
    # 1:1 -> 17 (1088); held out 4:3 -> 13 tiles (832)
    "smolvlm2-256m": (["2048x512", "2048x1024", "1024x1024"], "1024x768"),
    # pixel budget, 28 px patches after merge: 224 -> 64 tokens, 448 -> 256, 672 -> 576; held out 560 -> 400
    "qwen2.5-vl-3b": (["224x224", "448x448", "672x672"], "560x560"),
}


def run(model: str, sizes: list[str], repeats: int, out: Path) -> Path:
    cmd = [sys.executable, "-m", "vlmbench", "run", "--model", model, "--images", ",".join(sizes),
           "--repeats", str(repeats), "--max-new-tokens", "2", "--warmup", "0", "--no-warmup-shapes",
           "--out", str(out), "--run-id", model, "--no-progress"]
    subprocess.run(cmd, check=True)
    return out / model


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--models", default=",".join(ENTRIES))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()

    import numpy as np

    from vlmbench import results
    from vlmbench.analysis.visual_cost import METRICS, cost_rows, fit_metric

    out = args.out or Path(tempfile.mkdtemp(prefix="vlmbench-vtc-"))
    report = {}
    for model in args.models.split(","):
        fitted, held = ENTRIES[model]
        run_dir = run(model, fitted + [held], args.repeats, out)
        frame = cost_rows(results.load(run_dir))
        held_id = f"gen-{held}"
        train, test = frame[frame["prompt_id"] != held_id], frame[frame["prompt_id"] == held_id]
        entry = {}
        for metric in METRICS:
            if frame[metric].notna().sum() == 0:
                continue
            fit = fit_metric(train, metric, {"model_id": model})
            row = fit.row()
            measured = float(np.median(test[metric].dropna())) if test[metric].notna().any() else None
            tokens = int(test["n_image_tokens"].iloc[0]) if len(test) else None
            predicted = float(fit.predict(tokens)) if fit.fitted and tokens is not None else None
            error = (predicted - measured) / measured * 100 if predicted is not None and measured else None
            entry[metric] = {**{k: row[k] for k in ("n_rows", "n_token_counts", "ms_per_1k_tokens",
                                                    "ms_per_1k_tokens_ci_low", "ms_per_1k_tokens_ci_high",
                                                    "intercept_ms", "intercept_ms_ci_low", "intercept_ms_ci_high",
                                                    "quadratic_ms_per_1k_tokens_sq", "r2", "not_fitted")},
                             "held_out_size": held, "held_out_tokens": tokens, "held_out_measured_ms": measured,
                             "held_out_predicted_ms": predicted, "held_out_error_pct": error,
                             "tokens_by_size": {pid: int(t) for pid, t in
                                                frame.groupby("prompt_id")["n_image_tokens"].first().items()}}
            print(f"{model} {metric}: {row['ms_per_1k_tokens']} ms/1k [{row['ms_per_1k_tokens_ci_low']}, "
                  f"{row['ms_per_1k_tokens_ci_high']}], intercept {row['intercept_ms']}, r2 {row['r2']}; "
                  f"held out {held} ({tokens} tokens): measured {measured}, predicted {predicted}, error {error} %",
                  flush=True)
        report[model] = entry
    (out / "visual_token_cost.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out / 'visual_token_cost.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
