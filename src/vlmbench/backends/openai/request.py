"""Chat-completion request bodies, built completely before the timed region.

One user message: the image as a base64 data URL (``image_url`` part), then the prompt text.
``stream: true``, ``temperature: 0``, and the server kind's length fields. The body is kept
as JSON bytes *without* ``stream_options``; :meth:`PreparedRequest.payload` appends
``"stream_options": {"include_usage": true}`` at send time (a byte splice), so a server that
rejects the option can be answered without re-serialising the image.

Cache busting (``--cache-bust``): the k-th request for prompt p in run r carries the text
nonce ``sha256(r|p|k)[:12]`` before the prompt and an image changed imperceptibly at position
``base(r, p) + k`` (see :mod:`images`), so no two requests of a run share a prefix or an
image, and a rerun (new run id) does not replay an earlier run's requests.

Cache states (``--cache-state``, :data:`~vlmbench.vocab.cells.CACHE_STATES`): ``cold`` is the
above; ``same-image`` keeps the image bytes and changes only the text nonce (an image-encoder /
processor cache may hit, the prefix cache cannot past the image); ``identical`` sends the same
body again (a prefix-cache hit). A request with several images (``--images-per-request``, a
dataset line) carries them as ``image_url`` parts in the item's order, text parts between
them where the item interleaves; under ``cold`` each image is changed at its own position.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

from vlmbench.backends.openai.images import ImagePerturber, data_url
from vlmbench.backends.openai.server_kinds import ServerKind
from vlmbench.promptset import PromptItem

USAGE_OPTION = b',"stream_options":{"include_usage":true}}'


def usage_option(stream_options: dict[str, Any]) -> bytes:
    """The ``stream_options`` member spliced in at send time (closing the body's object)."""
    return b',"stream_options":' + json.dumps(stream_options, separators=(",", ":")).encode() + b"}"


@dataclass(frozen=True)
class PreparedRequest:
    """``body``: JSON bytes without stream_options; ``encode_ms``: time spent building it
    (cache-bust image change, base64, JSON), outside any timed region. ms."""

    prompt_id: str
    body: bytes
    encode_ms: float
    nonce: Optional[str] = None
    # the user turn as sent: ("image", k) and ("text", str) parts, nonce included
    parts: tuple[tuple[str, Any], ...] = ()
    usage_suffix: bytes = USAGE_OPTION  # the server kind's stream_options (see ServerKind.stream_options)

    def payload(self, include_usage: bool) -> bytes:
        """The bytes to send, with or without ``stream_options.include_usage``."""
        return b"".join(self.payload_parts(include_usage))

    def payload_parts(self, include_usage: bool) -> tuple[bytes | memoryview, ...]:
        """The same bytes in parts, without copying the body (the sender joins them once)."""
        if not include_usage:
            return (self.body,)
        return (memoryview(self.body)[:-1], self.usage_suffix)


@dataclass(frozen=True)
class BustToken:
    nonce: str
    position: int


class CacheBuster:
    """Hands out one unique, deterministic :class:`BustToken` per request of a run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._issued: dict[str, int] = {}

    def next_token(self, prompt_id: str) -> BustToken:
        k = self._issued.get(prompt_id, 0)
        self._issued[prompt_id] = k + 1
        nonce = hashlib.sha256(f"{self.run_id}|{prompt_id}|{k}".encode()).hexdigest()[:12]
        base = int(hashlib.sha256(f"{self.run_id}|{prompt_id}".encode()).hexdigest()[:8], 16)
        return BustToken(nonce, base + k)


class RequestBuilder:
    """Builds the request bodies of one model on one server kind."""

    def __init__(self, model: str, kind: ServerKind, cache_buster: Optional[CacheBuster] = None,
                 default_state: Optional[str] = None, extra_fields: Optional[dict[str, Any]] = None) -> None:
        """``default_state``: the state of a request built without one (default: cold with a
        cache buster, identical without); ``extra_fields``: members every body carries (an engine's
        ``allowed_token_ids``)."""
        self.model = model
        self.kind = kind
        self.cache_buster = cache_buster
        self.default_state = default_state or ("cold" if cache_buster else "identical")
        self.extra_fields = dict(extra_fields or {})
        self._usage_suffix = usage_option(kind.stream_options)
        self._perturber = ImagePerturber()

    def build(self, item: PromptItem, max_new_tokens: int, state: Optional[str] = None) -> PreparedRequest:
        """The request for ``item`` in cache state ``state`` (None: cold with a cache buster,
        identical without); cold and same-image give a new request on every call."""
        t0 = time.perf_counter_ns()
        state = state or self.default_state
        buster = self.cache_buster
        token = buster.next_token(item.id) if buster is not None and state != "identical" else None
        images = [(part.data, part.format) for part in item.images]
        parts = list(item.parts())
        if token is not None:
            if state == "cold":
                images = [(self._perturber.perturb(data, fmt, token.position + k * 7919), fmt)
                          for k, (data, fmt) in enumerate(images)]
            first_text = next(i for i, (kind, _) in enumerate(parts) if kind == "text")
            parts[first_text] = ("text", f"[{token.nonce}] {parts[first_text][1]}")
        content = [{"type": "image_url", "image_url": {"url": data_url(*images[value])}} if kind == "image"
                   else {"type": "text", "text": value} for kind, value in parts]
        body = self.body_parts(content, max_new_tokens)
        encoded = json.dumps(body, separators=(",", ":")).encode("utf-8")
        encode_ms = (time.perf_counter_ns() - t0) / 1e6
        return PreparedRequest(item.id, encoded, encode_ms, token.nonce if token else None, tuple(parts),
                               self._usage_suffix)

    def body_parts(self, content: list[dict[str, Any]], max_new_tokens: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
            "stream": True,
            "temperature": 0,
        }
        body.update(self.kind.length_fields(max_new_tokens))
        body.update(self.extra_fields)
        return body
