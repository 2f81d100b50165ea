"""Catalog plugin for tests: tiny LLaVA variants that fail in real ways inside the worker.

- ``crash-segv-tiny``: the worker process kills itself with SIGSEGV on its first forward
  (as a segfaulting kernel would);
- ``raise-tiny``: every forward raises RuntimeError (an ordinary model bug).
"""

from __future__ import annotations

import dataclasses
import os
import signal

from transformers import LlavaForConditionalGeneration

from vlmbench.catalog import get


class SegfaultingLlava(LlavaForConditionalGeneration):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        os.kill(os.getpid(), signal.SIGSEGV)


class RaisingLlava(LlavaForConditionalGeneration):
    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        raise RuntimeError("injected model failure")


_base = get("llava-1.5-7b-tiny")
ENTRIES = (
    dataclasses.replace(_base, id="crash-segv-tiny", model_class=SegfaultingLlava),
    dataclasses.replace(_base, id="raise-tiny", model_class=RaisingLlava),
)
