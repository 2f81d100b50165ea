"""``vlmbench campaign FILE.yaml``: one suite on every target of a Ray cluster (or of this machine).

With Ray (the ``vlmbench[ray]`` extra) each (target x model job) is a Ray task on a node with the
target's resources: ``--address`` joins a running cluster, otherwise a Ray is started in this
process with this machine's resources plus ``--local-resources``. Without Ray the targets this
machine matches run here, one job after the other, and the others are named (exit 2 if none).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "campaign"
HELP = "benchmark a suite on several targets (GPU kinds, machines) of a Ray cluster; results/<campaign>/<target>/"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, metavar="FILE.yaml", help="campaign file: name, suite, targets")
    p.add_argument("--address", default=None,
                   help="a running Ray cluster (e.g. 10.0.0.1:6379, or 'auto'); default: start one in this process")
    p.add_argument("--local-resources", default="", metavar="NAME=N,...",
                   help="extra resources of this machine for the in-process Ray (e.g. accelerator_type:H100=1,cpu_bench=1)")
    p.add_argument("--target-timeout", type=float, default=60.0, metavar="S",
                   help="how long a target's jobs wait for a node with its resources before they become "
                        "skipped rows (default 60)")
    p.add_argument("--resume", type=Path, default=None, metavar="DIR",
                   help="finish an interrupted campaign in DIR (results/<campaign>): only what is missing runs")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume: run again the requests that were skipped, failed or timed out "
                        "(their rows are replaced; OOM rows stay)")
    p.add_argument("--out", type=Path, default=Path("results"), help="results root (default ./results)")
    p.add_argument("--plugin", action="append", dest="plugins", default=None, metavar="MODULE",
                   help="import MODULE and add its ENTRIES to the catalog (repeatable)")
    p.add_argument("--no-progress", action="store_false", dest="progress", help="no progress bar")


def execute(args: argparse.Namespace) -> int:
    from vlmbench.cli.run import summary_tables
    from vlmbench.config import RunConfig
    from vlmbench.errors import UsageError
    from vlmbench.executors import executor_class
    from vlmbench.report.quick import median_table
    from vlmbench.results.reader import read_rows
    from vlmbench.runner.campaign import local_mismatch, local_resources, run_campaign
    from vlmbench.runner.campaign_file import parse_campaign
    from vlmbench.vocab.files import CAMPAIGN_FILE

    if args.retry_failed and args.resume is None:
        raise UsageError("--retry-failed: only with --resume DIR (it retries what a campaign left failed)")
    if args.target_timeout < 0:
        raise UsageError(f"--target-timeout {args.target_timeout:g}: must be 0 or more")
    extra = _parse_resources(args.local_resources)
    campaign = parse_campaign(args.file, base=RunConfig(plugins=args.plugins or []))

    cannot_run: dict[str, str] = {}
    if _ray_installed():
        executor = executor_class("ray")(address=args.address, local_resources=extra,
                                         target_timeout_s=args.target_timeout)
        connection = executor.connect()
    else:
        if args.address:
            raise UsageError(f"--address {args.address}: Ray is not installed (pip install 'vlmbench[ray]')")
        local = local_resources(extra)
        for target in campaign.targets:
            reason = local_mismatch(target, local)
            if reason:
                cannot_run[target.label] = reason
        for label, reason in cannot_run.items():
            print(f"vlmbench campaign: without Ray, this machine cannot run target {label!r}: {reason}",
                  file=sys.stderr)
        if len(cannot_run) == len(campaign.targets):
            raise UsageError(f"{args.file}: no target can run on this machine without Ray "
                             "(pip install 'vlmbench[ray]' and use --address for a cluster)")
        executor = executor_class("local")()
        connection = {"address": None, "ray_version": None}
    result = run_campaign(campaign, args.out, executor, resume_dir=args.resume, cannot_run=cannot_run,
                          progress=args.progress, connection=connection, retry_failed=args.retry_failed)

    for label, run_dir in result.targets.items():
        csv = run_dir / "requests.csv"
        rows = read_rows(csv) if csv.exists() else []
        print(f"== target {label}: {run_dir}")
        if rows:
            print(summary_tables(rows, median_table))
            skipped = sorted({r["error"] for r in rows if r["status"] == "skipped" and r.get("error")})
            for reason in skipped:
                print(f"   {reason}")
        print()
    for label, reason in result.cannot_run.items():
        print(f"== target {label}: not run here ({reason})")
    print(f"{result.rows} rows ({', '.join(f'{k} {v}' for k, v in sorted(result.by_status.items()))})")
    print(f"campaign: {result.campaign_dir / CAMPAIGN_FILE}")
    failed = sum(v for k, v in result.by_status.items() if k != "ok")
    return 1 if result.rows and failed == result.rows else 0


def _ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _parse_resources(text: str) -> dict[str, float]:
    from vlmbench.errors import UsageError

    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, amount = part.rpartition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or not name or value <= 0:
            raise UsageError(f"--local-resources {text!r}: {part!r} is not NAME=N with N > 0")
        out[name] = value
    return out
