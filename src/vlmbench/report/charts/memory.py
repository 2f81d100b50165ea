"""Peak memory by model: grouped bars of every peak measured (MiB), weights marked with a line.

Values are the maximum over ok rows of peak_rss_mb (worker process), peak_cuda_allocated_mb,
peak_cuda_reserved_mb and peak_nvml_mb (per-process device memory); a kind never measured in
these runs is left out. The black tick is weights_mb (parameters and buffers).
"""

from __future__ import annotations

from typing import Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.bars import Bars, Tick, bar_chart
from vlmbench.report.charts.style import ChartContext
from vlmbench.vocab.metrics import PEAK_MEMORY, metric

NAME = "peak_memory"
TITLE = metric(PEAK_MEMORY).title(f"by model ({metric(PEAK_MEMORY).unit})")
KINDS: tuple[Bars, ...] = (
    Bars("peak_rss_mb_max", "process RSS (host)", "#8da0cb"),
    Bars("peak_cuda_allocated_mb_max", "CUDA allocated", "#66c2a5"),
    Bars("peak_cuda_reserved_mb_max", "CUDA reserved", "#fc8d62"),
    Bars("peak_nvml_mb_max", "NVML device memory", "#e78ac3"),
)
WEIGHTS = Tick("weights_mb", "weights", size=20, width=2, color="black", zorder=4)


def draw(ctx: ChartContext) -> Optional[Figure]:
    return bar_chart(ctx, what=metric(PEAK_MEMORY).title("by model"), xlabel=metric(PEAK_MEMORY).heading(), bars=KINDS,
                     ticks=[WEIGHTS])
