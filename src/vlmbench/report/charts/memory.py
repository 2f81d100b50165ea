"""Peak memory by model: grouped bars of every peak measured (MiB), weights marked with a line.

Values are the maximum over ok rows of peak_rss_mb (worker process), peak_cuda_allocated_mb,
peak_cuda_reserved_mb and peak_nvml_mb (per-process device memory); a kind never measured in
these runs is left out. The black tick is weights_mb (parameters and buffers).
"""

from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.style import ChartContext, label_rows, new_figure, style_axes

NAME = "peak_memory"
TITLE = "Peak memory by model (MiB)"
KINDS: tuple[tuple[str, str, str], ...] = (
    ("peak_rss_mb_max", "process RSS (host)", "#8da0cb"),
    ("peak_cuda_allocated_mb_max", "CUDA allocated", "#66c2a5"),
    ("peak_cuda_reserved_mb_max", "CUDA reserved", "#fc8d62"),
    ("peak_nvml_mb_max", "NVML device memory", "#e78ac3"),
)


def draw(ctx: ChartContext) -> Optional[Figure]:
    kinds = [k for k in KINDS if any(s.get(k[0]) is not None for s in ctx.summaries)]
    if not kinds:
        return None
    fig = new_figure(ctx, len(ctx.groups) * max(1, len(kinds) // 2 + 1))
    ax = fig.add_subplot()
    height = 0.8 / len(kinds)
    for k, (column, label, color) in enumerate(kinds):
        ys = [i - 0.4 + height * (k + 0.5) for i in range(len(ctx.summaries))]
        values = [s.get(column) or 0.0 for s in ctx.summaries]
        ax.barh(ys, values, height=height * 0.92, color=color, label=label)
    weights = [(i, s["weights_mb"]) for i, s in enumerate(ctx.summaries) if s.get("weights_mb") is not None]
    if weights:
        ax.scatter([w for _, w in weights], [i for i, _ in weights], marker="|", s=400, color="black",
                   linewidths=2, zorder=4, label="weights")
    label_rows(ax, ctx.labels)
    ax.set_xlabel("peak memory (MiB)")
    ax.set_xlim(left=0)
    ax.set_title(ctx.title("Peak memory by model"), fontsize=10.5)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    style_axes(ax)
    return fig
