"""In-process transformers backend: one ``generate`` call per batch, timed by a streamer.

Per request: the processor call is timed as ``preprocess``; ``generate`` runs greedy with
``min_new_tokens = max_new_tokens`` so every request produces exactly N tokens; the
streamer stamps the prompt hand-over and each token as it reaches the host; hooks on the
vision encoder and projector mark the vision stage with the device's clock.
"""

from __future__ import annotations

import copy
import time
from datetime import datetime, timezone
from typing import Any, Sequence

import torch

from vlmbench.backends.base import Backend
from vlmbench.backends.hf.devices import dtype_name, resolve_device, resolve_dtype
from vlmbench.backends.hf.loader import (Loaded, check_model_reference, load_pretrained, load_random,
                                        vision_stage_modules)
from vlmbench.catalog import get
from vlmbench.catalog.processors import processor_kind
from vlmbench.errors import UsageError
from vlmbench.measure.bandwidth import measure_copy_bandwidth
from vlmbench.measure.clock import StageMarks, TokenClock, now_ns
from vlmbench.measure.device import device_ops
from vlmbench.measure.energy import EnergyTracker, energy_counter, probe_counter_update
from vlmbench.measure.fingerprint import hardware_label
from vlmbench.measure.memory import MemoryTracker
from vlmbench.measure.nvml import Nvml
from vlmbench.measure.stack import cache_name, decode_compiled, resolved_attn
from vlmbench.metrics import Timeline, compute_request_metrics
from vlmbench.metrics.energy import EnergyWindow, compute_energy_metrics
from vlmbench.metrics.roofline import RooflineBound, RooflineFraction, decode_traffic
from vlmbench.promptset import PromptItem
from vlmbench.promptset.render import format_prompt

MIB = 1024.0 * 1024.0


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def count_generated(row: torch.Tensor, eos_ids: set[int]) -> int:
    """Tokens generated in one row: up to and including the first EOS, else all."""
    for i, tok in enumerate(row.tolist()):
        if tok in eos_ids:
            return i + 1
    return int(row.numel())


