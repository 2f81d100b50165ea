"""Stage breakdown: stacked bars of preprocess, vision, prefill, other TTFT and decode (ms).

Per warm request: preprocess = preprocess_ms; vision = vision_ms; prefill = prefill_ms;
other = ttft_ms - vision_ms - prefill_ms (input preparation and hand-over gaps; all of TTFT when
the stages are not measured, e.g. over HTTP); decode = e2e_ms - ttft_ms. Each segment is the
median over requests, so the bar is close to, not exactly, the median of preprocess + E2E.
"""

from __future__ import annotations

from typing import Any, Optional

from matplotlib.figure import Figure

from vlmbench.analysis.statistics import percentile
from vlmbench.report.charts.scale import panels
from vlmbench.report.charts.style import ChartContext, label_rows, new_figure, plain_numbers, style_axes
from vlmbench.report.groups import RequestGroup
from vlmbench.vocab.metrics import metric

NAME = "stage_breakdown"
PREPROCESS, VISION, PREFILL, TTFT = (metric(c) for c in ("preprocess_ms", "vision_ms", "prefill_ms", "ttft_ms"))
OTHER, DECODE = f"other {TTFT.label}", "decode"
UNIT = TTFT.unit  # every segment is a time in the registry's unit of TTFT
TITLE = f"Stage breakdown (median {UNIT} of each stage)"
SEGMENTS: tuple[tuple[str, str], ...] = (
    (PREPROCESS.label, "#8da0cb"), (VISION.label, "#66c2a5"), (PREFILL.label, "#fc8d62"),
    (OTHER, "#bbbbbb"), (DECODE, "#e78ac3"),
)


def _segments(row: dict[str, Any]) -> dict[str, Optional[float]]:
    ttft, e2e = row.get(TTFT.column), row.get("e2e_ms")
    vision, prefill = row.get(VISION.column), row.get(PREFILL.column)
    other = None if ttft is None else max(0.0, ttft - (vision or 0.0) - (prefill or 0.0))
    return {
        PREPROCESS.label: row.get(PREPROCESS.column),
        VISION.label: vision,
        PREFILL.label: prefill,
        OTHER: other,
        DECODE: None if ttft is None or e2e is None else e2e - ttft,
    }


def stage_medians(group: RequestGroup) -> dict[str, float]:
    """Median (in UNIT) of each segment over warm rows; a segment never measured is 0 in the stack."""
    per_row = [_segments(r) for r in group.warm_rows]
    out = {}
    for name, _ in SEGMENTS:
        values = [s[name] for s in per_row if s[name] is not None]
        out[name] = percentile(values, 50) or 0.0
    return out


def draw(ctx: ChartContext) -> Optional[Figure]:
    """Real-size and tiny models in separate panels where the totals span more than
    ``scale.SPAN_LIMIT`` (never a log axis: it would distort the stacked segments)."""
    if not any(g.warm_rows for g in ctx.groups):
        return None
    medians = [stage_medians(g) for g in ctx.groups]
    layout = panels(ctx.groups, [[sum(m.values())] for m in medians], allow_log=False)
    fig = new_figure(ctx, len(ctx.groups) + 2 * (len(layout) - 1))
    axes = fig.subplots(len(layout), 1, squeeze=False, height_ratios=[len(p.indices) for p in layout])[:, 0]
    title = ctx.title("Where the time goes: " + " / ".join(m.label for m in (PREPROCESS, VISION, PREFILL))
                      + f" / {DECODE}")
    for n, (ax, panel) in enumerate(zip(axes, layout)):
        rows = [medians[i] for i in panel.indices]
        left = [0.0] * len(rows)
        for name, color in SEGMENTS:
            widths = [m[name] for m in rows]
            ax.barh(range(len(rows)), widths, left=left, height=0.6, color=color, label=name if n == 0 else None,
                    edgecolor="white", linewidth=0.6)
            left = [a + b for a, b in zip(left, widths)]
        label_rows(ax, [ctx.labels[i] for i in panel.indices])
        ax.set_xlabel(f"time ({UNIT}), median of each stage over warm requests")
        plain_numbers(ax.xaxis)
        if panel.name:
            ax.set_title(panel.name, fontsize=9.5, loc="left")
        style_axes(ax)
    if len(layout) == 1:
        axes[0].set_title(title, fontsize=10.5)
    else:
        fig.suptitle(title, fontsize=10.5)
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    return fig
