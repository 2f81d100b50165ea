"""TTFT by model: p50 bar, whiskers to p90 and p99, every warm request as a dot, cold as a cross.

x: TTFT (user) in ms = what a user waits for: in-process preprocess + generate start -> first token on the
host; endpoint request sent -> first output chunk (METRICS.md, "ttft_user_ms"); warm ok rows only.
"""

from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.bars import Bars, Tick, bar_chart
from vlmbench.report.charts.style import ChartContext
from vlmbench.vocab.metrics import metric

NAME = "ttft_by_model"
COLUMN = "ttft_user_ms"  # request-row column; the summary has COLUMN_p50 / _p90 / _p99
TITLE = metric(COLUMN).title("by model (p50 bar, p90/p99 whiskers where the sample supports them, dots = requests)")


def draw(ctx: ChartContext) -> Optional[Figure]:
    return bar_chart(
        ctx, what=metric(COLUMN).title("by model"), xlabel=metric(COLUMN).heading() + ": request → first token",
        bars=[Bars(f"{COLUMN}_p50", "p50")], whisker=f"{COLUMN}_p99", dots=COLUMN,
        ticks=[Tick(f"{COLUMN}_p90", "p90"), Tick(f"{COLUMN}_p99", "p99", size=20, width=2.2, color="#000000")],
    )
