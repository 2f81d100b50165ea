"""Trend chart of one series and metric, as inline SVG (no script, no external resource): run
medians as points, their 95 % CI as a shaded band, the rolling current value as a line, change
points as dashed vertical lines. Every text (axis labels, tooltips) is escaped."""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from vlmbench.archive.series import ci_text
from vlmbench.report.html import esc

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 44
BAND, POINT, LINE, CHANGE = "#9ec5ff", "#1f5fbf", "#e07b00", "#c0392b"


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / count))
    for mult in (1, 2, 5, 10):
        if (high - low) / (step * mult) <= count:
            step *= mult
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def trend_svg(rows: pd.DataFrame, column: str, label: str, unit: str, change_run_ids: Sequence[str] = ()) -> str:
    """``rows``: one series' run medians in time order (``run_time``, ``run_id``, ``<column>``,
    ``<column>_lo``, ``<column>_hi``, ``<column>_current``)."""
    data = rows.dropna(subset=[column]).reset_index(drop=True)
    title = f"{label} p50 over time ({unit})"
    if data.empty:
        return f'<p class="empty">{esc(title)}: no values</p>'
    lo = data[f"{column}_lo"].fillna(data[column])
    hi = data[f"{column}_hi"].fillna(data[column])
    y_min, y_max = float(min(lo.min(), data[column].min())), float(max(hi.max(), data[column].max()))
    pad = (y_max - y_min) * 0.08 or abs(y_max) * 0.05 or 1.0
    y_min, y_max = max(0.0, y_min - pad), y_max + pad
    times = data["run_time"].map(lambda t: t.timestamp()).astype(float)
    t0, t1 = float(times.min()), float(times.max())
    span = (t1 - t0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (plot_w / 2 if t1 == t0 else (t - t0) / span * plot_w)

    def y(v: float) -> float:
        return TOP + plot_h - (v - y_min) / (y_max - y_min) * plot_h

    xs = [x(t) for t in times]
    band = " ".join(f"{xx:.1f},{y(v):.1f}" for xx, v in zip(xs, hi)) + " " + " ".join(
        f"{xx:.1f},{y(v):.1f}" for xx, v in zip(reversed(xs), reversed(list(lo))))
    parts = [f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{esc(title)}" data-metric="{esc(column)}">',
             f'<title>{esc(title)}</title>',
             f'<text x="{LEFT}" y="16" font-size="13" fill="#333">{esc(title)}</text>',
             f'<polygon class="ci-band" points="{band}" fill="{BAND}" fill-opacity="0.45" stroke="none"/>']
    for tick in _nice_ticks(y_min, y_max):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="#555">'
                     f'{esc(f"{tick:g}")}</text>')
    current = data.get(f"{column}_current")
    if current is not None and current.notna().any():
        path = " ".join(f"{xx:.1f},{y(v):.1f}" for xx, v in zip(xs, current) if v == v)
        parts.append(f'<polyline class="current" points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    changes = set(map(str, change_run_ids))
    for xx, (_, r) in zip(xs, data.iterrows()):
        if str(r["run_id"]) in changes:
            parts.append(f'<line class="change-point" x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
                         f'stroke="{CHANGE}" stroke-dasharray="5,3" stroke-width="1.5">'
                         f'<title>{esc("change point at run " + str(r["run_id"]))}</title></line>')
    for xx, (_, r) in zip(xs, data.iterrows()):
        tip = f"{r['run_id']} ({r['run_time']:%Y-%m-%d %H:%M}): {r[column]:.4g} {unit} {ci_text(r, column)}"
        parts.append(f'<circle class="run" cx="{xx:.1f}" cy="{y(r[column]):.1f}" r="3.5" fill="{POINT}">'
                     f'<title>{esc(tip)}</title></circle>')
    first, last = data["run_time"].iloc[0], data["run_time"].iloc[-1]
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 12}" font-size="11" fill="#555">{esc(f"{first:%Y-%m-%d}")}</text>'
                 f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" font-size="11" text-anchor="end" fill="#555">'
                 f'{esc(f"{last:%Y-%m-%d}")}</text>'
                 f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#888"/>'
                 f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


BAR_COLOURS = ("#3366cc", "#dc7f13", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
BAR_H, LABEL_W = 22, 260


def stack_bars_svg(bars: Sequence[tuple[str, str, float]], title: str, unit: str, column: str) -> str:
    """Horizontal bars, one per (stack, label, value): one model's current values on several stacks side by
    side, coloured by stack (the same stack the same colour in every chart of the page)."""
    data = [(s, lab, v) for s, lab, v in bars if v is not None and v == v]
    if not data:
        return f'<p class="empty">{esc(title)}: no values</p>'
    colour = {s: BAR_COLOURS[k % len(BAR_COLOURS)] for k, s in enumerate(dict.fromkeys(s for s, _, _ in data))}
    top = max(v for _, _, v in data) * 1.15 or 1.0
    plot_w = WIDTH - LABEL_W - RIGHT
    height = TOP + BAR_H * len(data) + 30
    parts = [f'<svg class="stack-bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{esc(title)}" data-metric="{esc(column)}">',
             f'<title>{esc(title)}</title>',
             f'<text x="8" y="16" font-size="13" fill="#333">{esc(title)} ({esc(unit)})</text>']
    for k, (stack, label, value) in enumerate(data):
        y0 = TOP + k * BAR_H
        w = value / top * plot_w
        parts.append(f'<text x="{LABEL_W - 6}" y="{y0 + 15}" font-size="11" text-anchor="end" fill="#333">'
                     f'{esc(label)}</text>'
                     f'<rect class="bar" data-stack="{esc(stack)}" x="{LABEL_W}" y="{y0 + 3}" width="{w:.1f}" '
                     f'height="{BAR_H - 6}" fill="{colour[stack]}"><title>{esc(f"{label}: {value:.4g} {unit}")}'
                     f'</title></rect>'
                     f'<text x="{LABEL_W + w + 4:.1f}" y="{y0 + 15}" font-size="11" fill="#555">'
                     f'{esc(f"{value:.4g}")}</text>')
    base = TOP + BAR_H * len(data)
    parts.append(f'<line x1="{LABEL_W}" x2="{LABEL_W}" y1="{TOP}" y2="{base}" stroke="#888"/>'
                 f'<line x1="{LABEL_W}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="#888"/>'
                 f'<text x="{LABEL_W}" y="{base + 16}" font-size="11" fill="#555">0</text>'
                 f'<text x="{WIDTH - RIGHT}" y="{base + 16}" font-size="11" text-anchor="end" fill="#555">'
                 f'{esc(f"{top:.4g}")}</text>')
    parts.append("</svg>")
    return "".join(parts)
