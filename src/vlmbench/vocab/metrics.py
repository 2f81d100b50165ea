"""The metric registry: one declaration of each reported metric's name (its column), label, unit
and direction (higher or lower is better). Summary, compare, gate, history and the site read
labels, units and directions from here and nowhere else.

``distribution``: False for a per-run peak (peak memory): no per-request distribution, so no
median CI and no gate test. ``redundant_with``: the metric carries the same information as
another (tokens/s = 1000 / TPOT per request; TTFT user = TTFT + preprocessing): a test family
uses one of each pair (the gate: TTFT user, TPOT)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Metric:
    column: str
    label: str
    unit: str
    higher_is_better: bool = False
    distribution: bool = True
    redundant_with: Optional[str] = None

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    def label_with_unit(self) -> str:
        return f"{self.label} ({self.unit})"

    def heading(self, stat: str = "", scope: str = "") -> str:
        """The one form a table header or axis label takes: ``label [stat] (unit[, scope])``; the
        unit is left out where the label already ends with it (decode tokens/s)."""
        head = f"{self.label} {stat}".strip()
        unit = "" if self.label.endswith(self.unit) else self.unit
        inside = ", ".join(x for x in (unit, scope) if x)
        return f"{head} ({inside})" if inside else head

    def title(self, rest: str = "") -> str:
        """A chart title about this metric: its label, first letter capitalised, then ``rest``
        ("Decode tokens/s by model")."""
        return f"{self.label[:1].upper()}{self.label[1:]} {rest}".strip()

    def cost_ratio(self, old: float, new: float) -> float:
        """new / old oriented as a cost: > 1 is always worse (old / new for a rate)."""
        return old / new if self.higher_is_better else new / old


PEAK_MEMORY = "peak_memory_mb"
# The between-run spread (typical run-to-run change of a run median, percent) assumed where none
# is measured: the gate with too little history, compare with two runs alone. Marked "assumed".
ASSUMED_BETWEEN_RUN_PCT = 10.0

REGISTRY: tuple[Metric, ...] = (
    Metric("ttft_ms", "TTFT", "ms", redundant_with="ttft_user_ms"),
    Metric("ttft_user_ms", "TTFT user", "ms"),
    Metric("tpot_ms", "TPOT", "ms"),
    Metric("e2e_ms", "E2E", "ms"),
    Metric("decode_tps", "decode tokens/s", "tokens/s", higher_is_better=True, redundant_with="tpot_ms"),
    Metric("preprocess_ms", "preprocess", "ms"),
    Metric("vision_ms", "vision", "ms"),
    Metric("prefill_ms", "prefill", "ms"),
    Metric("window_output_tps", "window output tokens/s", "tokens/s", higher_is_better=True),
    Metric("window_rps", "window requests/s", "requests/s", higher_is_better=True),
    Metric("window_goodput_rps", "window goodput", "requests/s", higher_is_better=True),
    Metric(PEAK_MEMORY, "peak memory", "MiB", distribution=False),
    Metric("energy_j", "energy per request", "J"),
    Metric("tokens_per_j", "tokens per joule", "tokens/J", higher_is_better=True),
)
BY_COLUMN: dict[str, Metric] = {m.column: m for m in REGISTRY}


def metric(column: str) -> Metric:
    """The registry entry of ``column`` (KeyError names the column when it is not registered)."""
    try:
        return BY_COLUMN[column]
    except KeyError:
        raise KeyError(f"{column}: not in the metric registry (vlmbench.vocab.metrics)") from None


def metrics(*columns: str) -> tuple[Metric, ...]:
    return tuple(metric(c) for c in columns)
