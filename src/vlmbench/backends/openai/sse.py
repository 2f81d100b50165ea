"""Incremental Server-Sent Events parser (the WHATWG event-stream format).

Bytes arrive in arbitrary pieces: an event, a line, even a ``\\r\\n`` pair or a multi-byte
UTF-8 character can be split across network reads. :class:`SSEParser` buffers bytes until a
line is complete and dispatches an event at each blank line:

- lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r``;
- ``data:`` lines accumulate (joined with ``\\n``); one leading space after the colon is dropped;
- ``event:`` sets the event type; lines starting with ``:`` are comments (keep-alives);
- other fields (``id``, ``retry``, unknown ones) are ignored; an event without data is not
  dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"


class SSEParser:
    """Feed bytes with :meth:`feed`; get back the events completed by them."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._event = ""
        self._pending_cr = False  # the last piece ended in "\r": a following "\n" belongs to it

    def feed(self, piece: bytes) -> list[SSEEvent]:
        if self._pending_cr and piece.startswith(b"\n"):
            piece = piece[1:]
        self._pending_cr = False
        buffer = self._buffer + piece
        events: list[SSEEvent] = []
        start = 0
        size = len(buffer)
        while start < size:
            newline = _next_line_end(buffer, start)
            if newline < 0:
                break
            line = buffer[start:newline]
            if buffer[newline] == 13:  # "\r": swallow a directly following "\n"
                if newline + 1 < size:
                    start = newline + 2 if buffer[newline + 1] == 10 else newline + 1
                else:
                    start = newline + 1
                    self._pending_cr = True
            else:
                start = newline + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        return events

    @property
    def has_partial_event(self) -> bool:
        """Bytes or data lines received that no blank line has completed yet."""
        return bool(self._buffer.strip()) or bool(self._data)

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            return self._dispatch()
        if raw.startswith(b"data: "):  # the common case, without the general field parsing
            self._data.append(raw[6:].decode("utf-8", "replace"))
            return None
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent("\n".join(self._data), self._event or "message")
        self._data = []
        self._event = ""
        return event


def _next_line_end(buffer: bytes, start: int) -> int:
    """Index of the first ``\\n`` or ``\\r`` at or after ``start``; -1 when none."""
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    return cr if cr >= 0 else lf
