"""Decode tokens/s by model: p50 bar and every warm request as a dot.

x: decode rate in tokens/s = (n_out - 1) / (t_last - t_first), per request; warm ok rows only.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.figure import Figure

from vlmbench.report.charts.style import ChartContext, label_rows, new_figure, style_axes

NAME = "decode_tps_by_model"
TITLE = "Decode tokens/s by model (p50 bar, dots = requests)"


def draw(ctx: ChartContext) -> Optional[Figure]:
    if not any(g.warm_values("decode_tps") for g in ctx.groups):
        return None
    fig = new_figure(ctx, len(ctx.groups))
    ax = fig.add_subplot()
    jitter = np.random.default_rng(0)
    for i, (g, s) in enumerate(zip(ctx.groups, ctx.summaries)):
        values = g.warm_values("decode_tps")
        if not values:
            continue
        ax.barh(i, s["decode_tps_p50"], height=0.6, color=ctx.color(i), alpha=0.35, label="p50" if i == 0 else None)
        ax.scatter(values, i + jitter.uniform(-0.2, 0.2, size=len(values)), s=14, color=ctx.color(i),
                   edgecolor="white", linewidth=0.4, zorder=3, label="warm request" if i == 0 else None)
    label_rows(ax, ctx.labels)
    ax.set_xlabel("decode rate (tokens/s): (n_out − 1) / (t_last − t_first)")
    ax.set_xlim(left=0)
    ax.set_title(ctx.title("Decode tokens/s by model"), fontsize=10.5)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    style_axes(ax)
    return fig
