"""Catalog plugin for the stability-flag tests: paced tiny LLaVAs (known_time_models.PacedLlava)
whose times differ per prompt, and one that slows down halfway through its repeats.

- ``prompt-paced-tiny``: every stage of a request is paced to its deadline (see
  known_time_models), scaled by a per-prompt factor ``1 + 0.4 x (prompt length mod 4)`` (1 to
  2.2): times follow the input as they do on a real model, but each prompt takes the same time
  in every repeat. A stable machine by construction: the spread across prompts is large
  (CV ~0.3), the spread across repeats of one prompt is only the host's scheduling jitter.
- ``slowdown-paced-tiny``: the same, and from the fourth time it sees an input onwards every
  stage takes ``SLOW_FACTOR`` (1.5) times as long: the shape warmup sees every prompt once, so
  with 4 repeats, repeats 2 and 3 are slower than repeats 0 and 1: the machine changed halfway.
  (The prompt the cold request and the full warmup also ran is slow two repeats earlier.)
- ``shape-cost-paced-tiny``: the same pace as ``prompt-paced-tiny``, except that the first time
  it sees an input every stage takes ``FIRST_SIGHT_FACTOR`` (1.5) times as long, as one-time
  costs per input shape do on a real model (allocations growing, kernels set up per shape).
  With the shape warmup those first sightings are all unrecorded; without it
  (``--no-warmup-shapes``) they land in the first repeat.
"""

from __future__ import annotations

import dataclasses
import hashlib

from plugins.known_time_models import PacedLlava, sleep_until

from vlmbench.catalog import get

VISION_S = 0.05  # long enough that the real work of a step (a few ms) fits inside it on a busy machine
PREFILL_S = 0.05
DECODE_S = 0.04
SLOW_FACTOR = 1.5
SLOW_FROM_SIGHTING = 4  # the fourth call with the same input and later ones are slow
FIRST_SIGHT_FACTOR = 1.5


class PromptPacedLlava(PacedLlava):
    vision_s = VISION_S
    prefill_s = PREFILL_S
    decode_s = DECODE_S
    slow_factor = 1.0
    first_sight_factor = 1.0

    def __init__(self, config) -> None:
        super().__init__(config)
        self._sightings: dict[str, int] = {}
        self._scale = 1.0

    def _lm_begins(self, module, args, kwargs) -> None:
        super()._lm_begins(module, args, kwargs)
        if self._seq_len > 1:  # the prefill forward: a new request, its input decides the pace
            ids = kwargs.get("input_ids")
            source = ids if ids is not None else kwargs.get("inputs_embeds")
            key = (hashlib.sha256(source.detach().cpu().numpy().tobytes()).hexdigest() if source is not None
                   else str(self._seq_len))
            seen = self._sightings.get(key, 0) + 1
            self._sightings[key] = seen
            factor = 1.0 + 0.4 * (self._seq_len % 4)
            self._scale = factor * (self.slow_factor if seen >= SLOW_FROM_SIGHTING else 1.0) \
                * (self.first_sight_factor if seen == 1 else 1.0)
            # the vision tower ran before this forward at the previous request's scale: re-anchor
            # the prefill deadline on this request's own scale
            self._anchor_ns = self._vision_start_ns + int(self.vision_s * self._scale * 1e9)

    def _lm_ends(self, module, args, output) -> None:
        step = self.prefill_s if self._seq_len > 1 else self.decode_s
        self._anchor_ns += int(step * self._scale * 1e9)
        sleep_until(self._anchor_ns)


class SlowdownPacedLlava(PromptPacedLlava):
    slow_factor = SLOW_FACTOR


class ShapeCostPacedLlava(PromptPacedLlava):
    first_sight_factor = FIRST_SIGHT_FACTOR


_base = get("llava-1.5-7b-tiny")
ENTRIES = (
    dataclasses.replace(_base, id="prompt-paced-tiny", model_class=PromptPacedLlava),
    dataclasses.replace(_base, id="slowdown-paced-tiny", model_class=SlowdownPacedLlava),
    dataclasses.replace(_base, id="shape-cost-paced-tiny", model_class=ShapeCostPacedLlava),
)
