"""The predictor's structure on real tiny components: depth, batching, image-token counts."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vlmbench.catalog import get
from vlmbench.predict.opcount import count_ops
from vlmbench.predict.predictor import CountCache
from vlmbench.predict.profiles import Params, spec_profile
from vlmbench.predict.timing import predict_times
from vlmbench.predict.trace import run_trace
from vlmbench.predict.twin import candidates
from vlmbench.promptset import load_promptset

PROMPT = "diagram-shapes-336x336"


def _deeper(entry, layers: int):
    def build():
        cfg = entry.build_config()
        cfg.text_config.num_hidden_layers = layers
        return cfg
    return dataclasses.replace(entry, id=f"{entry.id}-L{layers}", build_config=build)


def _counts(entry):
    item = load_promptset().get(PROMPT)
    twin = candidates(entry)[0]
    return count_ops(entry, run_trace(twin, [item.open_image()], [item.prompt]), "bfloat16")


def test_twice_as_deep_predicts_twice_the_decode_bytes():
    base = get("llava-1.5-7b-tiny")
    two, four = _counts(_deeper(base, 2)), _counts(_deeper(base, 4))
    d2, d4 = two.stages["decode"], four.stages["decode"]
    for cls in ("gemm", "attention"):  # element-wise ops include the depth-independent generate loop
        assert d4.total("nbytes", cls) == pytest.approx(2 * d2.total("nbytes", cls), rel=1e-6), cls
    # the output head and the embedding gather do not grow with depth
    assert d4.total("nbytes", "lm_head") == pytest.approx(d2.total("nbytes", "lm_head"), rel=1e-9)
    assert d2.total("nbytes", "lm_head") > 0
    # decoder-layer GEMM bytes per step = the layers' weights (plus a little activation traffic)
    layer_weights = sum(p.numel() * 2 for n, p in _meta(_deeper(base, 2)).named_parameters()
                        if ".layers." in n and "language_model" in n and p.dim() == 2)
    assert layer_weights <= d2.total("nbytes", "gemm") <= 1.2 * layer_weights
    assert d4.total("nbytes", "norm_elementwise") > d2.total("nbytes", "norm_elementwise")


def _meta(entry):
    from vlmbench.predict.opcount import build_meta_model

    return build_meta_model(entry, torch.bfloat16)


def test_batch_8_decode_is_not_8x_batch_1_on_a_bandwidth_bound_profile():
    cache = CountCache()
    one = cache.case("llava-1.5-7b", PROMPT, 1)
    eight = cache.case("llava-1.5-7b", PROMPT, 8)
    h100 = spec_profile("h100")
    device_only = Params(dispatch=0.0, step_ms=-h100.step_overhead_ms)
    t1 = predict_times(one.counts, 16, one.in_pixels, h100, device_only).tpot_ms
    t8 = predict_times(eight.counts, 16, eight.in_pixels, h100, device_only).tpot_ms
    assert t1 > 0 and t8 < 2.0 * t1  # weights are read once per step for the whole batch
    b1, b8 = one.counts.stages["decode"].total("nbytes"), eight.counts.stages["decode"].total("nbytes")
    assert b1 < b8 < 2.0 * b1
    # prefill is compute-bound: 8 prompts cost about 8 times one
    p1 = predict_times(one.counts, 16, one.in_pixels, h100, device_only).prefill_ms
    p8 = predict_times(eight.counts, 16, eight.in_pixels, h100, device_only).prefill_ms
    assert 4.0 * p1 < p8 < 9.0 * p1


@pytest.mark.parametrize("model_id, prompt", [
    ("llava-1.6-vicuna-7b-tiny", "scene-panorama-1500x400"),  # AnyRes tiles
    ("mgm-7b-hd-tiny", "document-receipt-400x1344"),  # MGM-HD crops
    ("bunny-1.1-4b-tiny", "chart-bar-640x480"),  # S2 scales
    ("paligemma-3b-224-tiny", "chart-bar-640x480"),
])
def test_predicted_image_tokens_equal_the_processors_count(model_id, prompt):
    from vlmbench.backends.hf.backend import format_prompt
    from vlmbench.backends.hf.loader import load_random

    entry = get(model_id)
    item = load_promptset().get(prompt)
    loaded = load_random(entry, torch.device("cpu"), torch.float32, 0, None)
    text = format_prompt(loaded.processor, item.prompt, loaded.prompt_template)
    inputs = loaded.processor(images=[item.open_image()], text=[text], return_tensors="pt")
    cfg = loaded.model.config
    token_id = next(getattr(cfg, a) for a in ("image_token_id", "image_token_index") if getattr(cfg, a, None) is not None)
    real = int((inputs["input_ids"][0] == token_id).sum())
    case = CountCache().case(model_id, prompt, 1)
    assert case.counts.n_image_tokens == real
    assert case.counts.n_prompt_tokens == int(inputs["attention_mask"][0].sum())


def test_moe_decode_reads_only_the_active_experts():
    """mgm-8x7b (Mixtral, top-2 of 8 experts): a decode step reads about k/E of the expert weights."""
    from vlmbench.predict.opcount import build_meta_model

    case = CountCache().case("mgm-8x7b", PROMPT, 1)
    model = build_meta_model(get("mgm-8x7b"), torch.bfloat16)
    text = model.config.text_config
    k, experts = text.num_experts_per_tok, text.num_local_experts
    expert = sum(p.numel() * 2 for n, p in model.named_parameters() if ".experts." in n)
    dense = sum(p.numel() * 2 for n, p in model.named_parameters()
                if "language_model" in n and ".layers." in n and ".experts." not in n)
    active = dense + expert * k / experts
    decode_gemm = case.counts.stages["decode"].total("nbytes", "gemm")
    assert 0.95 * active <= decode_gemm <= 1.1 * active
    assert decode_gemm < 0.5 * (dense + expert)


def test_depthwise_convolutions_are_their_own_class_and_follow_the_profiles_curve():
    """MGM's ConvNeXt-L at 768 px: its depthwise 7x7 convolutions are counted as grouped
    convolutions (not as GEMMs at the GEMM curve's peak), with ConvNeXt-L's FLOPs, and a profile
    with a slower grouped-convolution curve predicts a slower vision stage, the rest unchanged."""
    case = CountCache().case("mgm-2b", PROMPT, 1)
    vision = case.counts.stages["vision"]
    depths, widths, grids = (3, 3, 27, 3), (192, 384, 768, 1536), (192, 96, 48, 24)
    expected = sum(2.0 * 49 * d * c * g * g for d, c, g in zip(depths, widths, grids))
    assert vision.total("flops", "grouped_conv") == pytest.approx(expected, rel=1e-6)
    # the stem and down-sampling convolutions (groups = 1) stay GEMMs
    assert all(op.cls != "grouped_conv" or op.flops / max(op.rows, 1.0) < 2 * 49 + 1 for op in vision.ops)
    profile = spec_profile("h100")
    assert not profile.grouped_conv_curve  # spec sheets have none: bandwidth-bound
    params = Params()
    fast = dataclasses.replace(profile, grouped_conv_curve={"bfloat16": [[1.0, 1e15], [1e8, 1e15]]})
    slow = dataclasses.replace(profile, grouped_conv_curve={"bfloat16": [[1.0, 1e11], [1e8, 1e11]]})
    t_fast = predict_times(case.counts, 16, case.in_pixels, fast, params)
    t_slow = predict_times(case.counts, 16, case.in_pixels, slow, params)
    conv_ms = expected / 1e11 * 1000.0
    assert t_slow.vision_ms - t_fast.vision_ms == pytest.approx(conv_ms, rel=0.05)
    assert t_slow.tpot_ms == pytest.approx(t_fast.tpot_ms, rel=1e-9)
