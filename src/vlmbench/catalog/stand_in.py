"""The stand-in tokenizer and processor of a random-weight entry, and its config pointed at them."""

from __future__ import annotations

from typing import Any


def stand_in_processor(entry: Any, config: Any) -> Any:
    """The entry's stand-in tokenizer + processor; the config's token ids aligned with them (in place)."""
    from vlmbench.catalog.tokenizer import build_tokenizer

    spec = entry.processor
    tokenizer = build_tokenizer(spec.image_token, spec.extra_special_tokens, chat_template=spec.chat_template)
    processor = spec.build(tokenizer)
    # image_token="" means the processor adds its own (Blip2): align with the one it added.
    image_token = spec.image_token or str(getattr(processor, "image_token", "") or "")
    align_config_with_tokenizer(config, processor, image_token)
    return processor


def align_config_with_tokenizer(config: Any, processor: Any, image_token: str) -> None:
    """Point the config's special-token ids at the stand-in tokenizer's ids (shapes unchanged)."""
    tok = getattr(processor, "tokenizer", processor)
    if image_token:
        image_id = tok.convert_tokens_to_ids(image_token)
        for attr in ("image_token_id", "image_token_index"):
            if hasattr(config, attr):
                setattr(config, attr, image_id)
    text = getattr(config, "text_config", config)
    vocab = getattr(text, "vocab_size", None)
    if vocab is not None and len(tok) > vocab:
        raise ValueError(f"stand-in tokenizer has {len(tok)} ids, more than the model's vocab {vocab}")
    for cfg in {id(config): config, id(text): text}.values():
        for attr, value in (("pad_token_id", tok.pad_token_id), ("eos_token_id", tok.eos_token_id),
                            ("bos_token_id", tok.bos_token_id)):
            if hasattr(cfg, attr):
                setattr(cfg, attr, value)
