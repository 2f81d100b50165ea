"""Latency CDF per model: empirical CDF of TTFT and of E2E over warm requests.

F(t) = (number of requests with latency <= t) / n, drawn as a step function; one line per series.
A panel whose values span more than ``scale.SPAN_LIMIT`` has a log x axis.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib.figure import Figure

from vlmbench.report.charts.scale import LOG_NOTE, wide
from vlmbench.report.charts.style import ChartContext, new_figure, style_axes
from vlmbench.vocab.metrics import metric

NAME = "latency_cdf"
PANELS = (("ttft_user_ms", metric("ttft_user_ms").heading() + ": request → first token"),
          ("e2e_ms", metric("e2e_ms").heading() + ": start → last token"))
TITLE = "Latency CDF per model (" + " and ".join(metric(column).label for column, _ in PANELS) + ")"


def draw(ctx: ChartContext) -> Optional[Figure]:
    if not any(g.warm_values(PANELS[0][0]) for g in ctx.groups):
        return None
    fig = new_figure(ctx, height_in=4.6)
    axes = fig.subplots(1, len(PANELS), sharey=True)
    labels = ctx.labels
    for ax, (column, xlabel) in zip(axes, PANELS):
        for i, g in enumerate(ctx.groups):
            values = np.sort(g.warm_values(column))
            if values.size == 0:
                continue
            fraction = np.arange(1, values.size + 1) / values.size
            ax.step(np.concatenate([[values[0]], values]), np.concatenate([[0.0], fraction]), where="post",
                    color=ctx.color(i), linewidth=1.6, label=labels[i])
        log = wide(v for g in ctx.groups for v in g.warm_values(column))
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel + (LOG_NOTE if log else ""))
        ax.set_ylim(0, 1.02)
        style_axes(ax, "both")
    axes[0].set_ylabel("fraction of requests ≤ x")
    axes[0].legend(fontsize=7.5, loc="lower right", framealpha=0.9)
    fig.suptitle(ctx.title("Latency CDF (warm requests)"), fontsize=10.5)
    return fig