class HFBackend(Backend):
    name = "hf"

    @classmethod
    def validate_config(cls, config: Any, check_device: bool = True) -> None:
        """What the device cannot run, and model references that name nothing, are usage errors
        (exit 2) before anything runs (the choices of --attn and --cache are checked by their
        declarations, vlmbench.options.inprocess). ``check_device=False``: the device is another
        machine's (a campaign target), its dtype checked where the job runs."""
        if config.options.attn == "flash_attention_2":
            reason = device_ops(resolve_device(config.device)).flash_attention_unavailable()
            if reason:
                raise UsageError(f"--attn flash_attention_2 on --device {config.device}: {reason}")
        if check_device:
            resolve_dtype(config.dtype, resolve_device(config.device))
        for model in config.models:
            check_model_reference(model, config.weights)
        for model, own in config.model_overrides.items():
            if model in config.models and "dtype" in own and check_device:
                resolve_dtype(own["dtype"], resolve_device(config.device))

    def load(self) -> dict[str, Any]:
        cfg = self.config
        self.device = resolve_device(cfg.device)
        self.dtype = resolve_dtype(cfg.dtype, self.device)
        self.ops = device_ops(self.device)
        self.nvml = Nvml.open(self.device)
        # Once per worker, before the model takes the memory: bandwidth and the energy counter.
        self.bandwidth = measure_copy_bandwidth(self.ops)
        self.energy_counter, self.energy_status = energy_counter(self.nvml)
        self.energy_probe = probe_counter_update(self.energy_counter) if self.energy_counter else None
        self.energy_update_ms = self.energy_probe.update_ms if self.energy_probe else None
        t0 = time.perf_counter()
        if self.spec.weights == "random":
            self.loaded: Loaded = load_random(get(self.spec.model), self.device, self.dtype, cfg.seed, cfg.options.attn)
        else:
            self.loaded = load_pretrained(self.spec.model, self.device, self.dtype,
                                          self.spec.trust_remote_code, cfg.options.attn)
        self.ops.synchronize()
        load_ms = (time.perf_counter() - t0) * 1000.0
        model = self.loaded.model
        self.tokenizer = getattr(self.loaded.processor, "tokenizer", self.loaded.processor)
        self.image_token_id = self._image_token_id()
        self.stage = StageMarks(self.ops, vision_stage_modules(model, self.loaded.entry))
        self.eos_ids = self._eos_ids()
        entry = self.loaded.entry
        weights_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        weights_bytes += sum(b.numel() * b.element_size() for b in model.buffers())
        self.n_params = sum(p.numel() for p in model.parameters())
        self.traffic, self.roofline_status = decode_traffic(model, self.stage.modules)
        self.attn = resolved_attn(model)
        self.static_cache = cfg.options.cache == "static" or cfg.options.compile  # transformers compiles only with a static cache
        self.compile_config = self.ops.compile_config() if cfg.options.compile else None
        self.static_cache_len = self._static_cache_len() if self.static_cache else None
        return {
            "system": entry.system if entry else getattr(model.config, "model_type", ""),
            "weights": self.spec.weights,
            "assumed_shapes": bool(entry and entry.assumed_shapes),
            "backend": self.name,
            "stack": "hf",  # in-process transformers (engines: <engine>-<version>+<recipe hash>)
            "device": str(self.device),
            "dtype": dtype_name(self.dtype),
            "hardware": hardware_label(str(self.device)),
            "processor_kind": processor_kind(self.loaded.processor),
            "attn": self.attn,
            "cache": "static" if self.static_cache else cfg.options.cache,  # rows carry what generate really used
            "compile": cfg.options.compile,
            "weights_mb": weights_bytes / MIB,
            "model_load_ms": load_ms,
        }

    def release_memory(self) -> None:
        self.ops.release_cached_memory()

    def manifest_info(self) -> dict[str, Any]:
        return {
            "source": self.loaded.source,
            "tokenizer": self.loaded.tokenizer_kind,
            "parameters": self.n_params,
            "image_processor": type(getattr(self.loaded.processor, "image_processor", None)).__name__,
            "vision_stage_modules": [type(m).__name__ for m in self.stage.modules],
            "nvml": "available" if self.nvml else Nvml.unavailable_reason,
            "energy": ({"status": self.energy_status, "counter": "nvmlDeviceGetTotalEnergyConsumption",
                        **self.energy_probe.to_json()} if self.energy_probe else self.energy_status),
            "memory_bandwidth": self.bandwidth.to_json(),
            "roofline": self.traffic.to_json() if self.traffic else self.roofline_status,
            "generation": {
                "attn_requested": self.config.options.attn, "attn": self.attn,
                "cache_requested": self.config.options.cache, "compile_requested": self.config.options.compile,
                "cache_implementation": "static" if self.static_cache else "dynamic",
                "static_cache_len": self.static_cache_len,
                "compile_config": self.compile_config.to_dict() if self.compile_config else None,
            },
        }

    def _static_cache_len(self) -> int:
        """One static-cache length for the whole run: the longest prompt of the prompt set plus
        the longest output, so every call reuses one cache shape (one compiled graph)."""
        from vlmbench.promptset.compose import run_promptset

        cfg = self.config
        promptset = run_promptset(cfg)
        longest = max(int(self.prepare([item])[0]["input_ids"].shape[1]) for item in promptset.items)
        outputs = [n for _b, n in (cfg.scenarios or [])] + [cfg.max_new_tokens]
        return longest + max(outputs)

    def _image_token_id(self) -> int | None:
        cfg = self.loaded.model.config
        for attr in ("image_token_id", "image_token_index"):
            value = getattr(cfg, attr, None)
            if value is not None:
                return int(value)
        token = getattr(self.loaded.processor, "image_token", None)
        if token:
            return int(self.tokenizer.convert_tokens_to_ids(token))
        return None

    def _eos_ids(self) -> set[int]:
        eos = self.loaded.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        if eos is None:
            return set()
        return set(eos) if isinstance(eos, (list, tuple)) else {int(eos)}

    def generation_config(self, max_new_tokens: int):
        gc = copy.deepcopy(self.loaded.model.generation_config)
        pad = gc.pad_token_id if gc.pad_token_id is not None else self.tokenizer.pad_token_id
        if pad is None:
            pad = next(iter(self.eos_ids), 0)
        gc.update(
            max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, do_sample=False,
            num_beams=1, temperature=None, top_p=None, top_k=None, use_cache=True, pad_token_id=pad,
            return_dict_in_generate=True,
        )
        if self.static_cache:
            gc.cache_implementation = "static"
            gc.max_cache_len = self.static_cache_len
        # transformers compiles the decode step by itself whenever the cache is static on a GPU:
        # only when --compile asks for it.
        gc.compile_config = self.compile_config
        gc.disable_compile = not self.config.options.compile
        return gc

    def prepare(self, items: Sequence[PromptItem]) -> tuple[Any, float]:
        """The processor call, timed: image decode, resize, normalise, tokenise, expand."""
        t0 = time.perf_counter_ns()
        if len(items) == 1 and items[0].n_images == 1:
            images: list[Any] = [items[0].open_image()]
        else:  # one list of images per prompt: a flat list of a batch's images is one prompt's to
            # some processors (SmolVLM, Idefics3, Gemma 3), and every processor reads the nested form
            images = [item.open_images() for item in items]
        texts = [format_prompt(self.loaded.processor, item, self.loaded.prompt_template) for item in items]
        kwargs: dict[str, Any] = {"images": images, "text": texts, "return_tensors": "pt"}
        if len(items) > 1:
            kwargs["padding"] = True
        inputs = self.loaded.processor(**kwargs)
        inputs = inputs.to(self.device)
        for key, value in inputs.items():
            if torch.is_floating_point(value):
                inputs[key] = value.to(self.dtype)
        self.ops.synchronize()
        return inputs, (time.perf_counter_ns() - t0) / 1e6

    def measure(self, items: Sequence[PromptItem], max_new_tokens: int) -> list[dict[str, Any]]:
        if self.tokenizer.padding_side != "left":
            self.tokenizer.padding_side = "left"
        started_at = utc_now_iso()
        inputs, preprocess_ms = self.prepare(items)
        input_ids = inputs["input_ids"]
        gen_config = self.generation_config(max_new_tokens)
        clock = TokenClock()
        with MemoryTracker(self.ops, self.nvml) as mem, EnergyTracker(self.energy_counter) as energy, \
                self.stage.attached(), torch.inference_mode():
            start_mark = self.ops.mark()
            start = now_ns()
            output = self.loaded.model.generate(**inputs, generation_config=gen_config, streamer=clock)
        vision_start = vision_end = None
        if self.stage.seen:
            vision_start = self.ops.elapsed_ms(start_mark, self.stage.start)
            vision_end = self.ops.elapsed_ms(start_mark, self.stage.end)
        sequences = output if isinstance(output, torch.Tensor) else output.sequences
        prompt_len = input_ids.shape[1]
        if getattr(self.loaded.model.config, "is_encoder_decoder", False) and clock.prompt_shape:
            # Encoder-decoder: sequences are the decoder's, whose prompt is what the streamer got
            # first (the decoder start token), not the encoder input.
            prompt_len = clock.prompt_shape[-1]
        generated = sequences[:, prompt_len:] if sequences.shape[1] > prompt_len else sequences
        mask = inputs.get("attention_mask")
        stack: dict[str, Any] = {"attn": self.attn, "compile": decode_compiled(self.loaded.model)}
        if cache_name(output) is not None:
            stack["cache"] = cache_name(output)
        energy_window = EnergyWindow(energy.joules, energy.duration_ms, len(items), self.energy_update_ms)
        rows = []
        for i in range(len(items)):
            n_out = count_generated(generated[i].cpu(), self.eos_ids) if len(items) > 1 else int(generated.shape[1])
            timeline = Timeline(
                start_ns=start, token_ns=clock.token_ns[:n_out], n_out=n_out, prompt_ns=clock.prompt_ns,
                vision_start_ms=vision_start, vision_end_ms=vision_end, preprocess_ms=preprocess_ms,
            )
            n_prompt = int(mask[i].sum()) if mask is not None else int(input_ids.shape[1])
            n_image = int((input_ids[i] == self.image_token_id).sum()) if self.image_token_id is not None else None
            row = compute_request_metrics(timeline)
            row.update(mem.columns)
            row.update(
                started_at=started_at,
                max_new_tokens=max_new_tokens,
                length_enforced=True,
                n_output_tokens=n_out,
                n_prompt_tokens=n_prompt,
                n_image_tokens=n_image,
                n_text_tokens=(n_prompt - n_image) if n_image is not None else None,
            )
            row.update(compute_energy_metrics(energy_window, row))
            bound = None
            if self.traffic is not None and len(items) == 1:
                bound = RooflineBound().compute(self.traffic, self.bandwidth.bytes_per_s, n_prompt, n_out)
            row["roofline_fraction"] = RooflineFraction().compute(bound, row.get("tpot_ms"), len(items))
            row.update(stack)
            rows.append(row)
        return rows

    def memory_plan(self, scenarios: Sequence[Any]) -> dict[str, str]:
        """Scenario name -> reason, for each scenario whose estimated memory (weights + KV cache
        + activations, see catalog/memory.py) exceeds the device's free memory. Called before
        loading; models outside the catalog are not estimated."""
        from vlmbench.catalog import has
        from vlmbench.catalog.memory import estimate

        if not has(self.spec.model):
            return {}
        device = resolve_device(self.config.device)
        dtype = resolve_dtype(self.config.dtype, device)
        free = device_ops(device).free_memory_mb()
        entry = get(self.spec.model)
        reasons = {}
        for s in scenarios:
            est = estimate(entry, s.batch_size, s.max_new_tokens, dtype_name(dtype), device.type)
            if est.total_mb > free:
                reasons[s.name] = (f"skipped: batch {s.batch_size}: {est.describe()} > "
                                   f"{free / 1024:.1f} GiB free on {device}")
        return reasons

    def close(self) -> None:
        del self.loaded
        self.ops.release_cached_memory()
