"""MGM (Mini-Gemini): parameter counts, visual tokens, the ConvNeXt fusion, patch info mining
locality, HD tiling, and tiny variants generating through the real runner."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from transformers import ConvNextConfig

from vlmbench.archs.convnext_aux import ConvNeXtMultiScale
from vlmbench.archs.mgm import MGMForCausalLM, MGMVisionPipeline, PatchInfoMining
from vlmbench.backends.hf.backend import format_prompt
from vlmbench.backends.hf.loader import load_random
from vlmbench.catalog import get
from vlmbench.catalog.materialise import count_parameters_meta, no_init_weights
from vlmbench.catalog.mgm import CONVNEXT_L, CONVNEXT_TINY, ENTRIES, HD_SIZES
from vlmbench.promptset import load_promptset

REAL = [e for e in ENTRIES if not e.is_tiny]
TINY = [e for e in ENTRIES if e.is_tiny]
VISION_SIDE = 303_507_456 + 196_227_264 + 6_963_456  # CLIP-L-336 + ConvNeXt-L stem/stages + mining
WIDE_PROMPT = "photo-rocket-640x427"  # 640x427: padded to a square top and bottom
LONG_PROMPT = "photo-coffee-600x400"  # a longer prompt: batch 2 needs left padding


@functools.lru_cache(maxsize=None)
def _tiny_model(model_id):
    """A random-weight tiny model and its stand-in processor, as the hf backend loads them
    (shared between tests: they must not modify it)."""
    loaded = load_random(get(model_id), torch.device("cpu"), torch.float32, seed=0, attn=None)
    return loaded.model, loaded.processor


def _inputs(processor, prompt_ids):
    items = [load_promptset().get(i) for i in prompt_ids]
    processor.tokenizer.padding_side = "left"
    texts = [format_prompt(processor, item.prompt, "") for item in items]
    return processor(images=[item.open_image() for item in items], text=texts, return_tensors="pt",
                     padding=len(items) > 1)


# --- catalog -----------------------------------------------------------------------------

def test_every_size_has_a_normal_and_the_published_hd_entries():
    ids = {e.id for e in REAL}
    assert ids == {"mgm-2b", "mgm-7b", "mgm-13b", "mgm-8b", "mgm-8x7b", "mgm-34b",
                   *(f"mgm-{s.lower()}-hd" for s in HD_SIZES)}
    assert "mgm-2b-hd" not in ids
    assert {c for e in REAL for c in e.checkpoints} == {
        f"YanweiLi/MGM-{size}{suffix}" for size in ("2B", "7B", "13B", "8B", "8x7B", "34B")
        for suffix in ("", "-HD") if not (size == "2B" and suffix)}
    for e in REAL:
        assert e.construction == "vlmbench arch" and e.trust_remote_code_checkpoint
        assert "not implemented" in e.provenance.approximations
        assert e.visual_tokens == (2880 if e.id.endswith("-hd") else 576)
    assert {"mgm-7b-tiny", "mgm-7b-hd-tiny"} <= {e.id for e in TINY}
    assert all(get(e.tiny_of).visual_tokens == e.visual_tokens for e in TINY)


@pytest.mark.parametrize("entry", REAL, ids=lambda e: e.id)
def test_parameter_count_matches_the_sheet(entry):
    config = entry.build_config()
    count = count_parameters_meta(entry.model_class, config)
    assert count == entry.reference_params
    with torch.device("meta"), no_init_weights():
        model = MGMForCausalLM(config)
    vision = sum(p.numel() for name, p in model.vision.named_parameters() if not name.startswith("projector"))
    assert vision == VISION_SIDE  # identical in every size, HD included
    assert config.visual_tokens == entry.visual_tokens


@pytest.mark.parametrize("model_id", ["mgm-7b", "mgm-7b-hd", "mgm-34b-hd"])
def test_real_size_vision_pipeline_output_shape_on_meta(model_id):
    entry = get(model_id)
    config = entry.build_config()
    hd = config.image_grid > 1
    with torch.device("meta"), no_init_weights():
        vision = MGMVisionPipeline(config)
        embeds = vision(torch.empty((1, 5, 3, 336, 336) if hd else (1, 3, 336, 336)),
                        torch.empty(1, 3, config.image_size_aux, config.image_size_aux))
    assert config.image_size_aux == (1536 if hd else 768)
    assert tuple(embeds.shape) == (1, entry.visual_tokens, config.text_config.hidden_size)


def test_gemma_lm_head_is_tied_in_the_random_build():
    model, _ = _tiny_model("mgm-2b-tiny")
    lm = model.language_model
    assert lm.lm_head.weight is lm.model.embed_tokens.weight


# --- ConvNeXt aux encoder --------------------------------------------------------------------

@pytest.mark.parametrize("size", [768, 1536])
def test_convnext_l_stages_are_fused_at_input_over_4_into_2880_channels(size):
    with torch.device("meta"), no_init_weights():
        convnext = ConvNeXtMultiScale(ConvNextConfig(**CONVNEXT_L))
        pixels = torch.empty(1, 3, size, size)
        stages = convnext.stage_outputs(pixels)
        fused = convnext(pixels)
    assert sum(p.numel() for p in convnext.parameters()) == 196_227_264
    assert [tuple(s.shape[1:]) for s in stages] == [(192, size // 4, size // 4), (384, size // 8, size // 8),
                                                    (768, size // 16, size // 16), (1536, size // 32, size // 32)]
    assert tuple(fused.shape) == (1, 2880, size // 4, size // 4)


def test_fused_map_is_the_bilinear_resize_of_each_stage_in_order():
    torch.manual_seed(0)
    convnext = ConvNeXtMultiScale(ConvNextConfig(**CONVNEXT_TINY)).eval()
    pixels = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        stages = convnext.stage_outputs(pixels)
        fused = convnext(pixels)
    start = 0
    for stage in stages:
        width = stage.shape[1]
        expected = F.interpolate(stage, size=(32, 32), mode="bilinear", align_corners=False)
        torch.testing.assert_close(fused[:, start:start + width], expected)
        start += width
    assert start == fused.shape[1] == 120


# --- patch info mining ---------------------------------------------------------------------

def _changed_tokens(before, after):
    return set(torch.nonzero((before - after).abs().amax(dim=-1)[0] > 1e-6).flatten().tolist())


def test_each_low_res_token_attends_only_to_its_own_8x8_window():
    torch.manual_seed(0)
    mining = PatchInfoMining(32, 24).eval()
    low_res, high_res = torch.randn(1, 576, 32), torch.randn(1, 24, 192, 192)
    with torch.no_grad():
        base = mining(low_res, high_res)
        for row, col in [(0, 0), (5, 7), (23, 23)]:
            perturbed = high_res.clone()
            perturbed[..., row * 8:(row + 1) * 8, col * 8:(col + 1) * 8] += torch.randn(24, 8, 8)
            assert _changed_tokens(base, mining(low_res, perturbed)) == {row * 24 + col}
        # one position just past a window edge belongs to the next window only
        edge = high_res.clone()
        edge[..., 5 * 8 + 8, 7 * 8] += torch.randn(24)  # (a constant shift would vanish in the LayerNorm)
        assert _changed_tokens(base, mining(low_res, edge)) == {6 * 24 + 7}
    assert sum(p.numel() for p in PatchInfoMining(1024, 2880).parameters()) == 6_963_456


class _FixedMap(nn.Module):
    """Stands in for the ConvNeXt: returns a given high-res map."""

    def __init__(self, feature_map: torch.Tensor) -> None:
        super().__init__()
        self.feature_map = feature_map

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.feature_map


def test_hd_tiles_read_their_own_quarter_of_the_high_res_map_and_global_comes_first():
    torch.manual_seed(0)
    vision = MGMVisionPipeline(get("mgm-7b-hd-tiny").build_config()).eval()
    pixel_values = torch.randn(1, 5, 3, 336, 336)
    feature_map = torch.randn(1, 120, 384, 384)
    # tile (0, 1) is the top-right quarter; its local token (3, 5) reads rows 24:32, cols 192+40:192+48
    perturbed = feature_map.clone()
    perturbed[..., 24:32, 232:240] += torch.randn(120, 8, 8)
    with torch.no_grad():
        vision.convnext = _FixedMap(feature_map)
        base = vision.mined_features(pixel_values, torch.empty(1, 3, 1536, 1536))
        vision.convnext = _FixedMap(perturbed)
        after = vision.mined_features(pixel_values, torch.empty(1, 3, 1536, 1536))
    assert base.shape == (1, 2880, 64)
    # the global view (tokens 0-575, the map shrunk 2x: rows 12:16, cols 116:120 -> token (1, 14))
    # and tile 1 (tokens 1152-1727) change, each in one token only
    assert _changed_tokens(base, after) == {1 * 24 + 14, 576 + 576 * 1 + 3 * 24 + 5}


# --- processor and visual tokens -----------------------------------------------------------

@pytest.mark.parametrize("model_id, tokens, crops, aux_side",
                         [("mgm-7b-tiny", 576, 1, 768), ("mgm-7b-hd-tiny", 2880, 5, 1536),
                          ("mgm-2b-tiny", 576, 1, 768), ("mgm-8x7b-tiny", 576, 1, 768)])
def test_visual_tokens_and_clip_crops_through_processor_and_generate(model_id, tokens, crops, aux_side):
    model, processor = _tiny_model(model_id)
    enc = _inputs(processor, [WIDE_PROMPT])
    assert int((enc["input_ids"] == model.config.image_token_id).sum()) == tokens
    low_res_shape = (1, 3, 336, 336) if crops == 1 else (1, crops, 3, 336, 336)
    assert tuple(enc["pixel_values"].shape) == low_res_shape
    assert tuple(enc["pixel_values_aux"].shape) == (1, 3, aux_side, aux_side)
    # 640x427 is padded to a square with the mean colour: ~0 after CLIP normalisation
    assert enc["pixel_values_aux"][..., : aux_side // 10, :].abs().max() < 0.02
    clip_batches: list[int] = []
    vision_outputs: list[tuple[int, ...]] = []
    hooks = [
        model.vision.clip.register_forward_pre_hook(
            lambda module, args, kwargs: clip_batches.append(kwargs["pixel_values"].shape[0]), with_kwargs=True),
        model.vision.register_forward_hook(lambda module, args, out: vision_outputs.append(tuple(out.shape))),
    ]
    try:
        with torch.no_grad():
            model.generate(**enc, max_new_tokens=2, min_new_tokens=2, do_sample=False)
    finally:
        for hook in hooks:
            hook.remove()
    assert clip_batches == [crops]  # HD: 4 tiles + global in one CLIP batch, at prefill only
    assert vision_outputs == [(1, tokens, model.config.text_config.hidden_size)]


def test_hd_low_res_view_is_four_row_major_tiles_of_672_plus_a_global_336():
    _, processor = _tiny_model("mgm-7b-hd-tiny")
    enc = _inputs(processor, [WIDE_PROMPT])
    view_672 = F.interpolate(enc["pixel_values_aux"], size=(672, 672), mode="bilinear", align_corners=False)
    tiles = enc["pixel_values"][0]
    torch.testing.assert_close(tiles[0], view_672[0, :, :336, :336])
    torch.testing.assert_close(tiles[1], view_672[0, :, :336, 336:])
    torch.testing.assert_close(tiles[2], view_672[0, :, 336:, :336])
    torch.testing.assert_close(tiles[3], view_672[0, :, 336:, 336:])
    torch.testing.assert_close(tiles[4], F.interpolate(view_672, size=(336, 336), mode="bilinear",
                                                       align_corners=False)[0])


# --- generation ----------------------------------------------------------------------------

def test_batch_of_two_with_left_padding_matches_the_request_alone():
    model, processor = _tiny_model("mgm-7b-tiny")
    batch = _inputs(processor, [WIDE_PROMPT, LONG_PROMPT])
    assert batch["attention_mask"][0, 0] == 0  # the shorter prompt is left-padded
    alone = _inputs(processor, [WIDE_PROMPT])
    kwargs = dict(max_new_tokens=3, min_new_tokens=3, do_sample=False, pad_token_id=processor.tokenizer.pad_token_id)
    with torch.no_grad():
        together = model.generate(**batch, **kwargs)[:, batch["input_ids"].shape[1]:]
        single = model.generate(**alone, **kwargs)[:, alone["input_ids"].shape[1]:]
    assert together.shape == (2, 3)
    assert together[0].tolist() == single[0].tolist()


@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_tiny_variants_generate_exactly_n_tokens_through_the_runner(tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark
    from vlmbench.results.manifest import read_manifest

    config = RunConfig(models=["mgm-7b-tiny", "mgm-7b-hd-tiny"], max_new_tokens=3, repeats=1, warmup=0,
                       prompts=[WIDE_PROMPT], out=tmp_path, progress=False)
    result = run_benchmark(config)
    rows = read_rows(result.requests_csv)
    assert sorted(r["model_id"] for r in rows) == ["mgm-7b-hd-tiny", "mgm-7b-tiny"]
    models = read_manifest(result.run_dir)["models"]
    for model_id in ("mgm-7b-tiny", "mgm-7b-hd-tiny"):  # the vision stage spans all four parts
        assert models[model_id]["vision_stage_modules"] == [
            "CLIPVisionModel", "ConvNeXtMultiScale", "PatchInfoMining", "Sequential"]
    for r in rows:
        assert r["status"] == "ok", r.get("error")
        assert r["n_output_tokens"] == 3
        assert r["n_image_tokens"] == (2880 if r["model_id"] == "mgm-7b-hd-tiny" else 576)
        assert r["vision_ms"] > 0
