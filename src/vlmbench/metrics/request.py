"""Per-request metric classes. Each names its column, unit, formula and dependencies.

Definitions follow ../shared/reference/metric-definitions.md and METRICS.md.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from vlmbench.metrics.timeline import Timeline


class Metric:
    column: str = ""
    unit: str = "ms"
    depends_on: tuple[str, ...] = ()

    def compute(self, t: Timeline, row: dict[str, Any]) -> Optional[float]:
        raise NotImplementedError


class TTFT(Metric):
    """Time to first token (model): first token on the host - start. ms."""

    column = "ttft_ms"
    depends_on = ("start_ns", "token_ns[0]")

    def compute(self, t, row):
        return t.offset_ms(t.token_ns[0]) if t.token_ns else None


class TTFTUser(Metric):
    """Time to first token as a person feels it: preprocess_ms + ttft_ms. ms."""

    column = "ttft_user_ms"
    depends_on = ("preprocess_ms", "ttft_ms")

    def compute(self, t, row):
        if row.get("ttft_ms") is None or t.preprocess_ms is None:
            return None
        return t.preprocess_ms + row["ttft_ms"]


class Vision(Metric):
    """Vision stage: vision_end - vision_start (encoder + projector), device clock. ms."""

    column = "vision_ms"
    depends_on = ("vision_start_ms", "vision_end_ms")

    def compute(self, t, row):
        if t.vision_start_ms is None or t.vision_end_ms is None:
            return None
        return t.vision_end_ms - t.vision_start_ms


class Prefill(Metric):
    """LLM prefill: first token - max(prompt handed over, vision stage end). ms.

    transformers >= 5.2x runs the vision encoder before handing the prompt to the streamer,
    older releases inside the first forward; the max() makes the stage mean the same thing.
    """

    column = "prefill_ms"
    depends_on = ("prompt_ns", "vision_end_ms", "token_ns[0]")

    def compute(self, t, row):
        if not t.token_ns or t.prompt_ns is None:
            return None
        ready = t.offset_ms(t.prompt_ns)
        if t.vision_end_ms is not None:
            ready = max(ready, t.vision_end_ms)
        return t.offset_ms(t.token_ns[0]) - ready


class E2E(Metric):
    """End to end: last token on the host - start. ms."""

    column = "e2e_ms"
    depends_on = ("start_ns", "token_ns[-1]")

    def compute(self, t, row):
        return t.offset_ms(t.token_ns[-1]) if t.token_ns else None


class TPOT(Metric):
    """Time per output token after the first: (e2e - ttft) / (n_out - 1). ms/token."""

    column = "tpot_ms"
    unit = "ms/token"
    depends_on = ("e2e_ms", "ttft_ms", "n_out")

    def compute(self, t, row):
        n = t.n_tokens
        if n < 2 or row.get("e2e_ms") is None or row.get("ttft_ms") is None:
            return None
        return (row["e2e_ms"] - row["ttft_ms"]) / (n - 1)


class DecodeTPS(Metric):
    """Decode speed: (n_out - 1) / (t_last - t_first). tokens/s (= 1000 / tpot_ms)."""

    column = "decode_tps"
    unit = "tokens/s"
    depends_on = ("tpot_ms",)

    def compute(self, t, row):
        tpot = row.get("tpot_ms")
        return 1000.0 / tpot if tpot else None


class GapPercentile(Metric):
    """Percentile q of the gaps between consecutive arrivals in ``token_ns`` (in-process: tokens,
    so this is the inter-token latency, per token, not per request; endpoint: content chunks). ms."""

    q = 50.0
    depends_on = ("token_ns",)

    def compute(self, t, row):
        if len(t.token_ns) < 2:
            return None
        gaps = np.diff(np.asarray(t.token_ns, dtype=np.int64)) / 1e6
        return float(np.percentile(gaps, self.q))


class ITLP50(GapPercentile):
    """Median inter-token latency. ms."""

    column = "itl_p50_ms"
    q = 50.0


class ITLP99(GapPercentile):
    """99th-percentile inter-token latency. ms."""

    column = "itl_p99_ms"
    q = 99.0


class TokenTimes(Metric):
    """Raw arrival offsets of every token from start, space-separated, ms (kept as raw data)."""

    column = "token_times_ms"
    depends_on = ("token_ns",)

    def compute(self, t, row):
        return " ".join(f"{t.offset_ms(x):.3f}" for x in t.token_ns)


# Dependency order: later metrics read earlier columns from ``row``.
REQUEST_METRICS: tuple[Metric, ...] = (
    TTFT(), TTFTUser(), Vision(), Prefill(), E2E(), TPOT(), DecodeTPS(), ITLP50(), ITLP99(), TokenTimes(),
)


def compute_request_metrics(t: Timeline, metrics: tuple[Metric, ...] = REQUEST_METRICS) -> dict[str, Any]:
    row: dict[str, Any] = {"preprocess_ms": t.preprocess_ms}
    for m in metrics:
        row[m.column] = m.compute(t, row)
    return row
