"""TTFT vs decode tokens/s, one point per (model, scenario), with the Pareto front marked.

x: TTFT (user) p50 (ms, lower is better; request -> first token); y: decode tokens/s p50 (higher is better). A point is on the
front when no other point has both a lower-or-equal TTFT and a higher-or-equal rate (one strict).
An axis whose values span more than ``scale.SPAN_LIMIT`` is logarithmic.
"""

from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from vlmbench.analysis.statistics import pareto_front
from vlmbench.report.charts.scale import LOG_NOTE, wide
from vlmbench.report.charts.style import ChartContext, new_figure, style_axes
from vlmbench.vocab.metrics import metric

NAME = "ttft_vs_tps_pareto"
X, Y = metric("ttft_user_ms"), metric("decode_tps")  # summary fields X.column_p50, Y.column_p50
TITLE = X.title(f"vs {Y.label} (Pareto front marked)")
LABEL_OFFSETS = (6, -8, 16, -18)  # points; alternate so labels of nearby points do not overlap


def draw(ctx: ChartContext) -> Optional[Figure]:
    x_field, y_field = f"{X.column}_p50", f"{Y.column}_p50"
    points = [(i, s[x_field], s[y_field]) for i, s in enumerate(ctx.summaries)
              if s[x_field] is not None and s[y_field] is not None]
    if not points:
        return None
    fig = new_figure(ctx, height_in=5.2)
    ax = fig.add_subplot()
    labels = ctx.labels
    front = set(pareto_front([(x, y) for _, x, y in points]))
    for k, (i, x, y) in enumerate(points):
        on_front = k in front
        ax.scatter([x], [y], s=70 if on_front else 40, color=ctx.color(i), zorder=3,
                   edgecolor="black" if on_front else "white", linewidth=1.4 if on_front else 0.5)
        ax.annotate(labels[i], (x, y), xytext=(7, LABEL_OFFSETS[k % len(LABEL_OFFSETS)]), textcoords="offset points",
                    fontsize=8, va="center")
    front_points = sorted((points[k][1], points[k][2]) for k in front)
    if front_points:
        xs, ys = zip(*front_points)
        ax.plot(xs, ys, linestyle="--", color="#333333", linewidth=1, zorder=2,
                label=f"Pareto front (lower {X.label}, higher {Y.label})", marker="o", markerfacecolor="none",
                markersize=12)
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
    log_x, log_y = wide(x for _, x, _ in points), wide(y for _, _, y in points)
    ax.set_xlabel(X.heading("p50") + "  ← better" + (LOG_NOTE if log_x else ""))
    ax.set_ylabel(Y.heading("p50") + "  ↑ better" + (LOG_NOTE if log_y else ""))
    ax.margins(x=0.25, y=0.15)
    if log_x:
        ax.set_xscale("log")
    else:
        ax.set_xlim(left=0)
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(ctx.title(X.title(f"vs {Y.label}")), fontsize=10.5)
    style_axes(ax, "both")
    return fig
