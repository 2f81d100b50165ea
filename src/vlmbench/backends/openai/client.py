"""Streams one chat completion and records when each part of the answer arrived.

:class:`ChatClient` glues the pieces: :class:`~.http.HttpExchange` (bytes and their arrival
times), :class:`~.sse.SSEParser` (events out of arbitrary byte pieces) and
:class:`~.chat_stream.ChatStreamRecord` (content events, usage, finish).

Behaviour that keeps a run going and its rows honest:

- ``stream_options.include_usage`` is sent so the server reports token counts; a server that
  answers 400 or 422 is asked once more without it, and once that retry succeeds the option
  is dropped for the rest of the run (``include_usage`` turns False).
- the whole request (retry included) must complete within ``timeout_s``; when the retry
  fails too, its error is the one reported;
- every failure is an :class:`EndpointError` with a category, its text stripped of the API
  key; nothing here returns a placeholder number. Events are decoded after the window
  (:attr:`StreamResult.record`), so a malformed event raises there, not in ``stream``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from dataclasses import dataclass, field
from typing import Any, Optional

from vlmbench import __version__
from vlmbench.backends.openai.chat_stream import ChatStreamRecord, EventLog
from vlmbench.backends.openai.endpoint import CHAT_ROUTE, MODELS_ROUTE, Endpoint
from vlmbench.backends.openai.errors import Category, EndpointError
from vlmbench.backends.openai.http import HttpExchange
from vlmbench.backends.openai.request import PreparedRequest
from vlmbench.backends.openai.sse import SSEParser

STREAM_OPTIONS_REJECTED = (400, 422)
EVENT_STREAM = "text/event-stream"
DRAIN_AFTER_DONE_S = 2.0


async def _drain(http: HttpExchange, pieces) -> None:
    """Read what follows ``[DONE]`` (the end of the body) so the connection closes cleanly:
    closing a socket with unread bytes makes the kernel send a reset to the server. Bounded
    by a timer that closes the connection: a server that never ends its body after ``[DONE]``
    is left after 2 s, and the stream stands."""
    stop = asyncio.get_running_loop().call_later(DRAIN_AFTER_DONE_S, http.close)
    try:
        async for _ in pieces:
            pass
    except EndpointError:
        pass
    finally:
        stop.cancel()


async def _within(seconds: float, work):
    """``await work`` with a deadline: ``asyncio.timeout`` where it exists (3.11+, no extra
    task per request), else ``asyncio.wait_for``. Raises ``asyncio.TimeoutError``."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await work
    return await asyncio.wait_for(work, seconds)


async def _read_events(http: HttpExchange) -> tuple[EventLog, int]:
    """The SSE events of the response body and the arrival time of the read that finished
    the stream. Raises ``stream_ended_early`` for a stream without ``[DONE]`` or a
    ``finish_reason`` (or the malformed event that explains it)."""
    parser = SSEParser()
    log = EventLog()
    end_ns = http.head_ns
    pieces = http.body_pieces()
    try:
        async for t_ns, piece in pieces:
            end_ns = t_ns
            for event in parser.feed(piece):
                log.receive(event, t_ns)
            if log.done:
                await _drain(http, pieces)
                break
    except EndpointError as exc:
        if exc.category != Category.STREAM_ENDED_EARLY:
            raise
        if not log.finished:  # a close after the finish_reason loses nothing measured
            log.decode()  # a malformed event, if any, is the cause to report
            raise
    if not log.finished:
        log.decode()
        where = "in the middle of an event" if parser.has_partial_event else "between events"
        raise EndpointError(Category.STREAM_ENDED_EARLY, f"the stream ended {where} without [DONE] or a "
                                                         f"finish_reason after {len(log.events)} events")
    return log, end_ns


@dataclass
class StreamResult:
    """One completed stream. Times are host monotonic ns: ``sent_ns`` request handed to the
    socket, ``head_ns`` response headers in, ``end_ns`` the read that finished the stream.
    ``events`` are kept undecoded; ``record`` decodes them on first use (after the window)."""

    sent_ns: int
    head_ns: int
    end_ns: int
    events: EventLog
    payload_bytes: int
    include_usage: bool
    mask: Optional[str] = field(default=None, repr=False)  # the API key, masked in decode errors

    @functools.cached_property
    def record(self) -> ChatStreamRecord:
        """The decoded stream; raises EndpointError (``malformed_event``, ``stream_error``)."""
        try:
            return self.events.decode()
        except EndpointError as exc:
            raise exc.redacted(self.mask) from None


class ChatClient:
    """Sends prepared chat requests to one endpoint, one fresh connection per request."""

    def __init__(self, endpoint: Endpoint, api_key: Optional[str], timeout_s: float) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.include_usage = True
        self._api_key = api_key
        self._tls = ssl.create_default_context() if endpoint.uses_tls else None  # built once, not per request
        self._headers = {"Content-Type": "application/json", "Accept": EVENT_STREAM,
                         "User-Agent": f"vlmbench/{__version__}"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    async def stream(self, request: PreparedRequest) -> StreamResult:
        """Send ``request`` and read its stream to the end; raises EndpointError."""
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
        async with await HttpExchange.connect(self.endpoint, self._tls) as http:
            headers = {k: v for k, v in self._headers.items() if k != "Content-Type"}
            await http.send("GET", self.endpoint.target(route), self.endpoint.host_header, headers)
            head = await http.read_head()
            body = await http.read_body(limit=1 << 22)
            if head.status >= 300:
                raise EndpointError.http(head.status, head.reason, body)
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
        payload = request.payload_parts(include_usage)
        async with await HttpExchange.connect(self.endpoint, self._tls) as http:
            await http.send("POST", self.endpoint.target(CHAT_ROUTE), self.endpoint.host_header, self._headers, *payload)
            head = await http.read_head()
            if head.status >= 300:
                raise EndpointError.http(head.status, head.reason, await http.read_body())
            content_type = head.headers.get("content-type", "")
            if EVENT_STREAM not in content_type:
                raise EndpointError(Category.MALFORMED_EVENT,
                                    f"the response is not an event stream (content-type {content_type[:60]!r})")
            log, end_ns = await _read_events(http)
        return StreamResult(http.sent_ns, http.head_ns, end_ns, log, sum(len(p) for p in payload), include_usage,
                            mask=self._api_key)
