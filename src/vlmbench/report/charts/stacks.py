"""One model on several serving stacks, side by side: TTFT (user) and TPOT medians per stack.

Drawn for each model of a hardware label that was measured on two stacks or more (in-process ``hf``, an
engine ``vllm-<version>+<recipe>`` / ``sglang-...``, an endpoint ``endpoint:<kind>``): one row of panels per
model, a panel per metric, one bar per (stack, scenario) in the stack's colour, whiskers at the median's
bootstrap 95 % CI where the sample supports one. Stacks are never pooled: each bar is one stack's own
warm ok rows. The hardware is the chart's (one chart per hardware label), so bars compare stacks on the
same machine. TTFT user is the scope that means the same on every stack (request -> first token, what a
user waits for; METRICS.md); TPOT is per decode token.
"""

from __future__ import annotations

from typing import Any, Optional

from matplotlib.figure import Figure

from vlmbench.report.charts.style import ChartContext, new_figure, plain, plain_numbers, style_axes
from vlmbench.vocab.metrics import metric

NAME = "stacks_by_model"
COLUMNS = ("ttft_user_ms", "tpot_ms")  # request-row columns; the summary has COLUMN_p50 and its CI
SHOWN = " and ".join(metric(c).label for c in COLUMNS)  # metric words from the registry
TITLE = f"One model on several stacks (in-process, engines, endpoints): {SHOWN} medians side by side"
UNKNOWN_STACK = "stack not recorded"


def _stack(group: Any) -> str:
    return group.stack or UNKNOWN_STACK


def _value(summary: dict[str, Any], key: str) -> Optional[float]:
    value = summary.get(key)
    return None if value is None else float(value)


def _number(value: float) -> str:
    """A bar's value as printed beside it: 1,234 / 56.7 / 0.123 (never an exponent)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2e}"


def compared(ctx: ChartContext) -> dict[str, list[int]]:
    """Model id -> indices of its groups, for the models measured on two stacks or more (with a value)."""
    by_model: dict[str, list[int]] = {}
    for i, (g, s) in enumerate(zip(ctx.groups, ctx.summaries)):
        if any(_value(s, f"{c}_p50") is not None for c in COLUMNS):
            by_model.setdefault(g.model_id, []).append(i)
    return {m: idx for m, idx in by_model.items() if len({_stack(ctx.groups[i]) for i in idx}) >= 2}


def draw(ctx: ChartContext) -> Optional[Figure]:
    models = compared(ctx)
    if not models:
        return None
    stacks = list(dict.fromkeys(_stack(ctx.groups[i]) for idx in models.values() for i in idx))
    colour = {s: ctx.color(k) for k, s in enumerate(stacks)}
    n_bars = sum(len(idx) for idx in models.values())
    fig = new_figure(ctx, n_bars + 2 * len(models))
    axes = fig.subplots(len(models), len(COLUMNS), squeeze=False,
                        height_ratios=[len(idx) for idx in models.values()])
    for row, (model, indices) in enumerate(models.items()):
        several = {_stack(ctx.groups[i]) for i in indices if sum(_stack(ctx.groups[j]) == _stack(ctx.groups[i])
                                                                  for j in indices) > 1}
        labels = [plain(_stack(ctx.groups[i]) + (f" · {ctx.groups[i].scenario}" if _stack(ctx.groups[i]) in several
                                                   else "")) for i in indices]
        for col, column in enumerate(COLUMNS):
            ax = axes[row][col]
            for y, i in enumerate(indices):
                s = ctx.summaries[i]
                value = _value(s, f"{column}_p50")
                if value is None:
                    continue
                low, high = _value(s, f"{column}_p50_ci_low"), _value(s, f"{column}_p50_ci_high")
                err = [[max(0.0, value - low)], [max(0.0, high - value)]] if low is not None and high is not None else None
                ax.barh(y, value, height=0.6, color=colour[_stack(ctx.groups[i])], alpha=0.8, xerr=err,
                        error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1})
                ax.annotate(_number(value), (value if high is None else max(value, high), y), xytext=(5, 0),
                            textcoords="offset points", va="center", fontsize=7.5, color="#333333")
            ax.set_yticks(range(len(indices)), labels=labels if col == 0 else [""] * len(indices), fontsize=8.5)
            ax.invert_yaxis()
            ax.set_xlim(left=0)
            ax.margins(x=0.15)
            plain_numbers(ax.xaxis)
            style_axes(ax)
            ax.set_xlabel(metric(column).heading("p50"), fontsize=8.5)
            if col == 0:
                ax.set_title(plain(model) + (" *" if ctx.groups[indices[0]].is_random_weights else ""),
                             fontsize=9.5, loc="left")
    fig.suptitle(ctx.title(f"One model, several stacks: {SHOWN} (p50, 95% CI)"), fontsize=10.5)
    return fig
