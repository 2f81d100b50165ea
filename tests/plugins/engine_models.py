"""Catalog plugin for the engine tests: a second catalog id for the tiny LLaVA that vLLM's CPU attention
serves (``llava-1.5-7b-tiny-hd64``), so one run can hold two models of the smallest size an engine takes
(a run keeps one job per model id)."""

from __future__ import annotations

import dataclasses

from vlmbench.catalog import get

ENTRIES = (dataclasses.replace(get("llava-1.5-7b-tiny-hd64"), id="llava-tiny-hd64-second"),)
