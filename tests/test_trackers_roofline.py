"""Roofline inputs and the roofline fraction: bandwidth of a real copy on this CPU, the bytes a
decode step reads checked per architecture against what a real decode step of the tiny variant
actually runs (forward hooks), real-size figures against the fact sheet, and the column the
runner writes recomputed from the facts the manifest records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

from vlmbench.backends.hf.backend import format_prompt
from vlmbench.backends.hf.loader import load_random, vision_stage_modules
from vlmbench.catalog import get
from vlmbench.catalog.materialise import construct
from vlmbench.measure.bandwidth import MIB, measure_copy_bandwidth
from vlmbench.measure.device import device_ops
from vlmbench.metrics.roofline import DecodeTraffic, RooflineBound, RooflineFraction, decode_traffic
from vlmbench.promptset import load_promptset
from vlmbench.results.reader import read_rows
from vlmbench.results.manifest import read_manifest

from conftest import TINY, few_prompt_ids

SHEET = json.loads((Path(__file__).parent / "data" / "param-counts.json").read_text())

# One tiny variant per distinct decoder layout: every vlmbench arch (archs/*.py) and each
# transformers-native family (LLaVA, LLaVA-NeXT, PaliGemma with its tied head, BLIP-2).
ARCH_VARIANTS = (
    "llava-1.5-7b-tiny",         # transformers LLaVA
    "llava-1.6-mistral-7b-tiny",  # LLaVA-NeXT (image_newline is prefill-only)
    "paligemma-3b-224-tiny",     # Gemma, head tied to the input table
    "minigpt4-7b-tiny",          # BLIP-2 (query_tokens outside the vision modules)
    "mgm-2b-tiny",               # archs/mgm.py with Gemma
    "mgm-8x7b-tiny",             # archs/mgm.py with Mixtral: k of E experts per layer
    "minigpt-v2-tiny",           # archs/minigpt.py
    "tinygpt-v-tiny",            # archs/tinygptv.py (Phi-2 with extra norms)
    "bunny-1.1-4b-tiny",         # archs/bunny_s2.py (Phi-3)
    "hpt-1.5-edge-tiny",         # archs/hpt.py
    "pali3-5b-tiny",             # archs/pali3.py: encoder-decoder
    "cogvlm-17b-224-tiny",       # archs/cogvlm.py: visual experts unused at decode
    "cogagent-18b-tiny",         # archs/cogagent.py: + cached high-res cross-attention K/V
)
N_NEW = 4  # prefill + decode steps 1..3


def test_copy_bandwidth_on_this_cpu():
    bw = measure_copy_bandwidth(device_ops("cpu"), copy_mib=64, repeats=3)
    assert bw.best_ms <= bw.median_ms
    assert bw.bytes_per_s == pytest.approx(2 * 64 * MIB / (bw.best_ms / 1000.0))
    # any machine that runs this suite copies DRAM at between 0.2 and 1000 GB/s
    assert 0.2e9 < bw.bytes_per_s < 1e12


# --- an independent count: what one real decode step runs and reads --------------------------

def _cache_tensors(cache) -> list[torch.Tensor]:
    """The key/value tensors a transformers cache holds (self- and cross-attention)."""
    if cache is None:
        return []
    if hasattr(cache, "self_attention_cache"):  # EncoderDecoderCache
        return _cache_tensors(cache.self_attention_cache) + _cache_tensors(cache.cross_attention_cache)
    out = []
    for layer in cache.layers:
        out += [t for t in (getattr(layer, "keys", None), getattr(layer, "values", None)) if torch.is_tensor(t)]
    return out


class DecodeStepProbe(TorchFunctionMode):
    """What each top-level forward call of a model really reads, found independently of the code
    under test. Forward hooks on the model (and on its language model, which BLIP-2's generate
    calls directly) delimit the calls; a torch function mode sees every tensor operation inside
    them. An operation that computes from a parameter's memory (its input aliases a parameter's
    storage, its output does not: views such as ``weight[i]`` or ``weight.T`` read nothing by
    themselves) reads:

    - the extent of the view it is given (``linear(x, experts[i])`` reads expert ``i`` only);
    - for ``embedding``, the distinct rows it looks up; the input-embedding table's one row per
      token is left out, as the roofline states;
    - for ``grouped_mm`` (transformers' mixture-of-experts kernel), the groups that have rows.

    At the end of each call it adds the bytes of the attention keys/values the call could read:
    the KV cache as it stands after the call (self- and cross-attention) and CogAgent's
    per-request cross-attention keys/values."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.storages = {p.untyped_storage().data_ptr(): p for p in model.parameters()}
        assert len(self.storages) == len({id(p) for p in model.parameters()}), "parameters share storage"
        self.table = model.get_input_embeddings().weight
        self.calls: list[dict] = []
        self.current: dict | None = None
        self.depth = 0
        outer = [model] + [m for m in (getattr(model, "language_model", None),) if isinstance(m, torch.nn.Module)]
        self.handles = [h for m in outer for h in (m.register_forward_pre_hook(self._begin, with_kwargs=True),
                                                   m.register_forward_hook(self._end, with_kwargs=True))]

    def _param_of(self, t) -> torch.nn.Parameter | None:
        return self.storages.get(t.untyped_storage().data_ptr()) if torch.is_tensor(t) else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.current is None:
            return out
        outs = out if isinstance(out, (tuple, list)) else (out,)
        if not outs or not all(torch.is_tensor(t) for t in outs):
            return out  # metadata (.shape, .dtype, .size()): no data read
        if any(self._param_of(t) is not None for t in outs):
            return out  # a view of a parameter: read where it is used
        inputs = list(args) + list(kwargs.values())
        inputs += [t for a in list(inputs) if isinstance(a, (tuple, list)) for t in a]
        for t in inputs:
            param = self._param_of(t)
            if param is not None:
                self._read(getattr(func, "__name__", ""), param, t, args, kwargs)
        return out

    def _read(self, name: str, param, view, args, kwargs) -> None:
        reads = self.current["reads"]
        size = view.numel() * view.element_size()
        if name == "embedding":
            if param is not self.table:
                rows = int(args[0].unique().numel())
                reads[(view.data_ptr(), "rows")] = rows * view.shape[-1] * view.element_size()
            return
        if "grouped_mm" in name:
            offs = kwargs.get("offs", args[2] if len(args) > 2 else None)
            rows_per_group = torch.diff(offs.long(), prepend=offs.new_zeros(1).long())
            size = size * int((rows_per_group > 0).sum()) / view.shape[0]
        reads[(view.data_ptr(), tuple(view.shape), tuple(view.stride()))] = size

    def _begin(self, module, args, kwargs) -> None:
        self.depth += 1
        if self.depth > 1:
            return  # the language model inside the model's own forward
        ids = next((kwargs[k] for k in ("decoder_input_ids", "input_ids", "inputs_embeds")
                    if kwargs.get(k) is not None), None)
        self.current = {"reads": {}, "kwargs": kwargs, "length": int(ids.shape[1]) if ids is not None else None}

    def _end(self, module, args, kwargs, output) -> None:
        self.depth -= 1
        if self.depth > 0:
            return
        call, self.current = self.current, None
        kw = call.pop("kwargs")
        cache = kw.get("past_key_values", kw.get("cache"))
        cache = cache if cache is not None else getattr(output, "past_key_values", None)
        tensors = _cache_tensors(cache)
        state = getattr(output, "request_state", None) or kw.get("request_state")
        if state is not None:
            tensors += [t for kv in state.cross_kv.values() for t in kv]
        call["weight_bytes"] = float(sum(call.pop("reads").values()))
        call["kv_bytes"] = float(sum(t.numel() * t.element_size() for t in tensors))
        self.calls.append(call)

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def _decode_steps(model_id: str):
    lm = load_random(get(model_id), torch.device("cpu"), torch.float32, seed=0, attn=None)
    item = load_promptset().get(few_prompt_ids(1)[0])
    text = format_prompt(lm.processor, item.prompt, lm.prompt_template)
    inputs = lm.processor(images=[item.open_image()], text=[text], return_tensors="pt")
    probe = DecodeStepProbe(lm.model)
    try:
        with torch.inference_mode(), probe:
            lm.model.generate(**inputs, max_new_tokens=N_NEW, min_new_tokens=N_NEW, do_sample=False)
    finally:
        probe.close()
    return lm, int(inputs["input_ids"].shape[1]), probe.calls


@pytest.mark.parametrize("model_id", ARCH_VARIANTS)
def test_decode_bytes_equal_what_a_real_decode_step_reads(model_id):
    lm, n_prompt, calls = _decode_steps(model_id)
    traffic, status = decode_traffic(lm.model, vision_stage_modules(lm.model, lm.entry))
    assert status == "ok", status
    # prefill (for encoder-decoders: the first decoder step, after the encoder) + N_NEW - 1 steps
    steps = [c for c in calls if c["length"] == 1][-(N_NEW - 1):]
    assert len(steps) == N_NEW - 1
    # The roofline counts a decoder's small lookup tables in full (T5's relative-position bias,
    # 32 buckets x heads); a step reads the rows of the buckets it meets: allow that table.
    decoder_tables = sum(m.weight.numel() * m.weight.element_size() for name, m in lm.model.named_modules()
                         if name.endswith("relative_attention_bias"))
    for j, step in enumerate(steps, start=1):
        measured = step["weight_bytes"] + step["kv_bytes"]
        assert abs(traffic.bytes_at_step(n_prompt, j) - measured) <= decoder_tables, (j, measured)
        assert 0 <= traffic.weight_bytes - step["weight_bytes"] <= decoder_tables
    # the mean over the steps is what the bound divides by
    mean = sum(c["weight_bytes"] + c["kv_bytes"] for c in steps) / len(steps)
    assert abs(traffic.bytes_per_token(n_prompt, N_NEW) - mean) <= decoder_tables


# --- real sizes against the fact sheet (tests/data/param-counts.json) -------------------------

def _meta(entry_id: str) -> tuple[torch.nn.Module, list[torch.nn.Module]]:
    entry = get(entry_id)
    with torch.device("meta"):
        model = construct(entry.model_class, entry.build_config()).to(torch.bfloat16)
    return model, vision_stage_modules(model, entry)


def test_cogvlm_and_cogagent_decode_read_the_language_expert_and_cached_cross_kv():
    vocab, width, layers = 32000, 4096, 32
    # decode reads Vicuna-7B's decoder without its input table (the visual experts stay idle)
    language = SHEET["llm_vicuna7b_v1.5(llama2-7b)"] - vocab * width
    assert SHEET["cogvlm_490_total"] - SHEET["cogvlm_490_visual_params(ViT+adapter+experts)"] \
        == SHEET["llm_vicuna7b_v1.5(llama2-7b)"]
    cogvlm, vision = _meta("cogvlm-17b")
    traffic, _ = decode_traffic(cogvlm, vision)
    assert traffic.weight_bytes == 2 * language  # bf16
    assert traffic.cross_kv_bytes == 0
    # CogAgent: + each layer's cross-attention minus its K/V projection (1024 -> 2048, prefill
    # only), and every step reads the cached K/V: 32 layers x 2 x 6400 positions x 1024 x 2 bytes
    cogagent, vision = _meta("cogagent-18b")
    traffic, _ = decode_traffic(cogagent, vision)
    cross = SHEET["cogagent_cross_attn_per_layer"] - 1024 * 2048
    assert traffic.weight_bytes == 2 * (language + layers * cross)
    assert traffic.cross_kv_bytes == layers * 2 * 6400 * 1024 * 2 == 838_860_800
    assert traffic.kv_bytes_per_position == 2 * layers * 32 * 128 * 2


def test_llava_decode_reads_its_language_model_and_head():
    model, vision = _meta("llava-1.5-7b")
    traffic, _ = decode_traffic(model, vision)
    assert traffic.weight_bytes == 2 * (SHEET["llava-1.5-7b-hf_lm"] - 32064 * 4096)


def test_fraction_formula_and_where_it_is_empty():
    traffic = DecodeTraffic(weight_bytes=1e9, kv_bytes_per_position=1e5)
    # Q = 1e9 + 1e5 x (600 + 32 / 2) = 1.0616e9 bytes; at 1e12 B/s -> 1.0616 ms
    bound = RooflineBound().compute(traffic, 1e12, n_prompt=600, n_out=32)
    assert bound == pytest.approx(1.0616)
    fraction = RooflineFraction()
    assert fraction.compute(bound, 2.1232, 1) == pytest.approx(0.5)
    assert fraction.compute(bound, 2.1232, 4) is None
    assert fraction.compute(bound, None, 1) is None
    assert fraction.compute(None, 2.0, 1) is None
    # cross terms: + X + Y x n_prompt; an encoder-decoder's self cache starts at 1 position
    enc_dec = DecodeTraffic(1e9, 1e5, cross_kv_bytes=2e8, cross_kv_bytes_per_prompt_position=1e4,
                            decoder_start_positions=1)
    assert enc_dec.bytes_per_token(600, 32) == pytest.approx(1e9 + 2e8 + 1e4 * 600 + 1e5 * (1 + 16))
    assert DecodeTraffic.from_json(enc_dec.to_json()) == enc_dec


@pytest.mark.slow
def test_runner_rows_carry_the_fraction_of_the_recorded_bound(tiny_run):
    """Issue 20 item 9: checked against the model's own shapes, not the bound's formula. The bound a
    row's fraction implies (fraction x TPOT) grows with the KV cache a decode step reads: between
    two rows of one output length, by exactly ``2 L H_kv d_head`` elements of the run's dtype per
    extra prompt position, at the measured bandwidth."""
    facts = read_manifest(tiny_run.run_dir)["models"][TINY]
    bandwidth = facts["memory_bandwidth"]["gb_per_s"] * 1e9
    ok = [r for r in read_rows(tiny_run.requests_csv) if r["status"] == "ok"]
    assert ok and all(0 < r["roofline_fraction"] < 1.5 for r in ok)
    text = get(TINY).build_config().text_config
    head_dim = text.hidden_size // text.num_attention_heads
    element = torch.tensor([], dtype=getattr(torch, ok[0]["dtype"])).element_size()
    kv_per_position = 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * element
    bound_bytes = {id(r): r["roofline_fraction"] * r["tpot_ms"] / 1000.0 * bandwidth for r in ok}
    pairs = [(a, b) for a in ok for b in ok
             if a["n_output_tokens"] == b["n_output_tokens"] and b["n_prompt_tokens"] > a["n_prompt_tokens"]]
    assert pairs  # the prompts differ in length
    for a, b in pairs:
        slope = (bound_bytes[id(b)] - bound_bytes[id(a)]) / (b["n_prompt_tokens"] - a["n_prompt_tokens"])
        # the manifest rounds the bandwidth to 10 MB/s, the CSV every float to 7 significant digits
        assert slope == pytest.approx(kv_per_position, rel=0.05)
