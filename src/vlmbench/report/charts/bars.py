"""The bar-plus-dots chart that TTFT, decode tokens/s and peak memory share: one row per model,
horizontal bars of summary values, ticks at other summary values, and every warm request as a dot
(cold requests as crosses).

Inputs are column names only: ``Bars``/``Tick`` name summary columns (e.g. ``ttft_ms_p50``), ``dots``
names a request-row column (e.g. ``ttft_ms``). Where the bars and warm dots span more than
``scale.SPAN_LIMIT``, real-size and tiny models get separate panels and a panel that still spans
too much a log axis (see ``scale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from vlmbench.report.charts.scale import LOG_NOTE, Panel, log_floor, panels
from vlmbench.report.charts.style import ChartContext, label_rows, new_figure, plain_numbers, style_axes

COLD_LABEL = "cold (first request)"
DOT_LABEL = "warm request"


@dataclass(frozen=True)
class Bars:
    """One bar per model at summary column ``column``; ``color`` None: the model's own colour."""

    column: str
    label: str
    color: Optional[str] = None


@dataclass(frozen=True)
class Tick:
    """A vertical tick per model at summary column ``column``."""

    column: str
    label: str
    size: float = 14.0
    width: float = 1.0
    color: str = "#333333"
    zorder: float = 2.0


def _value(summary: dict[str, Any], column: str) -> Optional[float]:
    value = summary.get(column)
    return None if value is None else float(value)


class _Legend:
    """Each label once over all panels."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, label: str) -> Optional[str]:
        if label in self.seen:
            return None
        self.seen.add(label)
        return label


def bar_chart(ctx: ChartContext, *, what: str, xlabel: str, bars: Sequence[Bars], ticks: Sequence[Tick] = (),
              whisker: Optional[str] = None, dots: Optional[str] = None) -> Optional[Figure]:
    """Draw the chart; None when nothing is measured (no bar value, or no warm value of ``dots``).

    ``bars``: a kind never measured in these runs is left out; several kinds are grouped per model.
    ``whisker``: summary column a line runs to from the first bar. ``dots``: request-row column.
    """
    bars = [b for b in bars if any(_value(s, b.column) is not None for s in ctx.summaries)]
    if not bars or (dots is not None and not any(g.warm_values(dots) for g in ctx.groups)):
        return None
    values = [_row_values(g, s, bars, dots) for g, s in zip(ctx.groups, ctx.summaries)]
    layout = panels(ctx.groups, values)
    fig = new_figure(ctx, len(ctx.groups) * max(1, len(bars) // 2 + 1) + 2 * (len(layout) - 1))
    axes = fig.subplots(len(layout), 1, squeeze=False,
                        height_ratios=[max(1, len(p.indices)) for p in layout])[:, 0]
    legend, jitter = _Legend(), np.random.default_rng(0)
    for ax, panel in zip(axes, layout):
        _draw_panel(ax, ctx, panel, values, bars, ticks, whisker, dots, legend, jitter)
        ax.set_xlabel(xlabel + (LOG_NOTE if panel.log else ""))
        if panel.name:
            ax.set_title(panel.name, fontsize=9.5, loc="left")
        style_axes(ax)
    if len(layout) == 1:
        axes[0].set_title(ctx.title(what), fontsize=10.5)
    else:
        fig.suptitle(ctx.title(what), fontsize=10.5)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    return fig


def _row_values(group: Any, summary: dict[str, Any], bars: Sequence[Bars], dots: Optional[str]) -> list[float]:
    """What sizes a model's row: its bars and warm dots. Ticks and cold crosses mark within a row (a
    cold first request many times a tiny model's warm ones is one point): they do not decide the axis."""
    out = [v for b in bars if (v := _value(summary, b.column)) is not None]
    return out + (group.warm_values(dots) if dots is not None else [])


def _draw_panel(ax: Any, ctx: ChartContext, panel: Panel, values: Sequence[Sequence[float]], bars: Sequence[Bars],
                ticks: Sequence[Tick], whisker: Optional[str], dots: Optional[str], legend: _Legend,
                jitter: np.random.Generator) -> None:
    left = 0.0
    if panel.log:  # the axis starts at or below everything drawn
        marks = [v for i in panel.indices for t in ticks if (v := _value(ctx.summaries[i], t.column)) is not None]
        cold = [v for i in panel.indices for v in (ctx.groups[i].cold_values(dots) if dots else [])]
        left = log_floor([v for i in panel.indices for v in values[i]] + marks + cold)
    height = 0.8 / len(bars)
    labels = ctx.labels
    for row, i in enumerate(panel.indices):
        g, s = ctx.groups[i], ctx.summaries[i]
        if dots is not None and not g.warm_values(dots):
            continue
        for k, b in enumerate(bars):
            v = _value(s, b.column)
            if v is None:
                continue
            y = row if len(bars) == 1 else row - 0.4 + height * (k + 0.5)
            color, alpha = (ctx.color(i), 0.35) if b.color is None else (b.color, 1.0)
            ax.barh(y, v - left, left=left, height=0.6 if len(bars) == 1 else height * 0.92, color=color,
                    alpha=alpha, label=legend(b.label))
        start = _value(s, bars[0].column)
        end = _value(s, whisker) if whisker else None
        if start is not None and end is not None:
            ax.plot([start, end], [row, row], color="#333333", linewidth=1.2)
        for t in ticks:
            v = _value(s, t.column)
            if v is not None:
                ax.plot([v], [row], marker="|", markersize=t.size, markeredgewidth=t.width, color=t.color,
                        linestyle="none", zorder=t.zorder, label=legend(t.label))
        if dots is None:
            continue
        warm = g.warm_values(dots)
        ax.scatter(warm, row + jitter.uniform(-0.2, 0.2, size=len(warm)), s=14, color=ctx.color(i),
                   edgecolor="white", linewidth=0.4, zorder=3, label=legend(DOT_LABEL))
        cold = g.cold_values(dots)
        if cold:
            ax.scatter(cold, [row] * len(cold), s=36, marker="x", color="#c0392b", zorder=4,
                       label=legend(COLD_LABEL))
    label_rows(ax, [labels[i] for i in panel.indices])
    if panel.log:
        ax.set_xscale("log")
        ax.set_xlim(left=left)
    else:
        ax.set_xlim(left=0)
        plain_numbers(ax.xaxis)
