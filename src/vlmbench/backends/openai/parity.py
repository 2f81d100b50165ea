"""Input parity: did the server process the visual tokens the model's processor gives?

For an endpoint model that is a catalog entry (its id, one of its checkpoints, or a local folder
named after the id), the entry's reference processor (the real image-processor configuration)
counts the image tokens of each request's images (``n_image_tokens``) and the text tokens of
the request's text as its chat template renders it. The server's prompt tokens (usage) less
those text tokens is what the server spent on images (``server_image_tokens``); a difference
(silent downscaling, a ``max_pixels`` cap, a truncated image) sets ``image_token_mismatch``.
The text count is exact where the server's tokenizer and chat template are the entry's (a
model folder saved from the catalog); a server with another tokenizer shifts it by the
difference in text tokens, which the flag cannot tell from an image difference.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from vlmbench.promptset import PromptItem


class InputParity:
    """Expected image and text tokens of endpoint requests for one served model."""

    def __init__(self, model: str) -> None:
        from vlmbench.catalog.visual_tokens import NoTokenRule, catalog_entry_for, reference_processor, token_counter

        self.entry = catalog_entry_for(model)
        self.processor: Any = None
        self.reason = "" if self.entry is not None else "not a catalog entry"
        if self.entry is None:
            return
        try:
            self.processor = reference_processor(model)
            self.count = token_counter(model)
        except NoTokenRule as exc:
            self.reason = str(exc)
            return
        tokenizer = getattr(self.processor, "tokenizer", None)
        token = getattr(self.processor, "image_token", None) or self.entry.processor.image_token
        self.tokenizer = tokenizer
        self.image_id = tokenizer.convert_tokens_to_ids(token) if tokenizer is not None and token else None
        if self.image_id is None:
            self.processor, self.reason = None, "the reference processor has no image token"

    def describe(self) -> str:
        if self.processor is None:
            return f"not checked ({self.reason})"
        return f"reference processor of catalog entry {self.entry.id}"

    def columns(self, item: PromptItem, parts: tuple, server_prompt_tokens: Optional[int]) -> dict[str, Any]:
        if self.processor is None:
            return {}
        from vlmbench.promptset.render import format_prompt

        expected = sum(self.count([(p.width, p.height) for p in item.images]))
        text = format_prompt(self.processor, replace(item, content=tuple(parts)) if parts else item,
                             self.entry.prompt_template)
        ids = self.tokenizer(text)["input_ids"]
        n_text = len(ids) - sum(1 for i in ids if i == self.image_id)
        out: dict[str, Any] = {"n_image_tokens": expected, "n_text_tokens": n_text}
        if server_prompt_tokens is not None:
            out["server_image_tokens"] = server_prompt_tokens - n_text
            out["image_token_mismatch"] = out["server_image_tokens"] != expected
        return out
