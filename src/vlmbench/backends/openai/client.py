"""Streams one chat completion and records when each part of the answer arrived.

:class:`ChatClient` glues the pieces: :class:`~.session.HttpSession` (aiohttp: connections,
TLS, proxies, the send instant), :class:`~.sse.SSEParser` (events out of arbitrary byte
pieces) and :class:`~.chat_stream.ChatStreamRecord` (content events, usage, finish).

Behaviour that keeps a run going and its rows honest:

- ``stream_options.include_usage`` is sent so the server reports token counts; a server that
  answers 400 or 422 is asked once more without it, and once that retry succeeds the option
  is dropped for the rest of the run (``include_usage`` turns False).
- the whole request (retry included) must complete within ``timeout_s``; when the retry
  fails too, its error is the one reported;
- every failure is an :class:`EndpointError` with a category (:mod:`http_errors`), its text
  stripped of the API key; nothing here returns a placeholder number. Events are decoded after
  the window (:attr:`StreamResult.record`), so a malformed event raises there, not in ``stream``.
- after ``[DONE]`` the rest of the body is read (at most :data:`DRAIN_AFTER_DONE_S`), so the
  connection goes back to the pool clean; a server that never ends its body is left then and
  that connection closed; the stream stands.

Requests run on the session's own event loop: use :meth:`ChatClient.run`.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Optional, TypeVar

import aiohttp

from vlmbench.version import __version__
from vlmbench.backends.openai.chat_stream import ChatStreamRecord, EventLog
from vlmbench.backends.openai.endpoint import CHAT_ROUTE, MODELS_ROUTE, Endpoint
from vlmbench.backends.openai.errors import Category, EndpointError
from vlmbench.backends.openai.http_errors import translate
from vlmbench.backends.openai.request import PreparedRequest
from vlmbench.backends.openai.session import (
    BodyClock, ConnectionOptions, HttpSession, RequestTrace, arrival_log, end_body_with_connection, now_ns,
)
from vlmbench.backends.openai.sse import SSEParser

STREAM_OPTIONS_REJECTED = (400, 422)
EVENT_STREAM = "text/event-stream"
DRAIN_AFTER_DONE_S = 2.0
MAX_ERROR_BODY_BYTES = 4096
MAX_JSON_BODY_BYTES = 1 << 22
T = TypeVar("T")


async def _within(seconds: float, work):
    """``await work`` with a deadline: ``asyncio.timeout`` where it exists (3.11+, no extra
    task per request), else ``asyncio.wait_for``. Raises ``asyncio.TimeoutError``."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await work
    return await asyncio.wait_for(work, seconds)


async def _drain(response: aiohttp.ClientResponse, pieces) -> None:
    """Read what follows ``[DONE]`` (the end of the body), at most DRAIN_AFTER_DONE_S; a body
    that does not end by then has its connection closed."""
    async def rest() -> None:
        async for _ in pieces:
            pass

    try:
        await _within(DRAIN_AFTER_DONE_S, rest())
    except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
        response.close()


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body up to ``limit`` bytes (``read(n)`` alone returns what is buffered so far)."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        piece = await response.content.read(limit - size)
        if not piece:
            break
        parts.append(piece)
        size += len(piece)
    return b"".join(parts)


async def _error_body(response: aiohttp.ClientResponse) -> bytes:
    """Up to MAX_ERROR_BODY_BYTES of an error response's body; tolerant of broken bodies."""
    try:
        return await _read_at_most(response, MAX_ERROR_BODY_BYTES)
    except (aiohttp.ClientError, OSError):
        return b""


async def _read_events(response: aiohttp.ClientResponse, endpoint: Endpoint, head_ns: int,
                       clock: BodyClock) -> tuple[EventLog, int]:
    """The SSE events of the response body, each stamped with the network read that
    delivered its end, and the instant of the read that finished the stream. Raises
    ``stream_ended_early`` for a stream without ``[DONE]`` or a ``finish_reason`` (or the
    malformed event that explains it)."""
    parser = SSEParser()
    log = EventLog()
    end_ns = head_ns
    pieces = response.content.iter_any()
    try:
        async for piece in pieces:
            for t_ns, part in clock.parts(piece):
                end_ns = t_ns
                for event in parser.feed(part):
                    log.receive(event, t_ns)
                if log.done:
                    break
            if log.done:
                await _drain(response, pieces)
                break
    except (aiohttp.ClientError, OSError) as exc:
        error = translate(exc, endpoint, in_body=True)
        if error.category != Category.STREAM_ENDED_EARLY:
            raise error from None
        if not log.finished:  # a close after the finish_reason loses nothing measured
            log.decode()  # a malformed event, if any, is the cause to report
            raise error from None
    if not log.finished:
        log.decode()
        where = "in the middle of an event" if parser.has_partial_event else "between events"
        raise EndpointError(Category.STREAM_ENDED_EARLY, f"the stream ended {where} without [DONE] or a "
                                                         f"finish_reason after {len(log.events)} events")
    return log, end_ns


