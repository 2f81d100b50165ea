"""A scripted OpenAI-compatible server on 127.0.0.1 for failure injection and client benchmarks.

It really speaks HTTP/1.1 and SSE: chunked transfer encoding, persistent connections
(keep-alive, several requests in turn on one connection, unless the request says
``Connection: close`` or the behaviour breaks the connection), and TLS when given an
``ssl.SSLContext``. The ``model`` field of a chat request picks the behaviour (see
``BEHAVIOURS``):

normal                  role chunk, an empty-content chunk, ``max_tokens`` content chunks
                        ``chunk_gap_s`` apart, finish chunk, usage chunk (when
                        ``stream_options.include_usage``), ``[DONE]``
slow-first-byte         waits ``first_byte_delay_s`` before the response headers, then normal
split-events            the whole chunked response written 7 bytes at a time (splits chunk
                        framing, SSE lines, CRLF pairs and a multi-byte UTF-8 character)
http-500                HTTP 500 with a JSON error body
echo-auth               HTTP 500 whose body echoes the request's Authorization header
reset                   two content events, then a TCP reset (SO_LINGER 0)
close-mid-body          two content events, then the connection closes inside the body
end-early               two content events, then a well-formed end of body: no finish, no [DONE]
garbage                 a content event, then ``data: {not json``
error-event             a content event, then ``data: {"error": {"message": ...}}``
no-usage                normal, but never a usage chunk
empty-content           role chunk, ``max_tokens`` chunks with ``content: ""``, finish, usage
                        saying ``max_tokens`` tokens were generated, ``[DONE]`` (a model whose
                        tokens decode to no visible text)
bad-chunk-size          a content event, then (50 ms later) a chunk whose size line is not hex
not-http                answers with a line that is not an HTTP status line, then closes
close-before-head       reads the request and closes the connection without answering
gzipped                 an event stream sent with ``Content-Encoding: gzip`` (the client asked
                        for ``identity``)
reject-stream-options   422 when the body has ``stream_options`` (as ``transformers serve``
                        does for unknown fields); otherwise normal with usage in the finish
                        chunk and no ``[DONE]`` (also as ``transformers serve`` does)
stall                   a content event, then nothing until the client gives up
flaky                   rotates over normal, http-500, normal, echo-auth, normal, reset,
                        normal, garbage: one request in two fails, each time differently

Each content event's text is ``"<i>@<ns> "``: the chunk index and ``time.perf_counter_ns()``
just before the server wrote it (CLOCK_MONOTONIC, comparable across processes on one
host), so a client can measure its own delivery latency.

``GET /health`` answers ``{"status": "ok"}``; ``GET /v1/models`` lists one model with
``owned_by`` as configured (to exercise server-kind detection). A request in absolute form
(``POST http://host:port/v1/...``, as a client sends it to a forward proxy) is answered as if
it were addressed here, so the server can stand in for an HTTP proxy.

Use in-process (:class:`ServerThread`, own event loop in a thread; ``requests`` keeps every
parsed request with its raw body bytes, ``connections`` counts accepted connections) or as a
process: ``python tests/servers/scripted_sse.py --port 0`` prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

HOST = "127.0.0.1"


@dataclass
class Settings:
    chunk_gap_s: float = 0.0
    first_byte_delay_s: float = 0.3
    owned_by: str = "scripted"
    prompt_tokens: int = 600


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def wants_close(self) -> bool:
        return self.headers.get("connection", "").lower() == "close"


class Response:
    """Writes one chunked SSE response. ``keep_alive``: the connection stays open for the
    next request (announced in the ``Connection`` header); a behaviour that breaks the
    connection turns it off."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep_alive: bool = False) -> None:
        self.reader = reader
        self.writer = writer
        self.keep_alive = keep_alive

    @property
    def connection_header(self) -> str:
        return f"Connection: {'keep-alive' if self.keep_alive else 'close'}\r\n"

    async def head(self, status: int = 200, content_type: str = "text/event-stream") -> None:
        self.writer.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\nContent-Type: {content_type}\r\n"
            f"Transfer-Encoding: chunked\r\n{self.connection_header}\r\n".encode()
        )
        await self.writer.drain()

    async def chunk(self, data: bytes) -> None:
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await self.writer.drain()

    async def event(self, payload: Any, line_end: str = "\n") -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await self.chunk(f"data: {text}{line_end}{line_end}".encode())

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def simple(self, status: int, body: str) -> None:
        data = body.encode()
        self.writer.write(f"HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(data)}\r\n{self.connection_header}\r\n".encode() + data)
        await self.writer.drain()


