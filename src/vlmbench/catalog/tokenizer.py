"""An offline stand-in tokenizer for random-weight models.

No tokenizer files can be downloaded here, so random-weight entries use a byte-level BPE
trained in milliseconds on a fixed English corpus. Byte-level BPE covers any text; on English
prompts it yields roughly 1.2-1.6x the tokens of a 32k-vocabulary LLaMA tokenizer, which
slightly lengthens text prompts (image tokens, which dominate VLM prompts, are exact).
The result is deterministic: same corpus, same merges, same ids.
"""

from __future__ import annotations

import functools
from typing import Sequence

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

BASE_SPECIALS = ("<unk>", "<s>", "</s>", "<pad>")
VOCAB_TARGET = 4096

_CORPUS = """
What is in this image? Describe the image in detail. What does the chart show, and which
category has the highest value? Read the text in the document and summarise the main points.
How many people are in the photo? What colour is the car on the left? Explain the diagram
step by step. You are a helpful assistant. Answer the question using a single word or phrase.
Please list every item on the receipt with its price, then give the total. Compare the two
lines in the plot and explain the trend over time. The quick brown fox jumps over the lazy
dog. A man is riding a bicycle down a street next to a building. There is a table with a
laptop, a cup of coffee and a notebook on it. The invoice lists the customer name, the date,
the order number, the quantity, the unit price and the amount due. Identify the objects in
the scene and their positions relative to each other. Is there anything unusual about this
picture? Write a short story about what happens next. Translate the sign into English.
Which year had the largest increase in revenue according to the bar chart? Provide the
answer and a one-sentence justification. The screenshot shows a settings page of a mobile
application with toggles for notifications, privacy, location services and dark mode.
Summarise the document in three bullet points, then state who it is addressed to and when
it was written. Count the rows and columns of the table, and report the value in the last
row of the second column. Describe the weather, the time of day and the season.
""".split()


@functools.lru_cache(maxsize=8)
def _trained(extra_specials: tuple[str, ...], vocab_size: int) -> str:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(BASE_SPECIALS) + list(extra_specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [" ".join(_CORPUS[i : i + 12]) for i in range(0, len(_CORPUS), 12)]
    tok.train_from_iterator(corpus * 4, trainer)
    return tok.to_str()


def build_tokenizer(
    image_token: str = "<image>",
    extra_specials: Sequence[str] = (),
    vocab_size: int = VOCAB_TARGET,
    chat_template: str | None = None,
) -> PreTrainedTokenizerFast:
    """A fast tokenizer with ``image_token`` registered as a special token.

    ``image_token=""`` leaves out the image-token attribute (Blip2's processor adds its own).
    """
    specials = tuple(dict.fromkeys(([image_token] if image_token else []) + list(extra_specials)))
    tok = Tokenizer.from_str(_trained(specials, vocab_size))
    kwargs = {}
    if image_token:
        kwargs["extra_special_tokens"] = {"image_token": image_token}
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        **kwargs,
    )
    if chat_template:
        fast.chat_template = chat_template
    return fast


def with_named_tokens(tokenizer: PreTrainedTokenizerFast, **named: str) -> PreTrainedTokenizerFast:
    """The same tokenizer (same vocabulary and ids) with more named special tokens, e.g.
    ``boi_token="<start_of_image>"`` gives ``.boi_token`` and ``.boi_token_id``, as processors that
    read their marker tokens from the tokenizer (Gemma 3, SmolVLM, Mllama) expect. Every named token
    must already be one of the tokenizer's special tokens."""
    missing = [t for t in named.values() if t not in tokenizer.get_vocab()]
    if missing:
        raise ValueError(f"not in the stand-in tokenizer's vocabulary: {missing}")
    base = ("bos_token", "eos_token", "unk_token", "pad_token")
    extra = {k: v for k, v in tokenizer.special_tokens_map.items() if k not in base and isinstance(v, str)}
    extra.update(named)
    copy = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(tokenizer.backend_tokenizer.to_str()),
        bos_token=tokenizer.bos_token, eos_token=tokenizer.eos_token, unk_token=tokenizer.unk_token,
        pad_token=tokenizer.pad_token, extra_special_tokens=extra,
    )
    copy.chat_template = tokenizer.chat_template
    return copy
