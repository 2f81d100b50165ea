"""``vlmbench run``: benchmark models on the prompt set and write results/<run_id>/."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmbench.config import RunConfig
from vlmbench.options import BACKEND_OPTIONS, BackendOptions
from vlmbench.options.declare import add_arguments as add_option_arguments
from vlmbench.options.declare import options_of

NAME = "run"
HELP = "benchmark models on the fixed image-prompt set; writes requests.csv and manifest.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Every run option is a flag generated from its declaration (vlmbench.config, vlmbench.options);
    # all default to None so that only what is given on the command line overrides a suite.
    p.add_argument("--suite", default=None, metavar="NAME|FILE",
                   help="a built-in suite (see `vlmbench suites`) or a suite YAML file; "
                        "without --model or --suite the built-in 'default' suite runs")
    p.add_argument("--resume", default=None, type=Path, metavar="RUN_DIR",
                   help="finish an interrupted run in place: only the missing cells run")
    add_option_arguments(p, RunConfig)
    add_option_arguments(p, BackendOptions)
    added: set[str] = {"backend"}
    for model in BACKEND_OPTIONS.values():  # a backend's options model may extend another's: each flag once
        own = tuple(name for name, _, _ in options_of(model) if name in added)
        add_option_arguments(p.add_argument_group(model.group), model, skip=own)
        added.update(name for name, _, _ in options_of(model))


def given_options(args: argparse.Namespace) -> dict[str, object]:
    """The run options given on the command line (field name -> value)."""
    names = {name for model in (RunConfig, BackendOptions, *BACKEND_OPTIONS.values())
             for name, _, _ in options_of(model)}
    return {name: getattr(args, name) for name in sorted(names) if getattr(args, name, None) is not None}


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """A suite (named, or 'default' when no model is given) overlaid with the options given."""
    from vlmbench.runner.suite import load_suite, resolve_suite

    given = given_options(args)
    base = RunConfig(plugins=args.plugins or [])
    if args.suite or not args.models:
        base = load_suite(resolve_suite(args.suite or "default"), base=base)
    if "batch_sizes" in given or "max_new_tokens" in given:
        given["scenarios"] = None  # explicit scenario options replace the suite's list
    # an option given applies to every model
    given["model_overrides"] = {model: {k: v for k, v in own.items() if k not in given}
                                for model, own in base.model_overrides.items()}
    return base.replace(**given)


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
