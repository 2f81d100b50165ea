"""The HTTP side of the endpoint client, on aiohttp: one ``ClientSession`` per endpoint, its
connection pool, TLS, proxies, and the instants a request's timings need.

- **Connections** are kept alive and reused (HTTP/1.1 keep-alive), as real clients do; one
  ``TCPConnector`` sized for the run's concurrency holds them. ``--new-connection-per-request``
  opens a fresh connection for every request and closes it after (``Connection: close``).
  An idle pooled connection is dropped after :data:`KEEPALIVE_S` (under the 5 s that uvicorn,
  and so vLLM, SGLang and ``transformers serve``, keep an idle connection open, so the client
  never sends on a connection the server is closing).
- **TLS**: the system's trusted certificates, or only those of ``--ca-bundle FILE``.
- **Proxies**: ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` (credentials in the proxy URL
  or ``~/.netrc``) are honoured, as the OpenAI SDK and curl do. They are read once, when the
  session is made: aiohttp's ``trust_env`` would look them up (and read ``~/.netrc``) in a
  worker thread for every request, two thread hops that compete with the event loop for the
  interpreter under load.
- **No buffering of our own** between the socket and the clock: the body is read with
  ``StreamReader.iter_any()``, which hands over whatever the network delivered (already
  de-chunked by aiohttp's HTTP parser). Compression is declined (``Accept-Encoding:
  identity``) and never decoded, so no decompressor holds bytes back (a server that
  compresses anyway gets ``malformed_event``).
- **Arrival instants are those of the socket reads**: the connections' protocol is aiohttp's
  ``ResponseHandler`` with one addition (:class:`StampingResponseHandler`): it notes the
  instant of every network read, which read completed a response's head and how many body
  bytes each read delivered (:class:`ArrivalLog`). :class:`BodyClock` maps the bytes the
  reader gets back to the read that delivered them. So a chunk's time is when it came off
  the socket, not when the reading task next got the event loop. Where the log is missing,
  pieces are stamped when the reader gets them.
- **Timeouts** are the caller's (``--request-timeout``, whole request): aiohttp's own are off.

Instants (``time.perf_counter_ns()``, host monotonic), per request, from aiohttp's trace
signals (:class:`RequestTrace`):

- ``connect_start_ns`` / ``connect_end_ns``: a new connection was opened for the request
  (name resolution, TCP and TLS handshakes, and a proxy's tunnel where one is used); both
  empty when a pooled connection was reused;
- ``sent_ns``: just before the request's first byte is handed to the socket (aiohttp writes
  the headers and the body in one write): the connection is open, so connecting is not part
  of TTFB or TTFT;
- ``ArrivalLog.head_ns``: the network read that completed the response head (TTFB).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional, TypeVar

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

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
    sent_ns: Optional[int] = None  # first body write: aiohttp sends the buffered headers with it

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


async def _chunk_sent(session: Any, context: Any, params: Any) -> None:
    trace = context.trace_request_ctx
    if isinstance(trace, RequestTrace) and trace.sent_ns is None:
        trace.sent_ns = now_ns()


def _trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_connection_create_start.append(_connect_start)
    config.on_connection_create_end.append(_connect_end)
    config.on_request_chunk_sent.append(_chunk_sent)
    return config


class ArrivalLog:
    """When one response arrived: ``head_ns``, the network read that completed its head, and
    ``reads``, one ``(ns, body bytes received so far)`` per network read that delivered body."""

    __slots__ = ("head_ns", "reads")

    def __init__(self, head_ns: int) -> None:
        self.head_ns = head_ns
        self.reads: list[tuple[int, int]] = []


class StampingResponseHandler(ResponseHandler):
    """aiohttp's client protocol, noting the instant of every network read of the connection
    (host monotonic ns, taken before the bytes are parsed) in the :class:`ArrivalLog` of the
    response they belong to. HTTP/1.1 without pipelining: one response at a time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: Optional[ArrivalLog] = None
        self._stamped: Any = None  # the body reader that ``arrivals`` describes

    def data_received(self, data: bytes) -> None:
        if not data:  # aiohttp re-running its parser on nothing: no network read to stamp
            super().data_received(data)
            return
        t_ns = now_ns()
        super().data_received(data)
        payload = getattr(self, "_payload", None)
        if payload is None:
            return
        if payload is not self._stamped:  # this read completed a new response's head
            self._stamped = payload
            self.arrivals = ArrivalLog(t_ns)
        total = getattr(payload, "total_bytes", None)
        reads = self.arrivals.reads if self.arrivals is not None else None
        if isinstance(total, int) and reads is not None and total > (reads[-1][1] if reads else 0):
            reads.append((t_ns, total))

    def resume_reading(self, resume_parser: bool = True) -> None:
        """aiohttp calls this for every buffered HTTP chunk the reader takes (each SSE event
        is one), and each call re-runs the parser on no data. With reading not paused there
        is nothing to resume (bodies are not decompressed, so the parser holds nothing back):
        skip that work, a large share of the client's CPU per request at 128 streams."""
        if self._reading_paused or self._buffer_paused:
            super().resume_reading(resume_parser)


