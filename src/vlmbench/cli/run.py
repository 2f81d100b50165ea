"""``vlmbench run``: benchmark models on the prompt set and write results/<run_id>/."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmbench.backends.openai import options as endpoint_options
from vlmbench.cli.listargs import int_list
from vlmbench.config import DTYPES, WEIGHT_MODES, RunConfig

NAME = "run"
HELP = "benchmark models on the fixed image-prompt set; writes requests.csv and manifest.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Options default to None so that only what is given on the command line overrides a suite.
    p.add_argument("--suite", default=None, metavar="NAME|FILE",
                   help="a built-in suite (see `vlmbench suites`) or a suite YAML file; "
                        "without --model or --suite the built-in 'default' suite runs")
    p.add_argument("--resume", default=None, type=Path, metavar="RUN_DIR",
                   help="finish an interrupted run in place: only the missing cells run")
    p.add_argument("--model", action="append", dest="models", metavar="ID",
                   help="catalog id, hub id or local folder (repeatable)")
    p.add_argument("--weights", choices=WEIGHT_MODES, default=None,
                   help="random (default): published shapes with random weights (offline); pretrained: load a checkpoint")
    p.add_argument("--backend", default=None,
                   help="hf (in-process transformers, default) or openai (an OpenAI-compatible endpoint, see --endpoint)")
    p.add_argument("--device", default=None, help="cpu (default), cuda or cuda:N")
    p.add_argument("--dtype", default=None, help=f"one of {', '.join(DTYPES)} (default auto)")
    p.add_argument("--max-new-tokens", type=int, default=None, help="output length, enforced exactly (min = max); default 32")
    p.add_argument("--repeats", type=int, default=None, help="measured repeats of each prompt (default 3)")
    p.add_argument("--warmup", type=int, default=None, help="unrecorded warmup requests per model and scenario (default 1)")
    p.add_argument("--warmup-shapes", action=argparse.BooleanOptionalAction, default=None,
                   help="in-process backends: also run every distinct prompt of a scenario once, prefill only "
                        "(1 output token), before its first measured request, so one-time costs per input shape "
                        "stay out of the first repeat (default on; none with --warmup 0)")
    p.add_argument("--prompts", type=lambda s: [x for x in s.split(",") if x], metavar="ID,ID",
                   help="subset of prompt ids (default: the whole set)")
    p.add_argument("--promptset", default=None, dest="promptset_version", help="prompt-set version (default v1)")
    p.add_argument("--promptset-dir", default=None, metavar="DIR",
                   help="use the prompt set in DIR (manifest.json + images) instead of the packaged one")
    p.add_argument("--batch-sizes", type=int_list, default=None, metavar="B,B",
                   help="batch sizes, each one generate call over different images (default 1)")
    p.add_argument("--out", type=Path, default=None, help="results root (default ./results)")
    p.add_argument("--run-id", default=None, help="name of the run folder (default: time-host-random)")
    p.add_argument("--trust-remote-code", action="store_true", default=None,
                   help="allow a pretrained checkpoint to run its own code (off unless given)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--attn", default=None,
                   help="attention implementation: eager, sdpa, flash_attention_2 (default: transformers' "
                        "choice; rows record the one resolved)")
    p.add_argument("--cache", default=None, choices=("dynamic", "static"), help="KV cache implementation")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the decode step (transformers' generate auto-compile; uses a static KV cache)")
    p.add_argument("--plugin", action="append", dest="plugins", default=None, metavar="MODULE",
                   help="import MODULE and add its ENTRIES to the catalog (repeatable)")
    p.add_argument("--model-timeout", type=float, default=None, dest="model_timeout_s", metavar="S",
                   help="give up on a model after S seconds (rows become status=timeout)")
    p.add_argument("--request-timeout", type=float, default=None, dest="request_timeout_s", metavar="S",
                   help="give up on one request after S seconds (row status=timeout; default 300). In-process, "
                        "the worker is killed and a fresh one continues with the model's other requests")
    p.add_argument("--no-progress", action="store_false", dest="progress", default=None, help="no progress bar")
    endpoint_options.add_arguments(p)


# argparse dest -> RunConfig field, for options that override a suite when given.
OVERRIDES = (
    "models", "weights", "backend", "device", "dtype", "max_new_tokens", "repeats", "warmup", "warmup_shapes", "prompts",
    "promptset_version", "promptset_dir", "batch_sizes", "out", "run_id", "trust_remote_code", "seed",
    "attn", "cache", "compile", "plugins", "model_timeout_s", "request_timeout_s", "progress",
)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """A suite (named, or 'default' when no model is given) overlaid with the options given."""
    from vlmbench.runner.suite import load_suite, resolve_suite

    base = RunConfig(plugins=args.plugins or [])
    if args.suite or not args.models:
        config = load_suite(resolve_suite(args.suite or "default"), base=base)
    else:
        config = base
    given = [name for name in OVERRIDES if getattr(args, name) is not None]
    for name in given:
        setattr(config, name, getattr(args, name))
    if args.batch_sizes is not None or args.max_new_tokens is not None:
        config.scenarios = None  # explicit scenario options replace the suite's list
        given.append("scenarios")
    for own in config.model_overrides.values():  # an option given applies to every model
        for name in given:
            own.pop(name, None)
    for name, value in endpoint_options.config_fields(args).items():
        setattr(config, name, value)
    return config


# How the printed summary groups rows by ``size_class``: real-size models first, apart from the
# tiny variants (whose times exercise an architecture, not the real model's speed).
SIZE_SECTIONS = (
    ("real", "REAL-SIZE models (published shapes, random weights): response times of this machine"),
    ("tiny", "tiny variants (a few layers of each architecture: exercise the code path, not real speed)"),
    (None, "other models (endpoint, hub id or local folder)"),
)


def summary_tables(rows: list, table) -> str:
    """One table per size class present; a single plain table when all rows share one class."""
    groups = {key: [r for r in rows if (r.get("size_class") or None) == key] for key, _ in SIZE_SECTIONS}
    present = [(key, title) for key, title in SIZE_SECTIONS if groups[key]]
    if len(present) <= 1:
        return table(rows)
    return "\n\n".join(f"{title}\n{table(groups[key])}" for key, title in present)


def execute(args: argparse.Namespace) -> int:
    from vlmbench.report.quick import median_table
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark
    from vlmbench.runner.orchestrator import resume_run

    if args.resume is not None:
        result = resume_run(args.resume, progress=args.progress is not False)
    else:
        result = run_benchmark(config_from_args(args))
    rows = read_rows(result.requests_csv)
    table = summary_tables(rows, median_table)
    (result.run_dir / "summary.txt").write_text(table + "\n")
    print(table)
    print(f"\n{result.rows} rows ({', '.join(f'{k} {v}' for k, v in sorted(result.by_status.items()))})")
    print(f"results: {result.requests_csv}")
    print(f"manifest: {result.run_dir / 'manifest.json'}")
    failed = sum(v for k, v in result.by_status.items() if k != "ok")
    return 1 if failed and failed == result.rows else 0
