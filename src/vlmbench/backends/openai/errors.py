"""Why an endpoint request failed: one category per kind of failure, never a sentinel number.

A failed request becomes a row with ``status=error`` (or ``timeout``) and an ``error`` text
that starts with its category, e.g. ``http_500: Internal Server Error`` or
``connect_refused: 127.0.0.1:8000``. Categories:

``http_<code>``          the server answered with an HTTP status >= 400
``connect_refused``      nothing listens at the endpoint
``connect_error``        any other failure to connect (name resolution, TLS, unreachable)
``reset``                the peer reset the connection (RST) while the request was open
``stream_ended_early``   the response ended (or the connection closed) before the stream
                         finished: no ``[DONE]`` and no ``finish_reason``
``malformed_event``      an SSE event or HTTP framing that cannot be parsed
``stream_error``         the server sent an ``{"error": ...}`` event inside the stream
``timeout``              no complete response within ``--request-timeout`` seconds
"""

from __future__ import annotations

from enum import Enum

from vlmbench.results.schema import Status

_MAX_DETAIL = 300


class Category(str, Enum):
    CONNECT_REFUSED = "connect_refused"
    CONNECT_ERROR = "connect_error"
    RESET = "reset"
    STREAM_ENDED_EARLY = "stream_ended_early"
    MALFORMED_EVENT = "malformed_event"
    STREAM_ERROR = "stream_error"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value


class EndpointError(Exception):
    """A request that did not produce a complete stream. ``category`` is a :class:`Category`
    value or ``http_<code>``; ``str(exc)`` is the row's error text."""

    def __init__(self, category: str, detail: str, http_status: int | None = None) -> None:
        self.category = str(category)
        self.detail = " ".join(str(detail).split())[:_MAX_DETAIL]  # one line, bounded
        self.http_status = http_status
        super().__init__(f"{self.category}: {self.detail}")

    @classmethod
    def http(cls, status: int, reason: str, body: bytes) -> "EndpointError":
        text = body.decode("utf-8", "replace").strip()
        return cls(f"http_{status}", f"{reason} {text}".strip(), http_status=status)

    @property
    def status(self) -> Status:
        """The row status: ``timeout`` for timeouts, ``error`` for everything else."""
        return Status.TIMEOUT if self.category == Category.TIMEOUT.value else Status.ERROR

    def redacted(self, secret: str | None) -> "EndpointError":
        """The same error with ``secret`` (the API key) masked in its text (see :func:`redact`)."""
        text = redact(self.detail, secret)
        if text == self.detail:
            return self
        return EndpointError(self.category, text, self.http_status)


MIN_MASKED_PREFIX = 6


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``, including a cut-off
    start of it (at least 6 characters, or the whole secret if shorter) where an excerpt was
    shortened in the middle of an echoed key."""
    if not secret:
        return text
    least = min(MIN_MASKED_PREFIX, len(secret))
    out: list[str] = []
    i = 0
    while (hit := text.find(secret[:least], i)) >= 0:
        end = hit + least
        while end - hit < len(secret) and end < len(text) and text[end] == secret[end - hit]:
            end += 1
        out += [text[i:hit], "***"]
        i = end
    out.append(text[i:])
    return "".join(out)
