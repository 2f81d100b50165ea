"""``vlmbench history --archive DIR [--model M] [--hardware H] [--changes] [--runs]``: the current
value of every series (median of the last N run medians, or of the last D days, with its spread),
the run medians with their CIs (``--runs``) and the change points (``--changes``)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "history"
HELP = "per model x hardware x scenario: current values, run medians with CIs, change points (from an archive)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vlmbench.archive.series import DEFAULT_LAST_N

    p.add_argument("--archive", type=Path, required=True, metavar="DIR")
    p.add_argument("--model", action="append", dest="models", metavar="M", help="only this model (repeatable)")
    p.add_argument("--hardware", action="append", metavar="H", help="only this hardware label (repeatable)")
    window = p.add_mutually_exclusive_group()
    window.add_argument("--last-n", type=int, default=DEFAULT_LAST_N, metavar="N",
                        help=f"current value = median of the last N run medians (default {DEFAULT_LAST_N})")
    window.add_argument("--days", type=float, default=None, metavar="D",
                        help="current value = median of the run medians of the last D days of each series")
    p.add_argument("--changes", action="store_true", help="list the change points of every series")
    p.add_argument("--runs", action="store_true", help="list every run median with its 95%% CI")


def _fmt(value, digits: int = 4) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}g}"


def execute(args: argparse.Namespace) -> int:
    from vlmbench.archive.history import build_history
    from vlmbench.archive.series import CELL_KEYS, CONFIG, METRICS, ci_text
    from vlmbench.errors import UsageError
    from vlmbench.results import load
    from vlmbench.results.archive_index import is_archive

    if not is_archive(args.archive):
        raise UsageError(f"--archive {args.archive}: not an archive (no index.json)")
    if args.last_n < 1:
        raise UsageError(f"--last-n {args.last_n}: must be at least 1")
    history = build_history(load(args.archive), last_n=args.last_n, days=args.days)

    def keep(frame):
        if args.models:
            frame = frame[frame["model_id"].isin(args.models)]
        if args.hardware:
            frame = frame[frame["hardware"].isin(args.hardware)]
        return frame

    current, medians, changes = keep(history.current), keep(history.medians), keep(history.changes)
    if current.empty:
        raise UsageError(f"--archive {args.archive}: no series match the filters")
    window = f"last {args.days:g} days" if args.days is not None else f"last {args.last_n} runs"
    print(f"current values (median of the run medians of the {window}; [min-max] of those; ± between-run spread)")
    for _, row in current.iterrows():
        print(" / ".join(str(row[k]) for k in CELL_KEYS) + f"  ({row['runs']} runs, last {row['last_run_id']})")
        print(f"    configuration: {row[CONFIG]}")
        for m in METRICS:
            spread = row.get(f"{m.column}_spread_pct")
            print(f"    {m.label:<12} {_fmt(row[m.column]):>9} {m.unit:<9} [{_fmt(row[m.column + '_min'])}-"
                  f"{_fmt(row[m.column + '_max'])}]  ±{_fmt(spread, 3)}%")
    if args.runs:
        print("\nrun medians (95% CI)")
        for cell, rows in medians.groupby([*CELL_KEYS, CONFIG], sort=True):
            print(" / ".join(map(str, cell[:-1])) + f"  [{cell[-1]}]")
            for _, r in rows.iterrows():
                cells = "  ".join(f"{m.label} {_fmt(r[m.column])} {ci_text(r, m.column, _fmt)}" for m in METRICS)
                flag = f"  <- change: {r['change_metrics']}" if isinstance(r.get("change_metrics"), str) else ""
                if isinstance(r.get("outlier_metrics"), str):
                    flag += f"  <- outlier (one-off, not a change): {r['outlier_metrics']}"
                print(f"    {r['run_time']:%Y-%m-%d %H:%M}  {r['run_id']}  {cells}{flag}")
    if args.changes:
        odd = keep(history.outliers)
        print(f"\nchange points ({len(changes)}; before/after: medians of the two segments compared)")
        for _, c in changes.iterrows():
            print(f"    {' / '.join(str(c[k]) for k in CELL_KEYS)}: {c['label']} {_fmt(c['before'])} -> "
                  f"{_fmt(c['after'])} ({c['shift_pct']:+.1f}%) at run {c['run_id']} ({c['run_time']:%Y-%m-%d})")
        print(f"\noutliers ({len(odd)}; single runs far from their neighbours: never a change)")
        for _, c in odd.iterrows():
            print(f"    {' / '.join(str(c[k]) for k in CELL_KEYS)}: {c['label']} {_fmt(c['value'])} "
                  f"({c['shift_pct']:+.1f}% from the series median) at run {c['run_id']} ({c['run_time']:%Y-%m-%d})")
    return 0