def arrival_log(response: aiohttp.ClientResponse) -> Optional[ArrivalLog]:
    """The arrival log of ``response``, when its connection kept one for exactly its body
    (the protocol the response was read from: a body that arrived whole has already given its
    connection back by the time the caller looks)."""
    protocol = getattr(response, "_protocol", None)
    if protocol is None and response.connection is not None:
        protocol = response.connection.protocol
    if isinstance(protocol, StampingResponseHandler) and protocol._stamped is response.content:
        return protocol.arrivals
    return None


class BodyClock:
    """Splits the body pieces a reader gets back at network-read boundaries and gives each
    part the instant of the read that delivered it (``now`` where no log was kept)."""

    def __init__(self, log: Optional[ArrivalLog]) -> None:
        self._reads = log.reads if log is not None else None
        self._index = 0
        self._consumed = 0

    def parts(self, piece: bytes) -> Iterator[tuple[int, bytes]]:
        start, end = self._consumed, self._consumed + len(piece)
        self._consumed = end
        reads = self._reads
        if not reads:
            yield now_ns(), piece
            return
        pos, i = start, self._index
        while pos < end:
            while i < len(reads) and reads[i][1] <= pos:
                i += 1
            if i == len(reads):  # bytes the log did not see: stamp them now
                yield now_ns(), piece[pos - start:]
                break
            t_ns, total = reads[i]
            cut = min(total, end)
            yield t_ns, piece[pos - start:cut - start]
            pos = cut
        self._index = i


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


def environment_proxy(endpoint: Endpoint) -> tuple[Optional[URL], Optional[aiohttp.BasicAuth]]:
    """The proxy the environment names for ``endpoint`` (``HTTP_PROXY`` / ``HTTPS_PROXY``
    unless ``NO_PROXY`` exempts the host, as urllib reads them) and its credentials."""
    try:
        return get_env_proxy_for_url(URL(endpoint.url("/")))
    except LookupError:
        return None, None


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The client's event loop: uvloop's (libuv; a dependency wherever it builds) where it is
    installed, else asyncio's own. Each read's callback then costs a fraction of asyncio's,
    so at 64+ streams a read waits less for the loop (the client's added latency)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class HttpSession:
    """One aiohttp session on an event loop of its own, so pooled connections live across
    load windows (each window is one :meth:`run`). Not thread-safe; :meth:`close` at the end."""

    def __init__(self, endpoint: Endpoint, options: ConnectionOptions = ConnectionOptions()) -> None:
        self.endpoint = endpoint
        self.options = options
        self._tls = tls_context(options.ca_bundle) if endpoint.uses_tls else None  # built once
        self.proxy, auth = environment_proxy(endpoint)
        credentials = {"Proxy-Authorization": auth.encode()} if self.proxy is not None and auth is not None else {}
        # aiohttp sends proxy credentials with the tunnel's CONNECT (https), or with the request itself (http)
        self._proxy_headers = credentials if endpoint.uses_tls else {}
        self.extra_headers: dict[str, str] = {} if endpoint.uses_tls else credentials
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._session: Optional[aiohttp.ClientSession] = None

    def proxy_options(self) -> dict[str, Any]:
        """Per-request keyword arguments of aiohttp that route the request via the proxy."""
        if self.proxy is None:
            return {}
        return {"proxy": self.proxy, "proxy_headers": self._proxy_headers or None}

    def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` to completion on the session's loop."""
        if self._loop is None or self._loop.is_closed():
            self._loop = new_event_loop()
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
        connector._factory = functools.partial(StampingResponseHandler, loop=asyncio.get_running_loop())
        return aiohttp.ClientSession(
            connector=connector, trust_env=False, trace_configs=[_trace_config()],
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None),
            auto_decompress=False, raise_for_status=False,
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
