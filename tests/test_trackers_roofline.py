"""Roofline inputs and the roofline fraction: bandwidth of a real copy on this CPU, bytes per
decode token counted on real catalog models, and the column the runner writes recomputed from
the facts the manifest records."""

from __future__ import annotations

import pytest
import torch

from vlmbench.backends.hf.loader import vision_stage_modules
from vlmbench.catalog import get
from vlmbench.catalog.materialise import construct
from vlmbench.measure.bandwidth import MIB, measure_copy_bandwidth
from vlmbench.measure.device import device_ops
from vlmbench.metrics.roofline import DecodeTraffic, RooflineBound, RooflineFraction, decode_traffic
from vlmbench.results.reader import read_rows
from vlmbench.runner.manifest import read_manifest

from conftest import TINY


def meta_model(entry_id: str) -> tuple[torch.nn.Module, list[torch.nn.Module]]:
    entry = get(entry_id)
    with torch.device("meta"):
        model = construct(entry.model_class, entry.build_config())
    return model, vision_stage_modules(model, entry)


def param_bytes(model: torch.nn.Module, keep) -> float:
    return float(sum(p.numel() * p.element_size() for n, p in model.named_parameters() if keep(n)))


def test_copy_bandwidth_on_this_cpu():
    bw = measure_copy_bandwidth(device_ops("cpu"), copy_mib=64, repeats=3)
    assert bw.best_ms <= bw.median_ms
    assert bw.bytes_per_s == pytest.approx(2 * 64 * MIB / (bw.best_ms / 1000.0))
    # any machine that runs this suite copies DRAM at between 0.2 and 1000 GB/s
    assert 0.2e9 < bw.bytes_per_s < 1e12


def test_llava_decode_reads_its_decoder_and_head_not_the_vision_stage():
    model, vision = meta_model("llava-1.5-7b-tiny")
    traffic, status = decode_traffic(model, vision)
    assert status == "ok"
    skipped = ("model.vision_tower.", "model.multi_modal_projector.", "model.language_model.embed_tokens.")
    assert traffic.weight_bytes == param_bytes(model, lambda n: not n.startswith(skipped))
    text = model.config.text_config
    head_dim = text.hidden_size // text.num_attention_heads
    assert traffic.kv_bytes_per_position == 2 * text.num_hidden_layers * text.num_key_value_heads * head_dim * 4


def test_tied_embeddings_are_read_through_the_head():
    model, vision = meta_model("paligemma-3b-224-tiny")
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    traffic, _ = decode_traffic(model, vision)
    vision_ids = {id(p) for m in vision for p in m.parameters()}
    assert traffic.weight_bytes == float(sum(p.numel() * p.element_size() for p in model.parameters()
                                             if id(p) not in vision_ids))


def test_mixture_of_experts_counts_the_active_experts_only():
    model, vision = meta_model("mgm-8x7b-tiny")
    traffic, _ = decode_traffic(model, vision)
    text = model.config.get_text_config(decoder=True)
    share = text.num_experts_per_tok / text.num_local_experts
    assert traffic.moe_active_fraction == share == 0.25
    vision_ids = {id(p) for m in vision for p in m.parameters()}
    table = model.get_input_embeddings().weight
    dense = experts = 0.0
    for name, p in model.named_parameters():
        if id(p) in vision_ids or p is table:
            continue
        if ".mlp.experts." in name:
            experts += p.numel() * p.element_size()
        else:
            dense += p.numel() * p.element_size()
    assert experts > 0
    assert traffic.weight_bytes == pytest.approx(dense + share * experts)


def test_encoder_decoder_models_have_no_bound_and_say_why():
    model, vision = meta_model("pali3-5b-tiny")
    traffic, status = decode_traffic(model, vision)
    assert traffic is None and "encoder-decoder" in status


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


@pytest.mark.slow
def test_runner_rows_carry_the_fraction_of_the_recorded_bound(tiny_run):
    facts = read_manifest(tiny_run.run_dir)["models"][TINY]
    bandwidth = facts["memory_bandwidth"]["gb_per_s"] * 1e9
    traffic = DecodeTraffic(facts["roofline"]["weight_bytes_per_token"], facts["roofline"]["kv_bytes_per_position"])
    ok = [r for r in read_rows(tiny_run.requests_csv) if r["status"] == "ok"]
    assert ok
    for row in ok:
        bound = RooflineBound().compute(traffic, bandwidth, row["n_prompt_tokens"], row["n_output_tokens"])
        # the manifest rounds the bandwidth to 10 MB/s, the CSV every float to 4 decimals
        assert row["roofline_fraction"] == pytest.approx(bound / row["tpot_ms"], rel=0.01, abs=5e-5)
        assert 0 < row["roofline_fraction"] < 1.5
