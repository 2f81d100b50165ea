"""``vlmbench run``: benchmark models on the prompt set and write results/<run_id>/."""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmbench.backends.openai import options as endpoint_options
from vlmbench.config import DEFAULT_MODELS, DTYPES, WEIGHT_MODES, RunConfig

NAME = "run"
HELP = "benchmark models on the fixed image-prompt set; writes requests.csv and manifest.json"


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", dest="models", metavar="ID",
                   help=f"catalog id, hub id or local folder (repeatable; default: {', '.join(DEFAULT_MODELS)})")
    p.add_argument("--weights", choices=WEIGHT_MODES, default="random",
                   help="random: published shapes with random weights (offline); pretrained: load a checkpoint")
    p.add_argument("--backend", default="hf",
                   help="hf (in-process transformers) or openai (an OpenAI-compatible endpoint, see --endpoint)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--dtype", default="auto", help=f"one of {', '.join(DTYPES)}")
    p.add_argument("--max-new-tokens", type=int, default=32, help="output length, enforced exactly (min = max)")
    p.add_argument("--repeats", type=int, default=3, help="measured repeats of each prompt")
    p.add_argument("--warmup", type=int, default=1, help="unrecorded warmup requests per model and scenario")
    p.add_argument("--prompts", type=lambda s: [x for x in s.split(",") if x], metavar="ID,ID",
                   help="subset of prompt ids (default: the whole set)")
    p.add_argument("--promptset", default="v1", dest="promptset_version", help="prompt-set version")
    p.add_argument("--promptset-dir", default=None, metavar="DIR",
                   help="use the prompt set in DIR (manifest.json + images) instead of the packaged one")
    p.add_argument("--batch-sizes", type=_int_list, default=[1], metavar="B,B", help="batch sizes (default 1)")
    p.add_argument("--out", type=Path, default=Path("results"), help="results root (default ./results)")
    p.add_argument("--run-id", default=None, help="name of the run folder (default: time-host-random)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow a pretrained checkpoint to run its own code (off unless given)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attn", default=None, help="attention implementation: eager, sdpa, flash_attention_2")
    p.add_argument("--cache", default="dynamic", choices=("dynamic", "static"), help="KV cache implementation")
    p.add_argument("--compile", action="store_true", help="torch.compile the decode step")
    p.add_argument("--plugin", action="append", dest="plugins", default=[], metavar="MODULE",
                   help="import MODULE and add its ENTRIES to the catalog (repeatable)")
    p.add_argument("--model-timeout", type=float, default=None, dest="model_timeout_s", metavar="S",
                   help="give up on a model after S seconds (rows become status=timeout)")
    p.add_argument("--no-progress", action="store_false", dest="progress", help="no progress bar")
    endpoint_options.add_arguments(p)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    return RunConfig(
        models=args.models or list(DEFAULT_MODELS),
        weights=args.weights,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        max_new_tokens=args.max_new_tokens,
        repeats=args.repeats,
        warmup=args.warmup,
        prompts=args.prompts,
        promptset_version=args.promptset_version,
        promptset_dir=args.promptset_dir,
        batch_sizes=args.batch_sizes,
        out=args.out,
        run_id=args.run_id,
        trust_remote_code=args.trust_remote_code,
        seed=args.seed,
        attn=args.attn,
        cache=args.cache,
        compile=args.compile,
        plugins=args.plugins,
        model_timeout_s=args.model_timeout_s,
        progress=args.progress,
        **endpoint_options.config_fields(args),
    )


def execute(args: argparse.Namespace) -> int:
    from vlmbench.report.quick import median_table
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    config = config_from_args(args)
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    table = median_table(rows)
    (result.run_dir / "summary.txt").write_text(table + "\n")
    print(table)
    print(f"\n{result.rows} rows ({', '.join(f'{k} {v}' for k, v in sorted(result.by_status.items()))})")
    print(f"results: {result.requests_csv}")
    print(f"manifest: {result.run_dir / 'manifest.json'}")
    failed = sum(v for k, v in result.by_status.items() if k != "ok")
    return 1 if failed and failed == result.rows else 0
