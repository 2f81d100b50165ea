"""TTFT against visual tokens: one panel per model (and stack / cache state) with the measured
warm batch-1 requests as points and the fitted visual-token cost (``analysis/visual_cost.py``)
as a line, its slope in ms per 1,000 visual tokens and intercept in the panel title."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vlmbench.analysis.visual_cost import fit_all
from vlmbench.report.charts.style import ChartContext, new_figure, plain, plain_numbers, style_axes
from vlmbench.vocab.metrics import metric

NAME = "ttft_vs_visual_tokens"
FITTED = "ttft_ms"  # the fitted request-row column
TITLE = metric(FITTED).title("against visual tokens (points: requests; line: fitted cost)")
COLUMNS = 2


def fit_label(fit) -> str:
    ci = fit.row()
    low, high = ci["ms_per_1k_tokens_ci_low"], ci["ms_per_1k_tokens_ci_high"]
    band = f" [{low:,.1f}, {high:,.1f}]" if low is not None else ""
    quad = " + quadratic" if fit.c is not None else ""
    unit = metric(FITTED).unit
    return f"{fit.ms_per_1k:,.1f} {unit} / 1k tokens{band}, intercept {fit.a:,.1f} {unit}{quad}"


def panel_title(key: dict) -> str:
    extra = [str(key[k]) for k in ("backend", "dtype", "attn", "cache_state") if key.get(k) not in (None, "")]
    return plain(f"{key['model_id']}" + (f" ({', '.join(extra)})" if extra else ""))


def draw(ctx: ChartContext) -> Optional[Figure]:
    frame = pd.concat([g.frame for g in ctx.groups], ignore_index=True) if ctx.groups else pd.DataFrame()
    fits = [f for f in fit_all(frame, (FITTED,)) if f.fitted]
    if not fits:
        return None
    rows = math.ceil(len(fits) / COLUMNS)
    cols = min(COLUMNS, len(fits))
    fig = new_figure(ctx, height_in=1.2 + 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.suptitle(ctx.title(metric(FITTED).title("against visual tokens")), fontsize=10)
    for index, fit in enumerate(fits):
        ax = axes[index // cols][index % cols]
        x = np.asarray([p[0] for p in fit.points])
        y = np.asarray([p[1] for p in fit.points])
        ax.scatter(x, y, s=14, color=ctx.color(index), alpha=0.75, label="requests")
        line = np.linspace(x.min(), x.max(), 100)
        ax.plot(line, fit.predict(line), color="#333333", linewidth=1.4, label="fit")
        ax.set_title(panel_title(fit.key) + "\n" + plain(fit_label(fit)), fontsize=8)
        ax.set_xlabel("visual tokens", fontsize=8)
        ax.set_ylabel(metric(FITTED).heading(), fontsize=8)
        plain_numbers(ax.yaxis)
        style_axes(ax, "both")
    for index in range(len(fits), rows * cols):
        axes[index // cols][index % cols].set_visible(False)
    return fig
