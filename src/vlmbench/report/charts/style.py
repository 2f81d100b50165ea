"""What every chart shares: the data it draws (:class:`ChartContext`), figure creation, titles,
the random-weights footnote and saving as PNG (Agg) and SVG.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot): nothing global is
changed, no window is ever opened, and PNG output goes through the Agg renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from vlmbench.report.groups import RequestGroup, series_labels

PALETTE = ("#3366cc", "#dc7f13", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
RANDOM_SUFFIX = " *"
RANDOM_NOTE = "* random weights: speed and memory follow the published shapes; output text is meaningless"
DPI = 110
WIDTH_IN = 9.0


def plain(text: Any) -> str:
    """Text shown literally by matplotlib: '$' would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


@dataclass(frozen=True)
class ChartContext:
    """The groups of one hardware label, with their summary rows (same order) and labels."""

    hardware: str
    groups: tuple[RequestGroup, ...]
    summaries: tuple[dict[str, Any], ...]

    @property
    def labels(self) -> list[str]:
        """Series labels, with RANDOM_SUFFIX on random-weight models."""
        return [plain(label) + (RANDOM_SUFFIX if g.is_random_weights else "")
                for label, g in zip(series_labels(list(self.groups)), self.groups)]

    @property
    def promptset_versions(self) -> str:
        return ", ".join(sorted({g.promptset_version for g in self.groups}))

    @property
    def any_random(self) -> bool:
        return any(g.is_random_weights for g in self.groups)

    def title(self, what: str) -> str:
        return plain(f"{what}\n{self.hardware} · prompt set {self.promptset_versions}")

    def color(self, index: int) -> str:
        return PALETTE[index % len(PALETTE)]


def new_figure(ctx: ChartContext, n_rows: int = 1, height_in: float | None = None) -> Figure:
    """A figure sized for ``n_rows`` horizontal bars (or a fixed height), with the footnote."""
    height = height_in if height_in is not None else max(3.2, 1.6 + 0.42 * n_rows)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    if ctx.any_random:
        fig.text(0.01, 0.005, RANDOM_NOTE, fontsize=7.5, color="#555555", ha="left", va="bottom")
        fig.get_layout_engine().set(h_pad=0.12)
    return fig


def style_axes(ax: Any, grid_axis: str = "x") -> None:
    ax.grid(axis=grid_axis, color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def plain_numbers(axis: Any) -> None:
    """Tick labels as plain numbers with thousands separators (1,000,000 ms, not 1.0 and an "1e6" offset)."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.12g}"))


def save(fig: Figure, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` (Agg) and ``name.svg``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, format="png", dpi=DPI)
    fig.savefig(svg, format="svg", metadata={"Date": None})
    return png, svg


def label_rows(ax: Any, labels: Sequence[str]) -> None:
    """Horizontal-bar axis: one tick per series, first series on top."""
    ax.set_yticks(range(len(labels)), labels=list(labels), fontsize=8.5)
    ax.invert_yaxis()
