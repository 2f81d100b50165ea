"""A prompt item as a processor's text: its chat template, or a published prompt template."""

from __future__ import annotations

from typing import Any

from vlmbench.promptset.loader import PromptItem


def format_prompt(processor: Any, text: str | PromptItem, fallback_template: str) -> str:
    """The processor's chat template when it has one, else the entry's published template.
    ``text``: a prompt (one image first), or an item whose parts (several images, interleaved
    text) are rendered in order."""
    parts = text.parts() if isinstance(text, PromptItem) else (("image", 0), ("text", text))
    if getattr(processor, "chat_template", None):
        content = [{"type": "image"} if kind == "image" else {"type": "text", "text": value} for kind, value in parts]
        messages = [{"role": "user", "content": content}]
        return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    image_token = getattr(processor, "image_token", "<image>") or "<image>"
    if parts == (("image", 0), ("text", parts[1][1])):
        return fallback_template.replace("<image>", image_token).format(prompt=parts[1][1])
    body = "\n".join(image_token if kind == "image" else value for kind, value in parts)
    marker = "<image>\n" if "<image>\n" in fallback_template else "<image>"
    return fallback_template.replace(marker, "").format(prompt=body)
