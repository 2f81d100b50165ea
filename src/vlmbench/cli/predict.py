"""``vlmbench predict``: response time and memory of catalog models on a device profile, per stage
with intervals; or (``--validate``) the predictor's error against measured runs."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from vlmbench.cli.listargs import int_list
from vlmbench.errors import UsageError
from vlmbench.vocab.metrics import metrics

NAME = "predict"
HELP = "predict per-stage latency and memory on a device profile (spec sheet, micro-benchmark or calibrated)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", dest="models", default=[], metavar="ID", help="catalog id (repeatable)")
    p.add_argument("--profile", required=True, metavar="PROFILE|NAME",
                   help="profile JSON (vlmbench calibrate) or a built-in spec profile: h100, h200, a100-80gb, l4, "
                        "a10g, t4, rtx4090")
    p.add_argument("--prompts", type=lambda s: [x for x in s.split(",") if x], default=None, metavar="ID,ID",
                   help="prompt ids (default: the default suite's four)")
    p.add_argument("--batch-sizes", type=int_list, default=[1], metavar="B,B")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"))
    p.add_argument("--json", action="store_true", help="print a JSON list of prediction objects")
    p.add_argument("-o", "--out", default=None, metavar="PREDICTIONS.csv", help="also write predictions.csv here")
    p.add_argument("--validate", nargs="+", default=None, metavar="RUN_DIR",
                   help="instead of predicting: the predictor's error on these runs' measured rows")


def _clean(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def execute(args: argparse.Namespace) -> int:
    from vlmbench.predict.profiles import load_profile

    profile = load_profile(args.profile)
    if args.validate:
        return _validate(profile, args.validate, args.json)
    if not args.models:
        raise UsageError("give --model ID (repeatable), or --validate RUN_DIR...")
    if args.max_new_tokens < 1:
        raise UsageError(f"--max-new-tokens {args.max_new_tokens}: must be at least 1")
    if any(b < 1 for b in args.batch_sizes):
        raise UsageError(f"--batch-sizes {args.batch_sizes}: batch sizes must be at least 1")
    from vlmbench.catalog import get
    from vlmbench.predict.predictor import DEFAULT_PROMPTS, predict

    for m in args.models:
        get(m)  # unknown id -> one line, exit 2
    rows = predict(args.models, profile, args.prompts or DEFAULT_PROMPTS, args.batch_sizes, args.max_new_tokens,
                   args.dtype)
    rows = [{k: _clean(v) for k, v in r.items()} for r in rows]
    if args.out:
        from vlmbench.predict.predictions_io import write_predictions

        write_predictions(rows, Path(args.out))
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(_table(rows))
    return 0


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}{unit}" if v >= 100 else f"{v:.1f}{unit}"


def _table(rows: list[dict]) -> str:
    stages = ("preprocess_ms", "vision_ms", "prefill_ms", "ttft_ms", "tpot_ms", "e2e_ms")
    cols = ("model_id", "prompt_id", "batch", *(m.label for m in metrics(*stages)), "alloc MB", "validation")
    lines = [cols]
    for r in rows:
        def iv(name: str) -> str:
            return f"{_fmt(r[name])} [{_fmt(r[name + '_lo'])}-{_fmt(r[name + '_hi'])}]" if r[name] is not None else "-"
        lines.append((r["model_id"], r["prompt_id"], str(r["batch_size"]), *(iv(s) for s in stages),
                      _fmt(r["peak_allocated_mb"]), str(r.get("validation") or "")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    head = rows[0] if rows else {}
    out.insert(0, f"predicted (ms; [interval]) on {head.get('device', '?')} - profile {head.get('profile', '?')} "
                  f"({head.get('profile_kind', '?')}); source=predicted, not measured\n"
                  f"validation: {head.get('validation', '?')}; interval: {head.get('interval_level', '?')}")
    return "\n".join(out)


def _validate(profile, run_dirs: list[str], as_json: bool) -> int:
    from vlmbench.predict.measured import load_rows
    from vlmbench.predict.validate import format_report, validate

    rows = load_rows(run_dirs)
    if not rows:
        raise UsageError(f"--validate {' '.join(run_dirs)}: no usable measured rows (ok, in-process, catalog models)")
    report = validate(profile, rows)
    print(json.dumps(report, indent=1) if as_json else format_report(report))
    return 0
