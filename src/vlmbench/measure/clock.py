"""Host clocks for one request: a streamer that timestamps tokens, and stage marks from hooks.

``TokenClock`` is a transformers streamer. ``generate`` hands it the prompt once (input ids,
image tokens included), then one tensor per generated token, always already copied to the
host (``.cpu()``), so on CUDA the timestamp is taken after the token exists: correct by
construction, no extra synchronisation.

``StageMarks`` records the start of the first and the end of the last of a set of modules
(the vision encoder and projector) with the device's marks (CUDA events on CUDA).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import torch
from transformers.generation.streamers import BaseStreamer

from vlmbench.measure.device import DeviceOps, Mark


def now_ns() -> int:
    return time.perf_counter_ns()


class TokenClock(BaseStreamer):
    """Timestamps of the prompt hand-over and of every generated token (host, monotonic)."""

    def __init__(self) -> None:
        self.prompt_ns: Optional[int] = None
        self.prompt_shape: Optional[tuple[int, ...]] = None
        self.token_ns: list[int] = []
        self.end_ns: Optional[int] = None

    def put(self, value: torch.Tensor) -> None:
        t = time.perf_counter_ns()
        if self.prompt_ns is None:
            self.prompt_ns = t
            self.prompt_shape = tuple(value.shape)
        else:
            self.token_ns.append(t)

    def end(self) -> None:
        self.end_ns = time.perf_counter_ns()


def resolve_module(root: torch.nn.Module, path: str) -> Optional[torch.nn.Module]:
    module: Optional[torch.nn.Module] = root
    for part in path.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module if isinstance(module, torch.nn.Module) else None


class StageMarks:
    """First start and last end of a group of modules, as device marks, once per request."""

    def __init__(self, ops: DeviceOps, modules: Sequence[torch.nn.Module]) -> None:
        self.ops = ops
        self.modules = list(modules)
        self.start: Optional[Mark] = None
        self.end: Optional[Mark] = None
        self._handles: list = []

    def _on_start(self, *_: object) -> None:
        if self.start is None:
            self.start = self.ops.mark()

    def _on_end(self, *_: object) -> None:
        self.end = self.ops.mark()

    def reset(self) -> None:
        self.start = None
        self.end = None

    @contextmanager
    def attached(self) -> Iterator["StageMarks"]:
        self.reset()
        for m in self.modules:
            self._handles.append(m.register_forward_pre_hook(self._on_start))
            self._handles.append(m.register_forward_hook(self._on_end))
        try:
            yield self
        finally:
            for h in self._handles:
                h.remove()
            self._handles.clear()

    @property
    def seen(self) -> bool:
        return self.start is not None and self.end is not None
