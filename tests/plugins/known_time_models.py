"""Catalog plugin for tests: tiny LLaVA variants whose stages take a known time (and memory).

The model is a metronome. Hooks on the real modules pace each forward to a deadline:

- the vision tower ends ``VISION_S`` after it starts;
- the model's prefill forward (sequence length > 1: language model and LM head) ends
  ``PREFILL_S`` after the vision tower ended;
- decode forward ``k`` (sequence length 1) ends ``k x DECODE_S`` after the prefill ended.

The real forward runs first (a few ms for this tiny model), then the hook sleeps until the
deadline. Deadlines are chained to the schedule, not to when the last sleep happened to wake
up, so scheduler jitter does not accumulate: the logits of generated token ``k`` are ready
at ``t_vision_start + VISION_S + PREFILL_S + (k - 1) x DECODE_S``. Hence the truth for the
trackers: TTFT = VISION_S + PREFILL_S (plus generate's own set-up before the vision tower and
the sampling after the last forward, a few ms), TPOT = ITL = DECODE_S, vision_ms = VISION_S,
prefill_ms = PREFILL_S. The real work of each step must stay well inside it: see __init__.

``known-alloc-tiny`` is the same model that also allocates and touches ``ALLOC_MIB`` MiB (then
frees it) once per request, in the vision tower's forward: its peak RSS must exceed the
baseline model's by that much.
"""

from __future__ import annotations

import dataclasses
import time

import torch
from transformers import LlavaForConditionalGeneration

from vlmbench.catalog import get

VISION_S = 0.5
PREFILL_S = 0.5
DECODE_S = 0.15
ALLOC_MIB = 256


def sleep_until(deadline_ns: int) -> None:
    remaining = deadline_ns - time.perf_counter_ns()
    if remaining > 0:
        time.sleep(remaining / 1e9)


class PacedLlava(LlavaForConditionalGeneration):
    vision_s = VISION_S
    prefill_s = PREFILL_S
    decode_s = DECODE_S
    alloc_mib = 0

    def __init__(self, config) -> None:
        super().__init__(config)
        # One intra-op thread: on a busy shared CPU, two threads that wait on each other make a
        # forward of this tiny model take seconds instead of milliseconds; the schedule needs
        # the real work to stay well inside each step.
        torch.set_num_threads(1)
        self._vision_start_ns = 0
        self._anchor_ns = 0  # scheduled end of the previous stage
        self._seq_len = 0
        vision = self.model.vision_tower
        vision.register_forward_pre_hook(self._vision_begins)
        vision.register_forward_hook(self._vision_ends)
        # The whole forward (language model + LM head) is paced, so only the sampling step and
        # the streamer run after the deadline.
        self.register_forward_pre_hook(self._lm_begins, with_kwargs=True)
        self.register_forward_hook(self._lm_ends)

    def _vision_begins(self, module, args) -> None:
        self._vision_start_ns = time.perf_counter_ns()

    def _vision_ends(self, module, args, output) -> None:
        if self.alloc_mib:
            block = torch.ones(self.alloc_mib * 1024 * 1024, dtype=torch.uint8)  # every page written
            del block
        self._anchor_ns = self._vision_start_ns + int(self.vision_s * 1e9)
        sleep_until(self._anchor_ns)

    def _lm_begins(self, module, args, kwargs) -> None:
        embeds = kwargs.get("inputs_embeds")
        ids = kwargs.get("input_ids")
        source = embeds if embeds is not None else (ids if ids is not None else args[0])
        self._seq_len = int(source.shape[1])

    def _lm_ends(self, module, args, output) -> None:
        step = self.prefill_s if self._seq_len > 1 else self.decode_s
        self._anchor_ns += int(step * 1e9)
        sleep_until(self._anchor_ns)


class PacedAllocatingLlava(PacedLlava):
    alloc_mib = ALLOC_MIB


_base = get("llava-1.5-7b-tiny")
ENTRIES = (
    dataclasses.replace(_base, id="known-time-tiny", model_class=PacedLlava),
    dataclasses.replace(_base, id="known-alloc-tiny", model_class=PacedAllocatingLlava),
)


# --- known preprocessing time (appended) ------------------------------------------------------
# ``known-preprocess-tiny``: the paced model above, with a processor whose call ends PREPROCESS_S
# after it began (the real processing runs first, then it sleeps to the deadline). The truth
# for the user-facing columns: preprocess_ms = PREPROCESS_S (+ opening the image file, before
# the processor call: a few ms), ttft_user_ms = PREPROCESS_S + VISION_S + PREFILL_S.
PREPROCESS_S = 0.4


def _paced_processor(build):
    def paced_build(tokenizer):
        processor = build(tokenizer)
        real = type(processor)

        class PacedProcessor(real):
            def __call__(self, *args, **kwargs):
                deadline = time.perf_counter_ns() + int(PREPROCESS_S * 1e9)
                out = super().__call__(*args, **kwargs)
                sleep_until(deadline)
                return out

        PacedProcessor.__name__ = real.__name__  # processor_kind() and labels see the real class
        processor.__class__ = PacedProcessor
        return processor

    return paced_build


ENTRIES = ENTRIES + (
    dataclasses.replace(_base, id="known-preprocess-tiny", model_class=PacedLlava,
                        processor=dataclasses.replace(_base.processor, build=_paced_processor(_base.processor.build))),
)
