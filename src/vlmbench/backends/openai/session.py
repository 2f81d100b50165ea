"""The HTTP side of the endpoint client, on aiohttp: one ``ClientSession`` per endpoint, its
connection pool, TLS, proxies, and the instants a request's timings need.

- **Connections** are kept alive and reused (HTTP/1.1 keep-alive), as real clients do; one
  ``TCPConnector`` sized for the run's concurrency holds them. ``--new-connection-per-request``
  opens a fresh connection for every request and closes it after (``Connection: close``).
  An idle pooled connection is dropped after :data:`KEEPALIVE_S` (under the 5 s that uvicorn,
  and so vLLM, SGLang and ``transformers serve``, keep an idle connection open, so the client
  never sends on a connection the server is closing).
- **TLS**: the system's trusted certificates, or only those of ``--ca-bundle FILE``.
- **Proxies**: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY`` (and ``~/.netrc``) are honoured
  (``trust_env``), as the OpenAI SDK and curl do.
- **No buffering of our own** between the socket and the clock: the body is read with
  ``StreamReader.iter_any()``, which hands over whatever the network delivered as soon as it
  arrived (already de-chunked by aiohttp's HTTP parser). Compression is declined
  (``Accept-Encoding: identity``), so no decompressor holds bytes back.
- **Timeouts** are the caller's (``--request-timeout``, whole request): aiohttp's own are off.

Instants (``time.perf_counter_ns()``, host monotonic), per request, from aiohttp's trace
signals (:class:`RequestTrace`):

- ``connect_start_ns`` / ``connect_end_ns``: a new connection was opened for the request
  (name resolution, TCP and TLS handshakes, and a proxy's tunnel where one is used); both
  empty when a pooled connection was reused;
- ``sent_ns``: just before the request's first byte is handed to the socket (aiohttp writes
  the headers and the body in one write): the connection is open, so connecting is not part
  of TTFB or TTFT.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, TypeVar

import aiohttp

from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.errors import UsageError

KEEPALIVE_S = 4.0
T = TypeVar("T")


def now_ns() -> int:
    return time.perf_counter_ns()


@dataclass(frozen=True)
class ConnectionOptions:
    """How requests reach the endpoint. ``pool_size``: most connections open at once (0: no
    limit, for open-loop arrivals, which have no bound on the requests in flight)."""

    new_connection_per_request: bool = False
    ca_bundle: Optional[str] = None
    pool_size: int = 0


def tls_context(ca_bundle: Optional[str]) -> ssl.SSLContext:
    """The TLS context of ``https`` endpoints: system trust, or only ``ca_bundle``'s
    certificates. A bundle that cannot be read is a usage error naming the file."""
    if ca_bundle is None:
        return ssl.create_default_context()
    path = Path(ca_bundle).expanduser()
    if not path.is_file():
        raise UsageError(f"--ca-bundle {ca_bundle}: no such file")
    try:
        return ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise UsageError(f"--ca-bundle {ca_bundle}: not a PEM certificate bundle ({exc})") from None


@dataclass
class RequestTrace:
    """The instants of one request, filled in by the trace signals (host monotonic ns)."""

    connect_start_ns: Optional[int] = None
    connect_end_ns: Optional[int] = None
    headers_ns: Optional[int] = None  # headers handed to aiohttp's writer (buffered)
    body_ns: Optional[int] = None  # first body write: headers and body go out together

    @property
    def sent_ns(self) -> Optional[int]:
        return self.body_ns if self.body_ns is not None else self.headers_ns

    @property
    def connect_ms(self) -> Optional[float]:
        """Set-up time of the connection opened for this request; None when one was reused."""
        if self.connect_start_ns is None or self.connect_end_ns is None:
            return None
        return (self.connect_end_ns - self.connect_start_ns) / 1e6


async def _connect_start(session: Any, context: Any, params: Any) -> None:
    if isinstance(context.trace_request_ctx, RequestTrace):
        context.trace_request_ctx.connect_start_ns = now_ns()


async def _connect_end(session: Any, context: Any, params: Any) -> None:
    if isinstance(context.trace_request_ctx, RequestTrace):
        context.trace_request_ctx.connect_end_ns = now_ns()


async def _headers_sent(session: Any, context: Any, params: Any) -> None:
    if isinstance(context.trace_request_ctx, RequestTrace):
        context.trace_request_ctx.headers_ns = now_ns()


async def _chunk_sent(session: Any, context: Any, params: Any) -> None:
    trace = context.trace_request_ctx
    if isinstance(trace, RequestTrace) and trace.body_ns is None:
        trace.body_ns = now_ns()


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(_connect_start)
    config.on_connection_create_end.append(_connect_end)
    config.on_request_headers_sent.append(_headers_sent)
    config.on_request_chunk_sent.append(_chunk_sent)
    return config


_RETRIEVED: "weakref.WeakSet[Any]" = weakref.WeakSet()  # protocols whose closed future is looked after


def _retrieve(future: "asyncio.Future[None]") -> None:
    if not future.cancelled():
        future.exception()  # looked at: asyncio does not log it as never retrieved


def end_body_with_connection(response: aiohttp.ClientResponse) -> Callable[[], None]:
    """Make the body reader fail when the response's connection is lost before the body ended.

    aiohttp's parser reports a body it cannot parse (e.g. a chunk-size line that is not hex)
    to the connection, closes it, and leaves the body reader waiting for bytes that never
    come; the request would then end as a timeout. With this, the reader raises a
    ``ClientPayloadError`` carrying the parser's error at once. Returns the function that
    stops watching (call it once the body is done: the connection may serve other requests).
    """
    connection = response.connection
    protocol = connection.protocol if connection is not None else None
    closed = protocol.closed if protocol is not None else None
    if closed is None:
        return lambda: None
    if protocol not in _RETRIEVED:
        closed.add_done_callback(_retrieve)
        _RETRIEVED.add(protocol)
    content = response.content

    def lost(_: "asyncio.Future[None]") -> None:
        if not content.is_eof() and content.exception() is None:
            cause = protocol.exception()
            content.set_exception(aiohttp.ClientPayloadError(
                f"body framing rejected: {cause}" if cause is not None else "Response payload is not completed"))

    closed.add_done_callback(lost)
    return lambda: closed.remove_done_callback(lost)


class HttpSession:
    """One aiohttp session on an event loop of its own, so pooled connections live across
    load windows (each window is one :meth:`run`). Not thread-safe; :meth:`close` at the end."""

    def __init__(self, endpoint: Endpoint, options: ConnectionOptions = ConnectionOptions()) -> None:
        self.endpoint = endpoint
        self.options = options
        self._tls = tls_context(options.ca_bundle) if endpoint.uses_tls else None  # built once
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._session: Optional[aiohttp.ClientSession] = None

    def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` to completion on the session's loop."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(work)

    def session(self) -> aiohttp.ClientSession:
        """The session (created on first use, inside :meth:`run`)."""
        loop = asyncio.get_running_loop()
        if self._session is None:
            if loop is not self._loop:
                raise RuntimeError("HttpSession: run requests through HttpSession.run (its own event loop)")
            self._session = self._open()
        return self._session

    def _open(self) -> aiohttp.ClientSession:
        opts = self.options
        pool: dict[str, Any] = {"force_close": True} if opts.new_connection_per_request \
            else {"keepalive_timeout": KEEPALIVE_S}
        connector = aiohttp.TCPConnector(limit=opts.pool_size, limit_per_host=0,
                                         ssl=self._tls if self._tls is not None else True, **pool)
        return aiohttp.ClientSession(
            connector=connector, trust_env=True, trace_configs=[_trace_config()],
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None),
            auto_decompress=True, raise_for_status=False,
        )

    def close(self) -> None:
        """Close the pooled connections and the loop."""
        if self._loop is None or self._loop.is_closed():
            return
        if self._session is not None:
            self._loop.run_until_complete(self._session.close())
            self._session = None
        self._loop.run_until_complete(asyncio.sleep(0))  # let transports finish closing
        self._loop.close()
