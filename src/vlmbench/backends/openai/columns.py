"""Turn window outcomes into the schema columns of their rows (after the window ended).

Token counts: ``n_output_tokens`` is the server's ``usage.completion_tokens``; without usage
it falls back to the client tokenizer count (``n_output_tokens_client``, kept separately
whenever a tokenizer is available, so the two can be compared). ``n_prompt_tokens`` is the
server's ``usage.prompt_tokens`` (image tokens included; the split into image and text
tokens is not visible to a client and stays empty).

``length_enforced`` is true when the server kind forces the length (min = max tokens) and
the count, where known, equals ``max_new_tokens``.

A completed request always has ``e2e_ms``. When no chunk carried content (content,
reasoning or tool calls) ``ttft_ms`` (and what derives from it) stays empty and
``ttft_missing_reason`` says why: ``no_content: ...`` when the server reports generated
tokens that no chunk showed (e.g. tokens that decode to no visible text), ``no_output: ...``
when it reports none, or does not say.

Events are decoded here, after the window: a malformed event turns an outcome into an error
row then. A failed request keeps what was known before it was sent (body bytes without the
``stream_options`` suffix, encode time, concurrency, cache-bust mode) and its error text; it
carries no timings. With ``--slo`` a failed request's ``slo_met`` is false (a miss).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from vlmbench.backends.openai.chat_stream import ChatStreamRecord
from vlmbench.backends.openai.errors import EndpointError
from vlmbench.backends.openai.metrics import SLO, EndpointTimeline, endpoint_metrics
from vlmbench.backends.openai.steady import WindowRequest, window_columns
from vlmbench.backends.openai.server_kinds import ServerKind
from vlmbench.backends.openai.window import Outcome
from vlmbench.results.schema import Status

TokenCounter = Callable[[str], int]


class OutcomeColumns:
    """Per-row columns of one model's outcomes; settings that are the same for every row."""

    def __init__(self, kind: ServerKind, max_new_tokens: int, cache_bust: bool,
                 count_tokens: Optional[TokenCounter] = None, slo: Optional[SLO] = None,
                 cache_state: Optional[str] = None, weights: Optional[str] = None) -> None:
        self.cache_state = cache_state
        self.kind = kind
        self.weights = weights  # what the server loaded: unknown to a client (None) unless vlmbench started it
        self.max_new_tokens = max_new_tokens
        self.cache_bust = cache_bust
        self.count_tokens = count_tokens
        self.slo = slo

    def window(self, outcomes: Sequence[Outcome], window_id: str, cold: bool = False,
               lanes: Optional[int] = None) -> list[dict[str, Any]]:
        """Columns for every outcome of one window: window throughput over its steady interval
        and each row's edge flag included (:mod:`steady`; ``lanes``: C of a closed loop)."""
        rows, window_requests = [], []
        for outcome in outcomes:
            row = self.request(outcome)
            row.update(window_id=window_id, cold=cold)
            rows.append(row)
            result = outcome.result
            window_requests.append(WindowRequest(
                sent_ns=result.sent_ns if result else None,
                end_ns=result.end_ns if result else None,
                n_out=row.get("n_output_tokens"),
                ok=row["status"] == Status.OK.value,
                slo_met=row.get("slo_met"),
            ))
        steady = window_columns(window_requests, with_slo=self.slo is not None, lanes=lanes)
        for row, edge in zip(rows, steady.edges):
            row.update(steady.columns, window_edge=edge)
        return rows

    def unsent(self, error: EndpointError, window_id: str) -> dict[str, Any]:
        """Columns of a request that was never sent (the endpoint could not be probed)."""
        return {"weights": self.weights, "cache_bust": self.cache_bust, "cache_state": self.cache_state,
                "max_new_tokens": self.max_new_tokens,
                "window_id": window_id, "cold": False, "status": error.status.value, "error": str(error),
                "slo_met": self._verdict({}, completed=False)}

    def _verdict(self, row: dict[str, Any], completed: bool) -> Optional[bool]:
        return self.slo.met(row, completed) if self.slo is not None else None

    def request(self, outcome: Outcome) -> dict[str, Any]:
        row: dict[str, Any] = {
            "weights": self.weights,
            "started_at": outcome.started_at,
            "concurrency": outcome.concurrency,
            "cache_bust": self.cache_bust,
            "cache_state": self.cache_state,
            "encode_ms": outcome.request.encode_ms,
            "max_new_tokens": self.max_new_tokens,
        }
        record, error = _decoded(outcome)
        if record is None:
            assert error is not None, "an outcome has a result or an error"
            row.update(status=error.status.value, error=str(error), payload_bytes=len(outcome.request.body),
                       slo_met=self._verdict(row, completed=False))
            return row
        result = outcome.result
        client_count = self.count_tokens(record.text) if self.count_tokens else None
        n_out = record.completion_tokens if record.completion_tokens is not None else client_count
        # The generators never send before the scheduled instant; a clock coarser than ns could
        # still order the two reads wrongly, so the send bounds the schedule (queue delay >= 0).
        exact = record.token_ns
        timeline = EndpointTimeline(start_ns=result.sent_ns, token_ns=exact or list(record.content_ns), n_out=n_out,
                                    scheduled_ns=min(outcome.scheduled_ns, result.sent_ns), head_ns=result.head_ns,
                                    end_ns=result.end_ns, connect_ms=result.connect_ms,
                                    text_ns=list(record.content_ns), choice_ns=list(record.choice_ns),
                                    last_ns=record.last_ns,
                                    token_timing="per_chunk_usage" if exact else "content_chunks",
                                    n_token_chunks=len(record.token_events) if exact else None)
        row.update(endpoint_metrics(timeline))
        row["connect_ms"] = result.connect_ms
        row["ttft_missing_reason"] = None if (exact or record.content_ns) else _missing_ttft_reason(record)
        row.update(
            status=Status.OK.value,
            error=None,
            payload_bytes=result.payload_bytes,
            n_output_tokens=n_out,
            n_output_tokens_client=client_count,
            n_prompt_tokens=record.prompt_tokens,
            cached_prompt_tokens=record.cached_tokens,
            length_enforced=self.kind.enforces_length and (n_out is None or n_out == self.max_new_tokens),
        )
        row["slo_met"] = self._verdict(row, completed=True)
        return row


def _missing_ttft_reason(record: ChatStreamRecord) -> str:
    """Why a completed stream has no TTFT: no chunk carried content, reasoning or tool calls."""
    n = record.completion_tokens
    if n:
        return (f"no_content: the server reports {n} generated tokens (usage) but no chunk carried content, "
                "reasoning or tool calls")
    said = "reports 0 generated tokens" if n == 0 else "reports no token count"
    return f"no_output: no chunk carried content, reasoning or tool calls and the server {said}"


def _decoded(outcome: Outcome) -> tuple[Optional[ChatStreamRecord], Optional[EndpointError]]:
    """The outcome's decoded stream (decoding happens here, after the window), or its error."""
    if outcome.result is None:
        return None, outcome.error
    try:
        return outcome.result.record, None
    except EndpointError as exc:
        return None, exc
