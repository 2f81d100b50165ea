"""What one streamed chat completion said, event by event (OpenAI ``chat.completion.chunk``).

A *content event* is an event whose delta carries non-empty ``content``, reasoning
(``reasoning_content`` or ``reasoning``) or ``tool_calls``. Role-only deltas
(``{"role": "assistant"}``), empty strings and the trailing usage chunk are not content: they
never start TTFT nor end E2E.

The stream is *finished* when ``data: [DONE]`` arrives or a choice reports a
``finish_reason`` (some servers, ``transformers serve`` among them, send no ``[DONE]``).
``usage`` is taken from the last event that carries it (the finish chunk or a separate
trailing chunk, depending on the server).

Two steps, so the client does the least possible work between network reads:

- while the stream runs, :class:`EventLog` keeps each event with its arrival time and only
  looks for ``[DONE]``, a ``finish_reason`` (a pattern match, no JSON) and error events
  (decoded at once, so a server that reports an error and then hangs is not a timeout);
- after the load window, :meth:`EventLog.decode` decodes every event into a
  :class:`ChatStreamRecord` (a malformed event raises ``malformed_event`` then).

Arrival times are the same either way: each event carries the time of the read that
delivered it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from vlmbench.backends.openai.errors import Category, EndpointError
from vlmbench.backends.openai.sse import SSEEvent

DONE_MARKER = "[DONE]"
REASONING_FIELDS = ("reasoning_content", "reasoning")
# A JSON member "finish_reason" with a string value (null does not match; inside a string
# value the quotes would be escaped, so generated text cannot match either).
FINISH_PATTERN = re.compile(r'"finish_reason"\s*:\s*"')
ERROR_MARKER = '"error"'


@dataclass
class EventLog:
    """The SSE events of one stream as received: ``(event, arrival ns)`` in order."""

    events: list[tuple[SSEEvent, int]] = field(default_factory=list)
    done: bool = False  # [DONE] received; later events are ignored
    finish_seen: bool = False

    @property
    def finished(self) -> bool:
        return self.done or self.finish_seen

    def receive(self, event: SSEEvent, t_ns: int) -> None:
        """Keep one event; an error event raises EndpointError at once."""
        if self.done:
            return
        data = event.data
        if data == DONE_MARKER or data.strip() == DONE_MARKER:
            self.done = True
            return
        if event.event == "error" or ERROR_MARKER in data:
            ChatStreamRecord().on_event(event, t_ns)  # raises stream_error (or malformed_event)
        self.events.append((event, t_ns))
        if not self.finish_seen and FINISH_PATTERN.search(data):
            self.finish_seen = True

    def decode(self) -> "ChatStreamRecord":
        """Every kept event decoded, in arrival order; raises EndpointError on a malformed one."""
        record = ChatStreamRecord()
        for event, t_ns in self.events:
            record.on_event(event, t_ns)
        record.done = self.done
        return record


@dataclass
class ChatStreamRecord:
    """``content_ns``: arrival time (host monotonic ns) of each content event; ``text``: the
    generated text (content and reasoning) joined; usage counts as the server reported them.

    Token-exact timing: a server asked for per-chunk usage (vLLM's ``continuous_usage_stats``) reports
    the running ``completion_tokens`` on every chunk; a chunk with choices whose count rose carries that
    many generated tokens, whatever its text (tokens ending inside a multi-byte character, or decoding to
    nothing, come as ``content: ''``). ``token_events`` holds ``(arrival ns, tokens)`` of those chunks;
    ``choice_ns`` every event with a non-empty ``choices`` list (vLLM ``bench serve`` times these);
    ``last_ns`` the last event before ``[DONE]`` (AIPerf's final response)."""

    content_ns: list[int] = field(default_factory=list)
    choice_ns: list[int] = field(default_factory=list)
    token_events: list[tuple[int, int]] = field(default_factory=list)
    last_ns: Optional[int] = None
    choices_without_usage: int = 0  # > 0: usage is not per chunk (a final count only), arrivals unknown
    text_parts: list[str] = field(default_factory=list)
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    cached_tokens: Optional[int] = None  # usage.prompt_tokens_details.cached_tokens, when returned
    finish_reason: Optional[str] = None
    done: bool = False

    @property
    def finished(self) -> bool:
        return self.done or self.finish_reason is not None

    @property
    def token_ns(self) -> Optional[list[int]]:
        """One arrival time per generated token (a chunk of k tokens gives its time k times), when every
        chunk with choices carried usage and the per-chunk counts account for every token; else None."""
        if (not self.token_events or self.choices_without_usage
                or self.completion_tokens != sum(k for _, k in self.token_events)):
            return None
        return [t for t, k in self.token_events for _ in range(k)]

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def on_event(self, event: SSEEvent, t_ns: int) -> None:
        """Record one SSE event that arrived at ``t_ns``; raise EndpointError on a malformed
        event or an error event."""
        if self.done:
            return
        data = event.data.strip()
        if data == DONE_MARKER:
            self.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            raise EndpointError(Category.MALFORMED_EVENT, f"event is not JSON: {data[:80]!r}") from None
        if not isinstance(chunk, dict):
            raise EndpointError(Category.MALFORMED_EVENT, f"event is not a JSON object: {data[:80]!r}")
        if event.event == "error" or "error" in chunk:
            raise EndpointError(Category.STREAM_ERROR, _error_text(chunk.get("error", chunk)))
        choices = chunk.get("choices")
        usage = chunk.get("usage")
        if not isinstance(choices, list) or (not choices and not usage):
            if usage is None:
                raise EndpointError(Category.MALFORMED_EVENT, f"event has no choices: {data[:80]!r}")
            choices = []
        self.last_ns = t_ns
        before = self.completion_tokens or 0
        if usage:
            self._usage(usage)
        if choices:
            self.choice_ns.append(t_ns)
            if not usage:
                self.choices_without_usage += 1
            if usage and (self.completion_tokens or 0) > before:
                self.token_events.append((t_ns, self.completion_tokens - before))
        content = False
        for choice in choices:
            if not isinstance(choice, dict):
                raise EndpointError(Category.MALFORMED_EVENT, f"choice is not an object: {data[:80]!r}")
            content |= self._delta(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        if content:
            self.content_ns.append(t_ns)

    def _delta(self, delta: dict[str, Any]) -> bool:
        found = False
        text = delta.get("content")
        if isinstance(text, str) and text:
            self.text_parts.append(text)
            found = True
        for name in REASONING_FIELDS:
            text = delta.get(name)
            if isinstance(text, str) and text:
                self.text_parts.append(text)
                found = True
        if delta.get("tool_calls"):
            found = True
        return found

    def _usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            raise EndpointError(Category.MALFORMED_EVENT, "usage is not an object")
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int):
            self.prompt_tokens = prompt
        if isinstance(completion, int):
            self.completion_tokens = completion
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("cached_tokens"), int):
            self.cached_tokens = details["cached_tokens"]


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)
    return str(error)
