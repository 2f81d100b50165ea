"""A minimal streaming HTTP/1.1 client on asyncio streams: one request per connection.

Why not an HTTP library: the benchmark needs the instant each piece of the body arrives,
with no pooling, retries or buffering of its own between the socket and the clock, and no
dependency. Each exchange opens its own connection (``Connection: close``), so a request
never waits behind another one's connection and a broken connection affects one request.

Times are ``time.perf_counter_ns()`` on the host:

- ``sent_ns``  just before the request's first byte is handed to the socket (the connection
  is already open: connecting is not part of TTFB/TTFT);
- ``head_ns``  when the end of the response headers arrived (TTFB);
- each body piece is stamped when the network read that delivered it returned.

Body framing: ``Transfer-Encoding: chunked`` (:class:`ChunkedDecoder`), ``Content-Length``,
or read until the server closes. Failures raise :class:`EndpointError` with a category.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Mapping, Optional

from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.errors import Category, EndpointError

READ_SIZE = 65536
MAX_HEAD_BYTES = 65536
MAX_ERROR_BODY_BYTES = 4096


def now_ns() -> int:
    return time.perf_counter_ns()


@dataclass
class ResponseHead:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased

    @classmethod
    def parse(cls, raw: bytes) -> "ResponseHead":
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise EndpointError(Category.MALFORMED_EVENT, f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return cls(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)


class ChunkedDecoder:
    """Incremental decoder of ``Transfer-Encoding: chunked``: ``feed`` returns the payload
    bytes received so far (a chunk's payload is passed on before the chunk is complete);
    ``done`` once the zero-size last chunk (and any trailers) arrived."""

    def __init__(self) -> None:
        self._buffer = b""  # unparsed framing bytes (a partial size line or CRLF)
        self._remaining = 0  # payload bytes still expected in the current chunk
        self._expect_crlf = False  # the CRLF that closes a chunk's payload
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf = self._buffer + data if self._buffer else data
        size_of_buf = len(buf)
        pos = 0
        out: list[bytes] = []
        while not self.done and pos < size_of_buf:
            if self._remaining:
                take = min(self._remaining, size_of_buf - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._remaining -= take
                if self._remaining:
                    break  # the rest of this chunk is still on its way
                self._expect_crlf = True
            if self._expect_crlf:
                if size_of_buf - pos < 2:
                    break
                if buf[pos:pos + 2] != b"\r\n":
                    raise EndpointError(Category.MALFORMED_EVENT, "chunked body: missing CRLF after a chunk")
                pos += 2
                self._expect_crlf = False
                continue
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                if size_of_buf - pos > 1024:
                    raise EndpointError(Category.MALFORMED_EVENT, "chunked body: chunk-size line too long")
                break
            size = _chunk_size(buf[pos:line_end])
            if size == 0:
                if buf.find(b"\r\n\r\n", line_end) >= 0:  # last chunk, optional trailers, CRLF
                    self.done = True
                    pos = size_of_buf
                break
            pos = line_end + 2
            self._remaining = size
        self._buffer = buf[pos:]
        return b"".join(out)


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip()
    try:
        return int(text, 16)
    except ValueError:
        raise EndpointError(Category.MALFORMED_EVENT, f"chunked body: bad chunk size {text[:20]!r}") from None


class _LengthDecoder:
    def __init__(self, length: int) -> None:
        self._remaining = length
        self.done = length == 0

    def feed(self, data: bytes) -> bytes:
        take = data[: self._remaining]
        self._remaining -= len(take)
        self.done = self._remaining == 0
        return take


class _UntilCloseDecoder:
    done = False

    def feed(self, data: bytes) -> bytes:
        return data


class HttpExchange:
    """One request and its streamed response on a fresh connection. Use as an async context
    manager (the connection is closed on exit)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._leftover = b""
        self._decoder: Optional[object] = None
        self.sent_ns: Optional[int] = None
        self.head_ns: Optional[int] = None
        self.head: Optional[ResponseHead] = None

    @classmethod
    async def connect(cls, endpoint: Endpoint, tls: Optional[ssl.SSLContext] = None) -> "HttpExchange":
        context = (tls or ssl.create_default_context()) if endpoint.uses_tls else None
        try:
            reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context,
                                                           limit=READ_SIZE)
        except ConnectionRefusedError:
            raise EndpointError(Category.CONNECT_REFUSED, f"nothing listens at {endpoint.label}") from None
        except (OSError, ssl.SSLError) as exc:
            raise EndpointError(Category.CONNECT_ERROR, f"{endpoint.label}: {type(exc).__name__}: {exc}") from None
        return cls(reader, writer)

    async def __aenter__(self) -> "HttpExchange":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    async def send(self, method: str, target: str, host: str, headers: Mapping[str, str],
                   *body: bytes | memoryview) -> None:
        """Send the request; ``body`` may come in parts (joined once, with the head)."""
        length = sum(len(part) for part in body)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        message = b"".join((("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), *body))
        self.sent_ns = now_ns()
        try:
            self._writer.write(message)
            await self._writer.drain()
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise EndpointError(Category.RESET, f"connection reset while sending: {exc}") from None

    async def _read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise EndpointError(Category.RESET, f"connection reset by the server: {exc}") from None
        except ssl.SSLError as exc:
            raise EndpointError(Category.RESET, f"TLS stream broken: {exc}") from None

    async def read_head(self) -> ResponseHead:
        buffer = b""
        while True:
            data = await self._read()
            if not data:
                raise EndpointError(Category.STREAM_ENDED_EARLY, "connection closed before the response headers")
            buffer += data
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                self.head_ns = now_ns()
                break
            if len(buffer) > MAX_HEAD_BYTES:
                raise EndpointError(Category.MALFORMED_EVENT, "response headers larger than 64 KiB")
        self.head = ResponseHead.parse(buffer[:end])
        self._leftover = buffer[end + 4:]
        self._decoder = self._body_decoder(self.head)
        return self.head

    @staticmethod
    def _body_decoder(head: ResponseHead):
        if "chunked" in head.headers.get("transfer-encoding", "").lower():
            return ChunkedDecoder()
        length = head.headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise EndpointError(Category.MALFORMED_EVENT, f"bad Content-Length {length[:20]!r}")
            return _LengthDecoder(int(length))
        return _UntilCloseDecoder()

    async def body_pieces(self) -> AsyncIterator[tuple[int, bytes]]:
        """(arrival time ns, payload bytes) for each network read of the body, until the
        body is complete. A connection closed before a framed body's end raises
        ``stream_ended_early``."""
        decoder = self._decoder
        assert decoder is not None, "read_head() first"
        if self._leftover:
            piece = decoder.feed(self._leftover)
            self._leftover = b""
            if piece:
                yield self.head_ns or now_ns(), piece
        while not decoder.done:
            data = await self._read()
            t = now_ns()
            if not data:
                if isinstance(decoder, _UntilCloseDecoder):
                    return
                raise EndpointError(Category.STREAM_ENDED_EARLY, "connection closed in the middle of the response body")
            piece = decoder.feed(data)
            if piece:
                yield t, piece

    async def read_body(self, limit: int = MAX_ERROR_BODY_BYTES) -> bytes:
        """The body, up to ``limit`` bytes (for error messages); tolerant of broken bodies."""
        out = b""
        try:
            async for _, piece in self.body_pieces():
                out += piece
                if len(out) >= limit:
                    break
        except EndpointError:
            pass
        return out[:limit]
