"""Catalog plugin for the worker-isolation tests: tiny LLaVA variants that fail at a known point.

- ``load-fail-tiny``: building the model raises RuntimeError (a broken checkpoint or config);
- ``load-oom-tiny``: building the model raises MemoryError (the host cannot hold it);
- ``slow-load-tiny``: building the model takes 600 s (a load that would never finish in time);
- ``crash-third-tiny``: the worker kills itself with SIGSEGV at the start of its third request
  (the first two requests are measured and sent);
- ``hang-second-tiny``: the second request of a worker sleeps 600 s (a hung kernel);
- ``hang-once-tiny``: the first request of a run sleeps 600 s; every later worker of the same
  run serves normally. "Same run" is the worker's parent process (the orchestrator under
  ``spawn``, its fork server under ``forkserver``): a marker file named after the parent's pid
  and start time records that the hang happened.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlavaForConditionalGeneration

from vlmbench.catalog import get

HANG_S = 600


def _real_build() -> bool:
    """True where the model is really built. The injected load faults fire only then: counting
    parameters on the meta device (the memory estimate, `vlmbench models --memory`, which other
    tests run in the same process once these plugins are registered) must work."""
    return torch.get_default_device().type != "meta"


class LoadFailingLlava(LlavaForConditionalGeneration):
    def __init__(self, config) -> None:
        if _real_build():
            raise RuntimeError("injected load failure")
        super().__init__(config)


class LoadOomLlava(LlavaForConditionalGeneration):
    def __init__(self, config) -> None:
        if _real_build():
            raise MemoryError("injected: cannot allocate the weights")
        super().__init__(config)


class SlowLoadingLlava(LlavaForConditionalGeneration):
    def __init__(self, config) -> None:
        if _real_build():
            time.sleep(HANG_S)
        super().__init__(config)


class _CountingLlava(LlavaForConditionalGeneration):
    """Counts the requests this worker process served (prefill forwards: sequence length > 1)."""

    requests = 0

    def forward(self, input_ids=None, pixel_values=None, attention_mask=None, **kwargs):
        source = input_ids if input_ids is not None else kwargs.get("inputs_embeds")
        if source is not None and source.shape[1] > 1:
            type(self).requests += 1
            self.on_request(type(self).requests)
        return super().forward(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask, **kwargs)

    def on_request(self, n: int) -> None:
        pass


class CrashOnThirdLlava(_CountingLlava):
    def on_request(self, n: int) -> None:
        if n == 3:
            os.kill(os.getpid(), signal.SIGSEGV)


class HangOnSecondLlava(_CountingLlava):
    def on_request(self, n: int) -> None:
        if n == 2:
            time.sleep(HANG_S)


def run_marker() -> Path:
    """A file unique to this worker's parent process (pid + start time: pids are reused)."""
    parent = os.getppid()
    try:
        started = Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        started = "0"
    return Path(tempfile.gettempdir()) / f"vlmbench-hang-once-{parent}-{started}"


class HangOnceLlava(_CountingLlava):
    def on_request(self, n: int) -> None:
        marker = run_marker()
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(HANG_S)


_base = get("llava-1.5-7b-tiny")
ENTRIES = (
    dataclasses.replace(_base, id="load-fail-tiny", model_class=LoadFailingLlava),
    dataclasses.replace(_base, id="load-oom-tiny", model_class=LoadOomLlava),
    dataclasses.replace(_base, id="slow-load-tiny", model_class=SlowLoadingLlava),
    dataclasses.replace(_base, id="crash-third-tiny", model_class=CrashOnThirdLlava),
    dataclasses.replace(_base, id="hang-second-tiny", model_class=HangOnSecondLlava),
    dataclasses.replace(_base, id="hang-once-tiny", model_class=HangOnceLlava),
)
