"""The short table ``vlmbench run`` prints at the end: medians per model, from rows."""

from __future__ import annotations

import statistics
from typing import Any, Iterable, Optional

from vlmbench.results.schema import Status
from vlmbench.results.selection import is_warm_ok
from vlmbench.vocab.metrics import metrics


def _median(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# (metric column, digits): headers take the registry's label and unit
QUICK_METRICS: tuple[tuple[str, int], ...] = (("ttft_ms", 1), ("ttft_user_ms", 1), ("tpot_ms", 2), ("decode_tps", 1))


def median_table(rows: list[dict[str, Any]]) -> str:
    """Per (model, scenario): requests ok/total, median TTFT, TTFT(user), TPOT and tok/s of warm rows."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model_id"], r.get("scenario") or ""), []).append(r)
    shown = metrics(*(column for column, _ in QUICK_METRICS))
    header = ("model", "scenario", "ok/n", *(m.heading() for m in shown), "weights")
    lines = [header]
    for (model, scenario), group in groups.items():
        ok = [r for r in group if r["status"] == Status.OK.value]
        warm = [r for r in ok if is_warm_ok(r)]  # never the cold row in their place
        lines.append((
            model, scenario, f"{len(ok)}/{len(group)}",
            *(_fmt(_median(r[column] for r in warm), digits) for column, digits in QUICK_METRICS),
            group[0].get("weights") or "-",
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
