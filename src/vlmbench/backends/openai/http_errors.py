"""aiohttp's exceptions translated into the error categories rows carry (:mod:`errors`).

- ``connect_refused``: ``ClientConnectorError`` caused by a refused connection;
- ``connect_error``: any other ``ClientConnectorError`` (name resolution, TLS, unreachable),
  a proxy that cannot be reached or refuses the tunnel, other client errors;
- ``reset``: an OS error ECONNRESET / EPIPE / ECONNABORTED, a broken TLS stream, or a
  ``ClientPayloadError`` whose connection was reset;
- ``malformed_event``: a ``ClientPayloadError`` for a body framing the parser rejected (see
  :func:`session.end_body_with_connection`), or a response that is not HTTP at all
  (``ClientResponseError`` from the status line or headers);
- ``stream_ended_early``: a ``ClientPayloadError`` for a connection closed inside the body,
  or ``ServerDisconnectedError`` (closed before the response headers).

aiohttp reports a reset that interrupts a body only in the text of its ``ClientPayloadError``
(``... ConnectionResetError(104, ...)``), so that text is what is looked at; the failure tests
(``tests/test_openai_failures.py``) pin every line of this list against a real server.
"""

from __future__ import annotations

import errno
import ssl

import aiohttp
from aiohttp import http_exceptions

from vlmbench.backends.openai.endpoint import Endpoint
from vlmbench.backends.openai.errors import Category, EndpointError

RESET_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)
RESET_MARKERS = ("ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError", "SSLError")
FRAMING_REJECTED = "body framing rejected"  # see session.end_body_with_connection


def _is_refused(exc: aiohttp.ClientConnectorError) -> bool:
    os_error = getattr(exc, "os_error", None)
    return isinstance(os_error, ConnectionRefusedError) or getattr(os_error, "errno", None) == errno.ECONNREFUSED


def translate(exc: BaseException, endpoint: Endpoint, *, in_body: bool) -> EndpointError:
    """The :class:`EndpointError` for an exception raised while sending a request
    (``in_body`` False) or while reading its response body (``in_body`` True)."""
    if isinstance(exc, EndpointError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(exc, aiohttp.ClientProxyConnectionError):
        if _is_refused(exc):
            return EndpointError(Category.CONNECT_REFUSED, f"nothing listens at {endpoint.label}")
        return EndpointError(Category.CONNECT_ERROR, f"{endpoint.label}: {text}")
    if isinstance(exc, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        return EndpointError(Category.CONNECT_ERROR, f"proxy for {endpoint.label}: {text}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        message = str(exc)
        if any(marker in message for marker in RESET_MARKERS):
            return EndpointError(Category.RESET, f"connection reset by the server: {message}")
        if message.startswith(FRAMING_REJECTED):
            return EndpointError(Category.MALFORMED_EVENT, f"chunked body: {message}")
        return EndpointError(Category.STREAM_ENDED_EARLY, f"connection closed in the middle of the response body "
                                                          f"({message})")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        where = "in the middle of the response body" if in_body else "before the response headers"
        return EndpointError(Category.STREAM_ENDED_EARLY, f"connection closed {where}")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ssl.SSLError)) or \
            (isinstance(exc, OSError) and exc.errno in RESET_ERRNOS):
        return EndpointError(Category.RESET, f"connection reset by the server: {text}")
    if isinstance(exc, (aiohttp.ClientResponseError, http_exceptions.HttpProcessingError)):
        return EndpointError(Category.MALFORMED_EVENT, f"not a valid HTTP response: {text}")
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return EndpointError(Category.CONNECT_ERROR, f"{endpoint.label}: {text}")
    raise exc
