"""Catalog plugin for the sweep tests: tiny LLaVA variants with real failure modes.

- ``oom-at-4-tiny``: raises torch.OutOfMemoryError (the allocator's own exception type) when
  asked to run a batch of 4 or more requests, as a GPU would;
- ``sigkill-tiny``: the worker receives SIGKILL on its first forward, as from the OOM killer;
- ``hang-tiny``: every forward sleeps far longer than any request timeout in the tests.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import torch
from transformers import LlavaForConditionalGeneration

from vlmbench.catalog import get


class OomAtFourLlava(LlavaForConditionalGeneration):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        batch = (input_ids if input_ids is not None else kwargs["inputs_embeds"]).shape[0]
        if batch >= 4:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {batch} GiB (injected)")
        return super().forward(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask, **kwargs)


class SigkilledLlava(LlavaForConditionalGeneration):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)


class HangingLlava(LlavaForConditionalGeneration):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        time.sleep(600)


_base = get("llava-1.5-7b-tiny")
ENTRIES = (
    dataclasses.replace(_base, id="oom-at-4-tiny", model_class=OomAtFourLlava),
    dataclasses.replace(_base, id="sigkill-tiny", model_class=SigkilledLlava),
    dataclasses.replace(_base, id="hang-tiny", model_class=HangingLlava),
)
