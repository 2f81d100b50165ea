"""TTFT by model: p50 bar, whiskers to p90 and p99, every warm request as a dot, cold as a cross.

x: TTFT (model) in ms = generate start -> first token on the host; warm ok rows only.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.figure import Figure

from vlmbench.report.charts.style import ChartContext, label_rows, new_figure, style_axes

NAME = "ttft_by_model"
TITLE = "TTFT by model (p50 bar, p90/p99 whiskers, dots = requests)"


def draw(ctx: ChartContext) -> Optional[Figure]:
    if not any(g.warm_values("ttft_ms") for g in ctx.groups):
        return None
    fig = new_figure(ctx, len(ctx.groups))
    ax = fig.add_subplot()
    jitter = np.random.default_rng(0)
    cold_label = "cold (first request)"
    for i, (g, s) in enumerate(zip(ctx.groups, ctx.summaries)):
        values = g.warm_values("ttft_ms")
        if not values:
            continue
        ax.barh(i, s["ttft_ms_p50"], height=0.6, color=ctx.color(i), alpha=0.35,
                label="p50" if i == 0 else None)
        ax.plot([s["ttft_ms_p50"], s["ttft_ms_p99"]], [i, i], color="#333333", linewidth=1.2)
        ax.plot([s["ttft_ms_p90"]], [i], marker="|", markersize=14, color="#333333", linestyle="none",
                label="p90" if i == 0 else None)
        ax.plot([s["ttft_ms_p99"]], [i], marker="|", markersize=20, markeredgewidth=2.2, color="#000000",
                linestyle="none", label="p99" if i == 0 else None)
        ys = i + jitter.uniform(-0.2, 0.2, size=len(values))
        ax.scatter(values, ys, s=14, color=ctx.color(i), edgecolor="white", linewidth=0.4, zorder=3,
                   label="warm request" if i == 0 else None)
        cold = g.cold_values("ttft_ms")
        if cold:
            ax.scatter(cold, [i] * len(cold), s=36, marker="x", color="#c0392b", zorder=4, label=cold_label)
            cold_label = None
    label_rows(ax, ctx.labels)
    ax.set_xlabel("TTFT (ms): generate start → first token")
    ax.set_xlim(left=0)
    ax.set_title(ctx.title("TTFT by model"), fontsize=10.5)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    style_axes(ax)
    return fig
