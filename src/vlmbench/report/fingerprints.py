"""Differences between two runs' machines and settings that change what timings mean.

Environment (``manifest.json`` -> ``environment``): the fields below are compared (with an engine's
version, torch/CUDA and command lines where the run started one); the host name,
kernel string and git commit are not (a scheduled job changes them without changing speed).
Settings (per model, from the rows): device, dtype, attention, cache, compile, processor kind,
backend, weights, output length, prompt-set version and hardware label.
"""

from __future__ import annotations

from typing import Any

from vlmbench.measure.fingerprint import COMPARED_FIELDS, lookup
from vlmbench.report.groups import RequestGroup
from vlmbench.report.runs import RunData

SETTING_COLUMNS: tuple[str, ...] = (
    "hardware", "device", "backend", "stack", "dtype", "attn", "cache", "compile", "processor_kind", "weights",
    "max_new_tokens", "promptset_version",
)


def _gpu_names(gpus: Any) -> Any:
    if isinstance(gpus, list):
        return [f"{g.get('name')} ({g.get('memory_mb')} MiB)" if isinstance(g, dict) else g for g in gpus]
    return gpus


def environment_differences(run_a: RunData, run_b: RunData) -> list[str]:
    """One line per differing hardware, software or engine field; empty when either manifest lacks them."""
    env_a, env_b = run_a.environment, run_b.environment
    if not env_a or not env_b:
        missing = run_a.run_dir if not env_a else run_b.run_dir
        return [f"no environment fingerprint in {missing}/manifest.json: cannot check hardware and software"]
    lines = []
    for kind, fields in COMPARED_FIELDS:
        for name in fields:
            a, b = lookup(env_a, name), lookup(env_b, name)
            if name == "gpus":
                a, b = _gpu_names(a), _gpu_names(b)
            if a != b:
                lines.append(f"{kind} differs: {name} A={a!r} B={b!r}")
    return lines


def setting_differences(a: RequestGroup, b: RequestGroup) -> list[str]:
    """Per-model settings that differ between the two groups compared."""
    lines = []
    for column in SETTING_COLUMNS:
        va, vb = a.first(column), b.first(column)
        if va != vb:
            lines.append(f"{a.model_id} / {a.scenario}: setting differs: {column} A={va!r} B={vb!r}")
    return lines
