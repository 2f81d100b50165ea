"""The short table ``vlmbench run`` prints at the end: medians per model, from rows."""

from __future__ import annotations

import statistics
from typing import Any, Iterable, Optional

from vlmbench.results.schema import Status
from vlmbench.results.selection import is_warm_ok


def _median(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _fmt(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def median_table(rows: list[dict[str, Any]]) -> str:
    """Per (model, scenario): requests ok/total, median TTFT, TTFT(user), TPOT and tok/s of warm rows."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model_id"], r.get("scenario") or ""), []).append(r)
    header = ("model", "scenario", "ok/n", "TTFT ms", "TTFT user ms", "TPOT ms", "tok/s", "weights")
    lines = [header]
    for (model, scenario), group in groups.items():
        ok = [r for r in group if r["status"] == Status.OK.value]
        warm = [r for r in ok if is_warm_ok(r)]  # never the cold row in their place
        lines.append((
            model, scenario, f"{len(ok)}/{len(group)}",
            _fmt(_median(r["ttft_ms"] for r in warm)),
            _fmt(_median(r["ttft_user_ms"] for r in warm)),
            _fmt(_median(r["tpot_ms"] for r in warm), 2),
            _fmt(_median(r["decode_tps"] for r in warm)),
            group[0].get("weights") or "-",
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
