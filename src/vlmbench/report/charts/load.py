"""Throughput and latency against load, where a model ran at several batch sizes or concurrencies.

Left: window throughput (tokens/s) = sum of n_out over a batch/load window / window duration
(an endpoint window: over its steady interval), median over windows; each point is labelled with
its window size (``n=`` requests per window, median over windows). Right: TTFT p50 and E2E p50 (ms) of warm requests. x is the batch size
(in-process) or the concurrency (endpoint load modes). One line per (run, model, output length).
A panel whose values span more than ``scale.SPAN_LIMIT`` has a log y axis.
"""

from __future__ import annotations

from typing import Any, Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.scale import LOG_NOTE, wide
from vlmbench.report.charts.style import ChartContext, new_figure, plain, style_axes
from vlmbench.report.groups import RequestGroup
from vlmbench.vocab.metrics import metric

NAME = "load_curves"
TITLE = "Throughput and latency against load (batch size or concurrency)"


def load_level(group: RequestGroup) -> Optional[int]:
    batch, concurrency = group.load_level
    return concurrency if concurrency is not None else batch


def _series(ctx: ChartContext) -> dict[tuple[str, str, Any], list[tuple[int, dict[str, Any]]]]:
    series: dict[tuple[str, str, Any], list[tuple[int, dict[str, Any]]]] = {}
    for g, s in zip(ctx.groups, ctx.summaries):
        level = load_level(g)
        if level is not None:
            series.setdefault((g.run_id, g.model_id, g.first("max_new_tokens")), []).append((level, s))
    return {k: sorted(v, key=lambda p: p[0]) for k, v in series.items() if len({lvl for lvl, _ in v}) > 1}


def has_load_variation(ctx: ChartContext) -> bool:
    return bool(_series(ctx))


def draw(ctx: ChartContext) -> Optional[Figure]:
    series = _series(ctx)
    if not series:
        return None
    uses_concurrency = any(g.load_level[1] is not None for g in ctx.groups)
    xlabel = "concurrency (requests in flight)" if uses_concurrency else "batch size (requests per generate call)"
    fig = new_figure(ctx, height_in=4.6)
    left, right = fig.subplots(1, 2)
    several_runs = len({k[0] for k in series}) > 1
    for i, ((run_id, model, n_out), points) in enumerate(series.items()):
        xs = [lvl for lvl, _ in points]
        name = plain(f"{model} · {n_out} tok" + (f" · {run_id}" if several_runs else ""))
        color = ctx.color(i)
        tps = [s["window_output_tps_p50"] for _, s in points]
        left.plot(xs, tps, marker="o", color=color, label=name)
        for x, y, (_, s) in zip(xs, tps, points):  # the window size beside every window figure
            if y is not None and s.get("window_requests_p50") is not None:
                left.annotate(f"n={s['window_requests_p50']:g}", (x, y), textcoords="offset points", xytext=(4, 4),
                              fontsize=7, color=color)
        right.plot(xs, [s["ttft_user_ms_p50"] for _, s in points], marker="o", color=color,
                   label=f"{name}: {metric('ttft_user_ms').label}")
        right.plot(xs, [s["e2e_ms_p50"] for _, s in points], marker="s", linestyle="--", color=color,
                   label=f"{name}: {metric('e2e_ms').label}")
    left.set_xlabel(xlabel)
    left.set_ylabel(metric("window_output_tps").heading())
    right.set_xlabel(xlabel)
    right.set_ylabel(f"latency p50 ({metric('ttft_user_ms').unit})")
    for ax in (left, right):
        if wide(y for line in ax.get_lines() for y in line.get_ydata()):
            ax.set_yscale("log")
            ax.set_ylabel(ax.get_ylabel() + LOG_NOTE)
        else:
            ax.set_ylim(bottom=0)
        ax.xaxis.get_major_locator().set_params(integer=True)
        style_axes(ax, "both")
        ax.legend(fontsize=7.5, loc="best", framealpha=0.9)
    fig.suptitle(ctx.title("Throughput and latency against load"), fontsize=10.5)
    return fig
