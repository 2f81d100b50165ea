"""Endpoint metrics: the shared per-request metric classes plus one class per endpoint column.

Definitions (``../shared/reference/metric-definitions.md``, endpoint table). All times are
host monotonic ns in :class:`EndpointTimeline`; columns are ms unless said otherwise.

- ``start_ns``   the request's first byte handed to the socket (``sent``)
- ``token_ns``   token-exact where the server reports per-chunk token counts (vLLM's
                 ``continuous_usage_stats``): one arrival per generated token (a chunk carrying k
                 tokens counts k times, empty text or not; ``token_timing=per_chunk_usage``);
                 otherwise the arrival of each *content* event (non-empty content/reasoning/tool
                 call), one per chunk, not per token (``token_timing=content_chunks``)
- ``text_ns``    arrival of each content event (visible text), whichever way ``token_ns`` came
- ``choice_ns``  arrival of each event with a non-empty ``choices`` list (vLLM ``bench serve``'s view)
- ``last_ns``    the last event before ``[DONE]`` (AIPerf's final response)
- ``n_out``      server ``usage.completion_tokens``, else the client tokenizer count, else
                 unknown (then TPOT and decode tokens/s stay empty: chunks are not tokens)
- ``end_ns``     the read that finished the stream (``[DONE]`` or the finish chunk)
- ``connect_ms`` set-up time of a connection opened for this request (None: pooled, reused)

TTFT, TPOT, decode tokens/s and the raw arrival list are the shared classes of
:mod:`vlmbench.metrics.request`. E2E ends at the last content event (not the usage chunk),
or, when no chunk carried content, at the end of the stream: a completed request always has
an E2E. The classes below add TTFB, queue delay, TTFT from the scheduled send, the user's
TTFT (connection set-up included) and chunk statistics. SLO attainment
(:mod:`vlmbench.metrics.slo`) and window throughput (:mod:`steady`) are computed after all
requests of a window finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


import numpy as np

from vlmbench.errors import UsageError
from vlmbench.metrics import Timeline
from vlmbench.metrics.request import (
    E2E, TPOT, TTFT, DecodeTPS, Metric, TokenTimes, compute_request_metrics,
)
from vlmbench.metrics.slo import slo_verdict


@dataclass
class EndpointTimeline(Timeline):
    """A :class:`Timeline` with the endpoint's extra instants: ``scheduled_ns`` (when the load
    generator meant to send), ``head_ns`` (response headers received), ``end_ns`` (the read
    that finished the stream) and ``connect_ms`` (a new connection's set-up time)."""

    scheduled_ns: int = 0
    head_ns: Optional[int] = None
    end_ns: Optional[int] = None
    connect_ms: Optional[float] = None
    text_ns: list[int] = field(default_factory=list)
    choice_ns: list[int] = field(default_factory=list)
    last_ns: Optional[int] = None
    token_timing: Optional[str] = None  # per_chunk_usage | content_chunks
    n_token_chunks: Optional[int] = None  # chunks that carried generated tokens (per-chunk usage only)

    def __post_init__(self) -> None:
        if not self.text_ns and self.token_timing != "per_chunk_usage":
            self.text_ns = list(self.token_ns)  # timed by content chunks: the same arrivals


class EndpointE2E(E2E):
    """End to end: last content event - request sent; when no chunk carried content, the end
    of the stream - request sent (a completed request always has one). ms."""

    depends_on = ("start_ns", "token_ns[-1]", "end_ns")

    def compute(self, t, row):
        if t.token_ns:
            return super().compute(t, row)
        return t.offset_ms(t.end_ns) if t.end_ns is not None else None


class EndpointTTFTUser(Metric):
    """What a user waits for: ttft_ms (upload, server-side queueing, preprocessing, vision
    encoder, prefill and the first chunk's delivery) + connect_ms when a new connection had
    to be opened for the request (0 when a pooled one was reused). ms."""

    column = "ttft_user_ms"
    depends_on = ("ttft_ms", "connect_ms")

    def compute(self, t, row):
        if row.get("ttft_ms") is None:
            return None
        return row["ttft_ms"] + (t.connect_ms or 0.0)


class TTFB(Metric):
    """Time to first byte: response headers received - request sent. ms."""

    column = "ttfb_ms"
    depends_on = ("start_ns", "head_ns")

    def compute(self, t, row):
        return t.offset_ms(t.head_ns) if t.head_ns is not None else None


class QueueDelay(Metric):
    """Load-generator lag: request sent - scheduled send (includes opening the connection). ms."""

    column = "queue_delay_ms"
    depends_on = ("scheduled_ns", "start_ns")

    def compute(self, t, row):
        return (t.start_ns - t.scheduled_ns) / 1e6


class TTFTScheduled(Metric):
    """TTFT from the scheduled send: first content event - scheduled send (MLPerf style). ms."""

    column = "ttft_sched_ms"
    depends_on = ("scheduled_ns", "token_ns[0]")

    def compute(self, t, row):
        return (t.token_ns[0] - t.scheduled_ns) / 1e6 if t.token_ns else None


class CountedTPOT(TPOT):
    """TPOT, only when the token count is known (server usage or client tokenizer: content
    events are chunks, and a chunk count is not a token count) and content arrived at two
    different instants at least (content that came in one network read shows the client no
    decode interval). ms/token."""

    def compute(self, t, row):
        if t.n_out is None or len(t.token_ns) < 2 or t.token_ns[-1] == t.token_ns[0]:
            return None
        return super().compute(t, row)


class ChunkCount(Metric):
    """Content events (visible text) received. chunks."""

    column = "n_chunks"
    unit = "chunks"
    depends_on = ("text_ns",)

    def compute(self, t, row):
        return len(t.text_ns)


class TokensPerChunk(Metric):
    """n_out / n_chunks. tokens/chunk."""

    column = "tokens_per_chunk"
    unit = "tokens/chunk"
    depends_on = ("n_out", "n_chunks")

    def compute(self, t, row):
        return t.n_out / len(t.text_ns) if t.n_out is not None and t.text_ns else None


class ChunkGap(Metric):
    """Percentile q of the gaps between content events. ms."""

    q = 50.0
    depends_on = ("text_ns",)

    def compute(self, t, row):
        if len(t.text_ns) < 2:
            return None
        gaps = np.diff(np.asarray(t.text_ns, dtype=np.int64)) / 1e6
        return float(np.percentile(gaps, self.q))


class ChunkGapP50(ChunkGap):
    """Median gap between content events. ms."""

    column = "chunk_gap_p50_ms"
    q = 50.0


class ChunkGapP99(ChunkGap):
    """99th-percentile gap between content events. ms."""

    column = "chunk_gap_p99_ms"
    q = 99.0


class FirstArrival(Metric):
    """The first arrival in the timeline list named ``source`` - request sent. ms."""

    source = "text_ns"

    def compute(self, t, row):
        arrivals = getattr(t, self.source)
        return t.offset_ms(arrivals[0]) if arrivals else None


class TTFTText(FirstArrival):
    """First visible text: first content event - request sent (AIPerf's TTFT, which skips responses
    without content). Equals ttft_ms unless the first tokens came as chunks with empty text. ms."""

    column = "ttft_text_ms"
    source = "text_ns"
    depends_on = ("start_ns", "text_ns[0]")


class TokenTiming(Metric):
    """How token arrivals were known: per_chunk_usage (token-exact) | content_chunks."""

    column = "token_timing"
    unit = ""
    depends_on = ()

    def compute(self, t, row):
        return t.token_timing


class TokenChunks(Metric):
    """Chunks that carried generated tokens (per-chunk usage), empty text included. chunks."""

    column = "n_token_chunks"
    unit = "chunks"
    depends_on = ()

    def compute(self, t, row):
        return t.n_token_chunks


class TTFTvLLM(FirstArrival):
    """vLLM ``bench serve``'s TTFT: first event with a non-empty choices list - request sent. ms."""

    column = "ttft_vllm_ms"
    source = "choice_ns"
    depends_on = ("start_ns", "choice_ns[0]")


class TPOTvLLM(Metric):
    """vLLM ``bench serve``'s TPOT: (last event with choices - first event with choices) / (n_out - 1)
    (its latency ends at the last chunk with choices; the usage chunk is not one). ms/token."""

    column = "tpot_vllm_ms"
    unit = "ms/token"
    depends_on = ("choice_ns", "n_out")

    def compute(self, t, row):
        if t.n_out is None or t.n_out < 2 or len(t.choice_ns) < 2:
            return None
        return (t.choice_ns[-1] - t.choice_ns[0]) / 1e6 / (t.n_out - 1)


class TPOTAIPerf(Metric):
    """AIPerf's inter-token latency: (request latency - TTFT) / (n_out - 1), its TTFT the first content
    event (ttft_text_ms), its request latency the last event before [DONE] (a trailing usage chunk is
    that event). ms/token."""

    column = "tpot_aiperf_ms"
    unit = "ms/token"
    depends_on = ("text_ns[0]", "last_ns", "n_out")

    def compute(self, t, row):
        if t.n_out is None or t.n_out < 2 or not t.text_ns or t.last_ns is None:
            return None
        return (t.last_ns - t.text_ns[0]) / 1e6 / (t.n_out - 1)


ENDPOINT_METRICS: tuple[Metric, ...] = (
    TTFT(), EndpointTTFTUser(), EndpointE2E(), CountedTPOT(), DecodeTPS(), TokenTimes(),
    TTFB(), QueueDelay(), TTFTScheduled(), ChunkCount(), TokensPerChunk(), ChunkGapP50(), ChunkGapP99(),
    TTFTText(), TokenTiming(), TokenChunks(), TTFTvLLM(), TPOTvLLM(), TPOTAIPerf(),
)


def endpoint_metrics(t: EndpointTimeline) -> dict[str, Any]:
    row = compute_request_metrics(t, ENDPOINT_METRICS)
    row.pop("preprocess_ms", None)  # no processor runs on the client
    return row


SLO_COLUMNS = {"ttft": "ttft_sched_ms", "tpot": "tpot_ms", "e2e": "e2e_ms"}


@dataclass(frozen=True)
class SLO:
    """Service-level limits in ms, from ``--slo ttft=MS,tpot=MS[,e2e=MS]``. TTFT is judged from
    the scheduled send (``ttft_sched_ms``): what a user of a loaded server waits."""

    limits: dict[str, float] = field(default_factory=dict)  # "ttft" | "tpot" | "e2e" -> ms

    @classmethod
    def parse(cls, text: str) -> "SLO":
        limits: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            name = name.strip().lower()
            if not sep or name not in SLO_COLUMNS:
                raise UsageError(f"--slo {text!r}: expected NAME=MS pairs with NAME in {', '.join(SLO_COLUMNS)}")
            try:
                limits[name] = float(value)
            except ValueError:
                raise UsageError(f"--slo {text!r}: {value!r} is not a number of ms") from None
            if not limits[name] > 0:
                raise UsageError(f"--slo {text!r}: {name} must be more than 0 ms")
        if not limits:
            raise UsageError(f"--slo {text!r}: no limit given")
        return cls(limits)

    def met(self, row: dict[str, Any], completed: bool = True) -> bool:
        """The request's verdict (:func:`vlmbench.metrics.slo.slo_verdict`): True only when it
        completed and every limit was measured and holds; a failure, an exceeded limit or a
        value that was not measured is a miss."""
        values = {name: row.get(column) for name, column in SLO_COLUMNS.items()}
        return slo_verdict(self.limits, values, completed)
