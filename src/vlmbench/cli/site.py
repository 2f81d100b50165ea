"""``vlmbench site RUN_DIR ... -o site/``: a static leaderboard website (no server, no CDN)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

NAME = "site"
HELP = "build a static leaderboard website from run folders of one or more machines"
METRICS_FILE = "METRICS.md"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN_DIR", help="run folders (any number of machines)")
    p.add_argument("--archive", type=Path, default=None, metavar="DIR",
                   help="build the site from an archive instead (history, trends, hardware comparison)")
    p.add_argument("--last-n", type=int, default=5, metavar="N",
                   help="with --archive: current value = median of the last N run medians (default 5)")
    p.add_argument("--days", type=float, default=None, metavar="D",
                   help="with --archive: current value = median of the run medians of the last D days")
    p.add_argument("-o", "--out", type=Path, default=Path("site"), metavar="DIR", help="output folder (default: site)")
    p.add_argument("--predictions", type=Path, action="append", default=[], metavar="FILE",
                   help="predictions.csv from `vlmbench predict` (repeatable): shown in their own section with a "
                        "'predicted' badge, never in the measured tables")
    p.add_argument("--predictor-validation", type=Path, default=None, metavar="FILE",
                   help="JSON report of `vlmbench predict --validate ... --json`: the predictor's measured "
                        "error shown beside the predictions of that hardware")
    p.add_argument("--metrics", type=Path, default=None, metavar="FILE",
                   help="Markdown file of metric definitions for the methodology page "
                        "(default: the project's METRICS.md where present, else the schema's column docs)")


def project_metrics_file() -> Optional[Path]:
    """METRICS.md of the checkout vlmbench runs from (src layout), if there is one."""
    import vlmbench

    candidate = Path(vlmbench.__file__).resolve().parents[2] / METRICS_FILE
    return candidate if candidate.is_file() else None


def execute(args: argparse.Namespace) -> int:
    from vlmbench.errors import UsageError
    from vlmbench.report.site.build import build_site

    metrics_path = args.metrics or project_metrics_file()
    if args.metrics is not None and not args.metrics.is_file():
        raise UsageError(f"--metrics {args.metrics}: no such file")
    markdown = metrics_path.read_text(encoding="utf-8") if metrics_path else None
    extra = predictions_html(args.predictions, args.predictor_validation)
    if args.archive is not None:
        return _archive_site(args, markdown, extra)
    if not args.runs:
        raise UsageError("site: give run folders, or --archive DIR")
    site = build_site(args.runs, args.out, metrics_markdown=markdown, extra_html=extra)
    print(f"{len(site.summaries)} rows from {len(site.runs)} run(s), {len(site.model_pages)} model pages")
    print(f"site: {site.index}")
    return 0


def predictions_html(paths: list[Path], validation: Optional[Path]) -> str:
    """The site's predictions section from predictions.csv files ("" without any)."""
    if not paths:
        return ""
    import json

    from vlmbench.errors import UsageError
    from vlmbench.predict.site_records import errors_from_validation, prediction_records
    from vlmbench.report.site.predictions import predictions_section

    errors = {}
    if validation is not None:
        try:
            errors = errors_from_validation(json.loads(validation.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError) as exc:
            raise UsageError(f"--predictor-validation {validation}: not a validation report ({exc})") from None
    records = []
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--predictions {path}: no such file")
        records.extend(prediction_records(path, errors))
    return predictions_section(records)


def _archive_site(args: argparse.Namespace, markdown: Optional[str], extra: str = "") -> int:
    from vlmbench.errors import UsageError
    from vlmbench.archive_site.build import build_archive_site
    from vlmbench.results.archive_index import is_archive

    if args.runs:
        raise UsageError("site: give either run folders or --archive DIR, not both")
    if not is_archive(args.archive):
        raise UsageError(f"--archive {args.archive}: not an archive (no index.json)")
    site = build_archive_site(args.archive, args.out, metrics_markdown=markdown, last_n=args.last_n, days=args.days,
                              extra_html=extra)
    print(f"{site.runs} archived run(s), {site.series} series, {len(site.model_pages)} model pages")
    print(f"site: {site.index}")
    return 0
