"""The leaderboard page (``index.html``): filters, one sortable table per hardware, charts, runs."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from vlmbench.report.charts import ChartFile
from vlmbench.report.html import esc
from vlmbench.report.model_size import SIZE_CLASSES, UNKNOWN_SIZE, size_class
from vlmbench.report.response_table import by_hardware, stack_text
from vlmbench.report.runs import RunData
from vlmbench.report.sections import RANDOM_LEGEND, hardware_section, runs_table

FILTERS: tuple[tuple[str, str, Callable[[dict[str, Any]], str]], ...] = (
    ("hardware", "Hardware", lambda s: str(s["hardware"])),
    ("size", "Model size", lambda s: size_class(s.get("parameters"))),
    ("weights", "Weights", lambda s: str(s.get("weights"))),
    ("stack", "Stack", stack_text),
)
_SIZE_ORDER = [label for _, label in SIZE_CLASSES] + [UNKNOWN_SIZE]


def _options(name: str, values: set[str]) -> list[str]:
    if name == "size":
        return [v for v in _SIZE_ORDER if v in values]
    return sorted(values)


def filters_html(summaries: Sequence[dict[str, Any]]) -> str:
    controls = []
    for name, label, value_of in FILTERS:
        options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>'
                          for v in _options(name, {value_of(s) for s in summaries}))
        controls.append(f'<label>{esc(label)}<select data-filter="{esc(name)}" id="filter-{esc(name)}">'
                        f'<option value="">all</option>{options}</select></label>')
    return (f'<div class="filters">{"".join(controls)}'
            f'<span class="count"><span id="shown-count">{len(summaries)}</span> of {len(summaries)} rows</span></div>')


def leaderboard_html(runs: Sequence[RunData], summaries: Sequence[dict[str, Any]], charts: Sequence[ChartFile],
                     model_href: Callable[[str], str], summary_csv: str) -> str:
    sections = "".join(hardware_section(hw, rows, charts, model_href=model_href)
                       for hw, rows in by_hardware(summaries).items())
    legend = RANDOM_LEGEND if any(s.get("weights") == "random" for s in summaries) else ""
    return (
        '<p class="lead">How fast vision-language models answer: time to first token, tokens per second and '
        "total time, one table per hardware. Medians (p50) of warm requests, times in ms. Click a column "
        'header to sort; click a model for its page. Definitions: <a href="methodology.html">methodology</a>. '
        f'Data: <a href="{esc(summary_csv)}">summary.csv</a>.</p>'
        f"{legend}{filters_html(summaries)}{sections}"
        f"<h2>Runs merged here</h2>{runs_table(runs)}"
    )