def chunk_event(delta: dict[str, Any], finish: Optional[str] = None, usage: Optional[dict] = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if finish:
        choice["finish_reason"] = finish
    event: dict[str, Any] = {"id": "scripted", "object": "chat.completion.chunk", "model": "scripted",
                             "choices": [choice]}
    if usage:
        event["usage"] = usage
    return event


def content_event(index: int) -> dict[str, Any]:
    return chunk_event({"content": f"{index}@{time.perf_counter_ns()} "})


def n_tokens(request: Request) -> int:
    return int(request.body.get("max_tokens") or 8)


def wants_usage(request: Request) -> bool:
    return bool((request.body.get("stream_options") or {}).get("include_usage"))


def usage_of(request: Request, settings: Settings) -> dict[str, int]:
    n = n_tokens(request)
    return {"prompt_tokens": settings.prompt_tokens, "completion_tokens": n, "total_tokens": settings.prompt_tokens + n}


async def normal(resp: Response, request: Request, settings: Settings, usage: bool = True, done: bool = True,
                 usage_in_finish: bool = False) -> None:
    await resp.head()
    await resp.event(chunk_event({"role": "assistant"}))
    await resp.event(chunk_event({"content": ""}))
    for i in range(n_tokens(request)):
        if i and settings.chunk_gap_s:
            await asyncio.sleep(settings.chunk_gap_s)
        await resp.event(content_event(i))
    finish_usage = usage_of(request, settings) if usage and usage_in_finish else None
    await resp.event(chunk_event({}, finish="length", usage=finish_usage))
    if usage and not usage_in_finish and wants_usage(request):
        await resp.event({"id": "scripted", "object": "chat.completion.chunk", "choices": [],
                          "usage": usage_of(request, settings)})
    if done:
        await resp.event("[DONE]")
    await resp.end()


async def slow_first_byte(resp: Response, request: Request, settings: Settings) -> None:
    await asyncio.sleep(settings.first_byte_delay_s)
    await normal(resp, request, settings)


async def split_events(resp: Response, request: Request, settings: Settings) -> None:
    events = [chunk_event({"role": "assistant"})]
    events += [chunk_event({"content": f"é→{i} "}) for i in range(n_tokens(request))]
    events += [chunk_event({}, finish="length"),
               {"id": "scripted", "choices": [], "usage": usage_of(request, settings)}]
    body = b""
    for event in events:
        data = f"data: {json.dumps(event, ensure_ascii=False)}\r\n\r\n".encode()
        body += b"%x\r\n%s\r\n" % (len(data), data)
    for part in (b"data: ", b"[DONE]\r\n\r\n"):  # one event split over two HTTP chunks
        body += b"%x\r\n%s\r\n" % (len(part), part)
    body += b"0\r\n\r\n"
    resp.keep_alive = False
    resp.writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n")
    for start in range(0, len(body), 7):
        resp.writer.write(body[start:start + 7])
        await resp.writer.drain()
        await asyncio.sleep(0.0005)


async def http_500(resp: Response, request: Request, settings: Settings) -> None:
    await resp.simple(500, '{"error": {"message": "internal error", "type": "server_error"}}')


async def echo_auth(resp: Response, request: Request, settings: Settings) -> None:
    await resp.simple(500, json.dumps({"error": f"bad credentials: {request.headers.get('authorization', '')}"}))


async def _two_events(resp: Response) -> None:
    await resp.head()
    await resp.event(chunk_event({"role": "assistant"}))
    await resp.event(content_event(0))
    await resp.event(content_event(1))


async def reset(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False
    await _two_events(resp)
    sock = resp.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    resp.writer.transport.abort()


async def close_mid_body(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False
    await _two_events(resp)
    resp.writer.write(b"40\r\ndata: {\"partial")
    await resp.writer.drain()
    resp.writer.close()


async def end_early(resp: Response, request: Request, settings: Settings) -> None:
    await _two_events(resp)
    await resp.end()


async def garbage(resp: Response, request: Request, settings: Settings) -> None:
    await resp.head()
    await resp.event(content_event(0))
    await resp.event("{not json")
    await resp.end()


async def error_event(resp: Response, request: Request, settings: Settings) -> None:
    await resp.head()
    await resp.event(content_event(0))
    await resp.event({"error": {"message": "the engine died", "code": 500}})
    await resp.end()


async def no_usage(resp: Response, request: Request, settings: Settings) -> None:
    await normal(resp, request, settings, usage=False)


async def empty_content(resp: Response, request: Request, settings: Settings) -> None:
    await resp.head()
    await resp.event(chunk_event({"role": "assistant"}))
    for i in range(n_tokens(request)):
        if i and settings.chunk_gap_s:
            await asyncio.sleep(settings.chunk_gap_s)
        await resp.event(chunk_event({"content": ""}))
    await resp.event(chunk_event({}, finish="length"))
    await resp.event({"id": "scripted", "object": "chat.completion.chunk", "choices": [],
                      "usage": usage_of(request, settings)})
    await resp.event("[DONE]")
    await resp.end()


async def bad_chunk_size(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False
    await resp.head()
    await resp.event(content_event(0))
    await asyncio.sleep(0.05)  # the bad framing arrives in a later read, inside the body
    resp.writer.write(b"zz\r\ndata: x\r\n")
    await resp.writer.drain()


async def not_http(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False
    resp.writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await resp.writer.drain()


async def close_before_head(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False


async def gzipped(resp: Response, request: Request, settings: Settings) -> None:
    import gzip

    data = gzip.compress(b"data: [DONE]\n\n")
    resp.writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
                      b"Content-Length: %d\r\n%s\r\n" % (len(data), resp.connection_header.encode()) + data)
    await resp.writer.drain()


async def reject_stream_options(resp: Response, request: Request, settings: Settings) -> None:
    if "stream_options" in request.body:
        await resp.simple(422, json.dumps({"detail": "Unexpected fields in the request: {'stream_options'}"}))
        return
    await normal(resp, request, settings, usage=True, done=False, usage_in_finish=True)


async def stall(resp: Response, request: Request, settings: Settings) -> None:
    resp.keep_alive = False
    await resp.head()
    await resp.event(content_event(0))
    await resp.reader.read()  # returns when the client closes the connection


FLAKY_ROTATION = ("normal", "http-500", "normal", "echo-auth", "normal", "reset", "normal", "garbage")
_flaky_count = itertools.count()


async def flaky(resp: Response, request: Request, settings: Settings) -> None:
    behaviour = BEHAVIOURS[FLAKY_ROTATION[next(_flaky_count) % len(FLAKY_ROTATION)]]
    await behaviour(resp, request, settings)


Behaviour = Callable[[Response, Request, Settings], Awaitable[None]]
BEHAVIOURS: dict[str, Behaviour] = {
    "normal": normal, "slow-first-byte": slow_first_byte, "split-events": split_events,
    "http-500": http_500, "echo-auth": echo_auth, "reset": reset, "close-mid-body": close_mid_body,
    "end-early": end_early, "garbage": garbage, "error-event": error_event, "no-usage": no_usage,
    "reject-stream-options": reject_stream_options, "stall": stall, "flaky": flaky,
    "empty-content": empty_content, "bad-chunk-size": bad_chunk_size, "not-http": not_http,
    "close-before-head": close_before_head, "gzipped": gzipped,
}


class ScriptedServer:
    def __init__(self, settings: Optional[Settings] = None, port: int = 0, keep_requests: bool = True,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.settings = settings or Settings()
        self.requested_port = port
        self.keep_requests = keep_requests
        self.tls = tls
        self.requests: list[Request] = []
        self.connections = 0
        self._server: Optional[asyncio.base_events.Server] = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, self.requested_port, backlog=1024, ssl=self.tls)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:  # one request after another on this connection (keep-alive)
                request = await _read_request(reader)
                if request is None:
                    return
                if self.keep_requests:
                    self.requests.append(request)
                resp = Response(reader, writer, keep_alive=not request.wants_close)
                await self._answer(resp, request)
                if not resp.keep_alive or writer.is_closing():
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:  # the server stops: an idle keep-alive connection ends quietly
            pass
        finally:
            if not writer.is_closing():
                writer.close()

    async def _answer(self, resp: Response, request: Request) -> None:
        if request.method == "GET" and request.path.endswith("/health"):
            await resp.simple(200, '{"status": "ok"}')
        elif request.method == "GET" and request.path.endswith("/v1/models"):
            await resp.simple(200, json.dumps({"object": "list", "data": [
                {"id": "scripted", "object": "model", "owned_by": self.settings.owned_by}]}))
        elif request.method == "POST" and request.path.endswith("/v1/chat/completions"):
            behaviour = BEHAVIOURS.get(str(request.body.get("model")), normal)
            await behaviour(resp, request, self.settings)
        else:
            await resp.simple(404, '{"error": "not found"}')


async def _read_request(reader: asyncio.StreamReader) -> Optional[Request]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    raw = await reader.readexactly(length) if length else b""
    body = json.loads(raw) if raw else {}
    return Request(method, path, headers, body, raw)


class ServerThread:
    """A :class:`ScriptedServer` on its own event loop in a daemon thread (for tests)."""

    def __init__(self, settings: Optional[Settings] = None, tls: Optional[ssl.SSLContext] = None) -> None:
        self.server = ScriptedServer(settings, tls=tls)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="scripted-sse", daemon=True)

    def start(self) -> "ServerThread":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(timeout=10)
        return self

    async def _shutdown(self) -> None:
        await self.server.close()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.server.tls else 'http'}://{HOST}:{self.server.port}"

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    @property
    def connections(self) -> int:
        return self.server.connections

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="scripted OpenAI-compatible SSE server (127.0.0.1 only)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunk-gap-ms", type=float, default=0.0)
    parser.add_argument("--first-byte-delay-ms", type=float, default=300.0)
    parser.add_argument("--owned-by", default="scripted")
    args = parser.parse_args()
    settings = Settings(chunk_gap_s=args.chunk_gap_ms / 1000.0, first_byte_delay_s=args.first_byte_delay_ms / 1000.0,
                        owned_by=args.owned_by)

    async def serve() -> None:
        server = ScriptedServer(settings, args.port, keep_requests=False)
        await server.start()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
