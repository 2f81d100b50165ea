"""Charts, one module each. A chart module has ``NAME`` (file stem), ``TITLE`` (caption) and
``draw(ctx) -> Figure | None`` (None: nothing to draw for these runs, e.g. a single load level).

:func:`render_charts` draws every chart for each hardware label and writes PNG and SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from vlmbench.report.charts import cdf, decode_tps, load, memory, pareto, stacks, stages, ttft, visual_tokens
from vlmbench.report.charts.style import ChartContext, save
from vlmbench.report.groups import RequestGroup, by_hardware
from vlmbench.vocab.slug import slug

CHARTS = (ttft, decode_tps, pareto, cdf, stages, memory, load, visual_tokens, stacks)


@dataclass(frozen=True)
class ChartFile:
    hardware: str
    name: str
    title: str
    png: Path  # relative to the output folder
    svg: Path


def contexts(groups: Sequence[RequestGroup], summaries: Sequence[dict[str, Any]]) -> list[ChartContext]:
    """One ChartContext per hardware label (groups and summaries are parallel lists); groups without
    a warm ok row have nothing to draw and are left out (the tables still list them)."""
    summary_of = {id(g): s for g, s in zip(groups, summaries)}
    drawable = [g for g in groups if g.warm_rows]
    return [ChartContext(hw, tuple(gs), tuple(summary_of[id(g)] for g in gs))
            for hw, gs in by_hardware(drawable).items()]


def render_charts(groups: Sequence[RequestGroup], summaries: Sequence[dict[str, Any]], out_dir: Path,
                  subdir: str = "charts", charts: Sequence[ModuleType] = CHARTS) -> list[ChartFile]:
    """Draw ``charts`` (default: all) per hardware into ``out_dir/subdir/<hardware slug>/``."""
    files = []
    for ctx in contexts(groups, summaries):
        folder = Path(subdir) / slug(ctx.hardware)
        for chart in charts:
            fig = chart.draw(ctx)
            if fig is None:
                continue
            png, svg = save(fig, out_dir / folder, chart.NAME)
            files.append(ChartFile(ctx.hardware, chart.NAME, chart.TITLE, png.relative_to(out_dir),
                                   svg.relative_to(out_dir)))
    return files