@dataclass
class StreamResult:
    """One completed stream. Times are host monotonic ns: ``sent_ns`` request handed to the
    socket, ``head_ns`` response headers in, ``end_ns`` the read that finished the stream;
    ``connect_ms`` the set-up time of a connection opened for this request (None when a
    pooled one was reused). ``events`` are kept undecoded; ``record`` decodes them on first
    use (after the window)."""

    sent_ns: int
    head_ns: int
    end_ns: int
    events: EventLog
    payload_bytes: int
    include_usage: bool
    connect_ms: Optional[float] = None
    mask: Optional[str] = field(default=None, repr=False)  # the API key, masked in decode errors

    @functools.cached_property
    def record(self) -> ChatStreamRecord:
        """The decoded stream; raises EndpointError (``malformed_event``, ``stream_error``)."""
        try:
            return self.events.decode()
        except EndpointError as exc:
            raise exc.redacted(self.mask) from None


class ChatClient:
    """Sends prepared chat requests to one endpoint over one aiohttp session (pooled
    keep-alive connections unless ``options.new_connection_per_request``)."""

    def __init__(self, endpoint: Endpoint, api_key: Optional[str], timeout_s: float,
                 options: ConnectionOptions = ConnectionOptions()) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.include_usage = True
        self._api_key = api_key
        self.http = HttpSession(endpoint, options)
        self._chat_url = endpoint.url(CHAT_ROUTE)
        self._headers = {"Content-Type": "application/json", "Accept": EVENT_STREAM,
                         "Accept-Encoding": "identity", "User-Agent": f"vlmbench/{__version__}",
                         **self.http.extra_headers}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._via = self.http.proxy_options()

    def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` (e.g. ``client.stream(request)``) on the client's event loop."""
        return self.http.run(work)

    def close(self) -> None:
        self.http.close()

    async def stream(self, request: PreparedRequest) -> StreamResult:
        """Send ``request`` and read its stream to the end; raises EndpointError."""
        # Give the loop back once first: a closed-loop lane starts its next request the moment
        # the last one ended, and aiohttp's set-up of a request (~1 ms of CPU) would otherwise
        # run before the reads already waiting for the other streams (at 128 streams this
        # doubled their delivery latency). The wait is the load generator's (queue_delay_ms).
        await asyncio.sleep(0)
        try:
            return await _within(self.timeout_s, self._stream_with_fallback(request))
        except asyncio.TimeoutError:
            raise EndpointError(Category.TIMEOUT, f"no complete response within {self.timeout_s:g} s") from None
        except EndpointError as exc:
            raise exc.redacted(self._api_key) from None

    async def get_json(self, route: str = MODELS_ROUTE) -> Any:
        """``GET route`` and its parsed JSON body (e.g. the model listing)."""
        try:
            return await _within(self.timeout_s, self._get_json(route))
        except asyncio.TimeoutError:
            raise EndpointError(Category.TIMEOUT, f"GET {route}: no answer within {self.timeout_s:g} s") from None
        except EndpointError as exc:
            raise exc.redacted(self._api_key) from None

    async def _get_json(self, route: str) -> Any:
        headers = {k: v for k, v in self._headers.items() if k not in ("Content-Type", "Accept")}
        headers["Accept"] = "application/json"
        try:
            async with self.http.session().get(self.endpoint.url(route), headers=headers, **self._via) as response:
                if response.status >= 300:
                    raise EndpointError.http(response.status, response.reason or "", await _error_body(response))
                body = await _read_at_most(response, MAX_JSON_BODY_BYTES)
        except (aiohttp.ClientError, OSError) as exc:
            raise translate(exc, self.endpoint, in_body=False) from None
        try:
            return json.loads(body)
        except ValueError:
            raise EndpointError(Category.MALFORMED_EVENT, f"GET {route}: the answer is not JSON") from None

    async def _stream_with_fallback(self, request: PreparedRequest) -> StreamResult:
        include_usage = self.include_usage
        try:
            return await self._stream_once(request, include_usage)
        except EndpointError as exc:
            if not include_usage or exc.http_status not in STREAM_OPTIONS_REJECTED:
                raise
        result = await self._stream_once(request, include_usage=False)
        self.include_usage = False
        return result

    async def _stream_once(self, request: PreparedRequest, include_usage: bool) -> StreamResult:
        payload = request.payload(include_usage)
        trace = RequestTrace()
        try:
            async with self.http.session().post(self._chat_url, data=payload, headers=self._headers,
                                                trace_request_ctx=trace, **self._via) as response:
                arrivals = arrival_log(response)
                head_ns = arrivals.head_ns if arrivals is not None else now_ns()
                if response.status >= 300:
                    raise EndpointError.http(response.status, response.reason or "", await _error_body(response))
                content_type = response.headers.get("Content-Type", "")
                if EVENT_STREAM not in content_type:
                    raise EndpointError(Category.MALFORMED_EVENT,
                                        f"the response is not an event stream (content-type {content_type[:60]!r})")
                encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    raise EndpointError(Category.MALFORMED_EVENT, f"the server compressed the stream "
                                        f"(content-encoding {encoding[:30]!r}) although asked not to")
                unwatch = end_body_with_connection(response)
                try:
                    log, end_ns = await _read_events(response, self.endpoint, head_ns, BodyClock(arrivals))
                finally:
                    unwatch()
        except (aiohttp.ClientError, OSError) as exc:
            raise translate(exc, self.endpoint, in_body=False) from None
        sent_ns = trace.sent_ns if trace.sent_ns is not None else head_ns
        return StreamResult(sent_ns, head_ns, end_ns, log, len(payload), include_usage,
                            connect_ms=trace.connect_ms, mask=self._api_key)
