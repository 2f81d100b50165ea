"""Per model, prompt and batch size: every stage predicted, with an interval.

Steps: the catalog entry's twin (:mod:`twin`) runs the prompt image(s) through the entry's own
stand-in processor and is traced (:mod:`trace`); the trace is mapped onto the real-size model on
the meta device (:mod:`opcount`); op counts become milliseconds on the profile (:mod:`timing`).
The interval of a stage is the point prediction times the profile's ``interval[stage]`` (spec
priors, micro-benchmark priors, or the quantiles of held-out-model errors after calibration);
every record says what it was validated on (``validation``: "held out by model, same machine" or
"unvalidated") and what its interval claims (``interval_level``), from :mod:`claims`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from vlmbench.errors import UsageError
from vlmbench.predict.claims import interval_claim, validation_claim
from vlmbench.predict.opcount import ModelCounts, build_meta_model, count_ops, torch_dtype
from vlmbench.predict.profiles.schema import Params, Profile
from vlmbench.predict.timing import Times, predict_times
from vlmbench.predict.trace import run_trace
from vlmbench.predict.twin import candidates

STAGE_FIELDS = (("preprocess", "preprocess_ms"), ("vision", "vision_ms"), ("prefill", "prefill_ms"),
                ("ttft", "ttft_ms"), ("tpot", "tpot_ms"), ("e2e", "e2e_ms"), ("peak_memory", "peak_allocated_mb"))
DEFAULT_PROMPTS = ("diagram-shapes-336x336", "chart-bar-640x480", "scene-panorama-1500x400",
                   "document-receipt-400x1344")  # the default suite's prompts


@dataclass
class Case:
    """What the predictor needs about one (model, prompt, batch) case, without the profile."""

    model_id: str
    prompt_id: str
    batch_size: int
    counts: ModelCounts
    in_pixels: float  # decoded image pixels (all images of the batch)


class CountCache:
    """Meta models and op counts, computed once per (model, dtype) and (model, prompt, batch, dtype)."""

    def __init__(self, promptset: Any = None) -> None:
        self._models: dict[tuple[str, str], Any] = {}
        self._cases: dict[tuple[str, str, int, str], Case] = {}
        self._promptset = promptset

    @property
    def promptset(self) -> Any:
        if self._promptset is None:
            from vlmbench.promptset.loader import load_promptset

            self._promptset = load_promptset()
        return self._promptset

    def case(self, model_id: str, prompt_id: str, batch_size: int, dtype: str = "bfloat16") -> Case:
        key = (model_id, prompt_id, batch_size, dtype)
        if key not in self._cases:
            self._cases[key] = self._build(model_id, prompt_id, batch_size, dtype)
        return self._cases[key]

    def _build(self, model_id: str, prompt_id: str, batch_size: int, dtype: str) -> Case:
        from vlmbench.catalog import get

        entry = get(model_id)
        if prompt_id not in self.promptset:
            raise UsageError(f"--prompts: unknown prompt id {prompt_id!r} (known: {', '.join(self.promptset.ids())})")
        item = self.promptset.get(prompt_id)
        image = item.open_image()
        images, prompts = [image] * batch_size, [item.prompt] * batch_size
        trace, errors = None, []
        for twin in candidates(entry):
            try:
                trace = run_trace(twin, images, prompts)
                break
            except Exception as exc:  # noqa: BLE001 - the next twin may run
                errors.append(f"{twin.how}: {type(exc).__name__}: {exc}")
        if trace is None:
            raise UsageError(f"--model {model_id!r}: no twin of this entry could be traced ({'; '.join(errors)})")
        mkey = (model_id, dtype)
        if mkey not in self._models:
            self._models[mkey] = build_meta_model(entry, torch_dtype(dtype))
        counts = count_ops(entry, trace, dtype, model=self._models[mkey])
        w, h = item.size() if callable(getattr(item, "size", None)) else (image.width, image.height)
        return Case(model_id, prompt_id, batch_size, counts, float(w * h * batch_size))


def _interval(profile: Profile, stage: str, value: Optional[float]) -> tuple[Optional[float], Optional[float]]:
    if value is None:
        return None, None
    lo, hi = profile.interval.get(stage, [1.0, 1.0])
    return value * lo, value * hi


def record(case: Case, times: Times, profile: Profile, n_out: int, stack: Optional[str] = None) -> dict[str, Any]:
    c = case.counts
    out: dict[str, Any] = {
        "source": "predicted", "model_id": case.model_id, "prompt_id": case.prompt_id,
        "batch_size": case.batch_size, "max_new_tokens": n_out, "dtype": c.dtype,
        "profile": profile.name, "profile_kind": profile.kind, "device": profile.device,
        "stack": stack or "", "n_prompt_tokens": c.n_prompt_tokens, "n_image_tokens": c.n_image_tokens,
        "twin": c.twin, "validation": validation_claim(profile), "interval_level": interval_claim(profile),
    }
    for stage, name in STAGE_FIELDS:
        value = getattr(times, name)
        out[name] = value
        lo, hi = _interval(profile, stage, value)
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    mem = profile.memory_gib
    out["fits_memory"] = None if not mem else bool(times.peak_allocated_mb <= mem * 1024.0)
    out["vision_gflop"] = c.stages["vision"].total("flops") / 1e9
    out["prefill_gflop"] = c.stages["prefill"].total("flops") / 1e9
    out["decode_bytes_per_step_mb"] = c.stages["decode"].total("nbytes") / 2**20
    out["weights_mb"] = c.weight_bytes / 2**20
    out["trace_coverage"] = c.coverage
    return out


def predict(model_ids: Sequence[str], profile: Profile, prompt_ids: Iterable[str] = DEFAULT_PROMPTS,
            batch_sizes: Iterable[int] = (1,), max_new_tokens: int = 32, dtype: str = "bfloat16",
            stack: Optional[str] = None, cache: Optional[CountCache] = None) -> list[dict[str, Any]]:
    cache = cache or CountCache()
    params: Params = profile.params_for(stack)
    rows = []
    for mid in model_ids:
        for pid in prompt_ids:
            for b in batch_sizes:
                case = cache.case(mid, pid, int(b), dtype)
                times = predict_times(case.counts, max_new_tokens, case.in_pixels, profile, params)
                rows.append(record(case, times, profile, max_new_tokens, stack))
    return rows
