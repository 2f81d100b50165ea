"""Decode tokens/s by model: p50 bar and every warm request as a dot.

x: decode rate in tokens/s = (n_out - 1) / (t_last - t_first), per request; warm ok rows only.
"""

from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.bars import Bars, bar_chart
from vlmbench.report.charts.style import ChartContext
from vlmbench.vocab.metrics import metric

NAME = "decode_tps_by_model"
COLUMN = "decode_tps"  # request-row column; the summary has COLUMN_p50
TITLE = metric(COLUMN).title("by model (p50 bar, dots = requests)")


def draw(ctx: ChartContext) -> Optional[Figure]:
    return bar_chart(ctx, what=metric(COLUMN).title("by model"),
                     xlabel=metric(COLUMN).heading() + ": (n_out − 1) / (t_last − t_first)",
                     bars=[Bars(f"{COLUMN}_p50", "p50")], dots=COLUMN)
