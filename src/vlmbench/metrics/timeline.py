"""The raw timestamps of one request, from which every per-request metric is derived."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Timeline:
    """All times in nanoseconds of the host's monotonic clock unless said otherwise.

    ``start_ns``      generate() called (in-process) or request sent (endpoint)
    ``token_ns``      arrival of each generated token on the host (in-process: one per decode
                      step; endpoint: one per content chunk)
    ``n_out``         generated tokens (in-process: steps; endpoint: server usage count)
    ``prompt_ns``     prompt handed to the streamer (in-process only)
    ``vision_start_ms``/``vision_end_ms``  vision-stage bounds as offsets from start, in ms,
                      resolved on the device clock (CUDA events on CUDA)
    ``preprocess_ms`` processor call, before start
    """

    start_ns: int
    token_ns: list[int] = field(default_factory=list)
    n_out: Optional[int] = None
    prompt_ns: Optional[int] = None
    vision_start_ms: Optional[float] = None
    vision_end_ms: Optional[float] = None
    preprocess_ms: Optional[float] = None

    @property
    def n_tokens(self) -> int:
        return self.n_out if self.n_out is not None else len(self.token_ns)

    def offset_ms(self, t_ns: int) -> float:
        return (t_ns - self.start_ns) / 1e6
