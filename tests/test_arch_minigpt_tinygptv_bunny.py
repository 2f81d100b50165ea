"""MiniGPT-v2, MiniGPT-4 (LLaMA-2), TinyGPT-V and Bunny v1.1 S2: vlmbench archs checked for
structure (parameter counts, visual tokens, merge, norms, S2 passes) and run end to end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vlmbench.archs.bunny_s2 import join_crops, split_into_crops
from vlmbench.archs.tinygptv import TinyGPTVDecoderLayer
from vlmbench.backends.hf.backend import format_prompt
from vlmbench.backends.hf.loader import load_random
from vlmbench.catalog import get
from vlmbench.catalog.materialise import count_parameters_meta
from vlmbench.catalog.tokenizer import build_tokenizer
from vlmbench.promptset import load_promptset

try:
    from transformers.initialization import no_init_weights
except ImportError:  # older 5.x
    from transformers.modeling_utils import no_init_weights

# /work/shared/reference/param-counts.json (meta-device counts of the published shapes).
SHEET_PARAMS = {
    "minigpt-v2": 7_748_521_984,  # minigptv2_llama2_7b_448 (before LoRA)
    "minigpt-4-llama2-7b": 7_747_440_640,  # minigpt4_llama2_7b(no qformer, 4-merge)
    "tinygpt-v": 3_884_528_640,  # tinygptv_224
    "tinygpt-v-448": 3_885_609_984,  # tinygptv_448(stage4)
    "bunny-1.1-4b": 4_254_126_960,  # bunny_v1_0-4B(phi3)_siglip_S2(mm_hidden 3456)
    "bunny-1.1-llama-3-8b-v": 8_474_197_872,  # bunny_Llama-3-8B-V(vocab128257)_siglip_S2(mm_hidden 3456)
}
VISUAL_TOKENS = {"minigpt-v2": 256, "minigpt-4-llama2-7b": 64, "tinygpt-v": 32, "tinygpt-v-448": 32,
                 "bunny-1.1-4b": 729, "bunny-1.1-llama-3-8b-v": 729}
TINY_IDS = [f"{real}-tiny" for real in SHEET_PARAMS]


def meta_model(model_id: str) -> nn.Module:
    """The real-size model on the meta device: shapes and hooks without memory or compute."""
    entry = get(model_id)
    with torch.device("meta"), no_init_weights():
        return entry.model_class(entry.build_config())


@pytest.fixture(scope="module")
def tiny():
    """Tiny models with their stand-in processors, loaded once per id (float32, CPU)."""
    cache: dict = {}

    def load(model_id: str):
        if model_id not in cache:
            cache[model_id] = load_random(get(model_id), torch.device("cpu"), torch.float32, 0, None)
        return cache[model_id]

    return load


def processed(model_id: str, prompt_id: str = "photo-cat-451x300"):
    """The entry's real stand-in processor on a packaged image with its prompt format."""
    entry = get(model_id)
    spec = entry.processor
    processor = spec.build(build_tokenizer(spec.image_token, spec.extra_special_tokens,
                                           chat_template=spec.chat_template))
    item = load_promptset().get(prompt_id)
    text = format_prompt(processor, item.prompt, entry.prompt_template)
    enc = processor(images=[item.open_image()], text=[text], return_tensors="pt")
    image_id = processor.tokenizer.convert_tokens_to_ids(spec.image_token)
    return text, enc, int((enc["input_ids"] == image_id).sum())


# ---------------------------------------------------------------- catalog facts

@pytest.mark.parametrize("model_id", list(SHEET_PARAMS))
def test_meta_parameter_count_equals_the_sheet(model_id):
    entry = get(model_id)
    assert entry.reference_params == SHEET_PARAMS[model_id]
    assert count_parameters_meta(entry.model_class, entry.build_config()) == SHEET_PARAMS[model_id]
    assert entry.visual_tokens == VISUAL_TOKENS[model_id]
    assert entry.construction == "vlmbench arch" and entry.vision_modules == ("vision",)
    if model_id.startswith(("minigpt-v2", "tinygpt-v")):  # LoRA r64 on q, v: counted merged
        assert "LoRA" in entry.provenance.approximations and "merged" in entry.provenance.approximations
    assert "not implemented" in entry.provenance.approximations  # no weight conversion


@pytest.mark.parametrize("model_id", TINY_IDS)
def test_tiny_variant_keeps_class_resolution_and_token_count(model_id):
    tiny_entry, real = get(model_id), get(model_id.removesuffix("-tiny"))
    assert tiny_entry.tiny_of == real.id and tiny_entry.model_class is real.model_class
    assert tiny_entry.visual_tokens == real.visual_tokens
    assert tiny_entry.reference_resolution == real.reference_resolution
    assert count_parameters_meta(tiny_entry.model_class, tiny_entry.build_config()) < 20_000_000


def test_bunny_checkpoints_need_remote_code_minigpt_has_none_on_the_hub():
    assert get("bunny-1.1-4b").checkpoints == ("BAAI/Bunny-v1_1-4B",)
    assert get("bunny-1.1-llama-3-8b-v").checkpoints == ("BAAI/Bunny-v1_1-Llama-3-8B-V",)
    assert all(get(i).trust_remote_code_checkpoint for i in ("bunny-1.1-4b", "bunny-1.1-llama-3-8b-v"))
    for model_id in ("minigpt-v2", "minigpt-4-llama2-7b", "tinygpt-v"):
        assert get(model_id).checkpoints == ()


# ---------------------------------------------------------------- MiniGPT-v2 / MiniGPT-4 LLaMA-2

@pytest.mark.parametrize("model_id, size, prompt_start", [
    ("minigpt-v2", 448, "<s>[INST] <Img><ImageHere></Img> "),
    ("minigpt-4-llama2-7b", 224, "Give the following image: <Img>ImageContent</Img>."),
])
def test_minigpt_visual_tokens_through_processor_and_vision_pipeline(model_id, size, prompt_start):
    text, enc, n_placeholders = processed(model_id)
    assert text.startswith(prompt_start) and text.endswith(" [/INST]" if size == 448 else " [/INST] ")
    assert tuple(enc["pixel_values"].shape) == (1, 3, size, size)
    model = meta_model(model_id)
    with torch.inference_mode():
        patches = model.vision.patch_embeddings(enc["pixel_values"].to("meta"))
        embeds = model.vision(enc["pixel_values"].to("meta"))
    assert tuple(patches.shape) == (1, (size // 14) ** 2, 1408)  # CLS dropped, after ln_vision
    assert tuple(embeds.shape) == (1, VISUAL_TOKENS[model_id], 4096) and n_placeholders == VISUAL_TOKENS[model_id]
    assert model.vision.projector.proj.in_features == 4 * 1408


def test_minigpt_merge_concatenates_four_consecutive_patches(tiny):
    vision = tiny("minigpt-v2-tiny").model.vision
    seen = {}
    vision.encoder.register_forward_hook(lambda m, i, o: seen.__setitem__("encoder", o.last_hidden_state))
    vision.projector.register_forward_pre_hook(lambda m, args: seen.__setitem__("projector", args[0]))
    with torch.inference_mode():
        vision(torch.randn(1, 3, 448, 448))
    assert torch.equal(seen["projector"], seen["encoder"][:, 1:])  # CLS dropped, nothing else

    patches = torch.randn(1, 1024, vision.projector.proj.in_features // 4)
    perturbed = patches.clone()
    perturbed[0, 9] += 1.0
    with torch.inference_mode():
        merged, merged_perturbed = vision.projector(patches), vision.projector(perturbed)
        by_hand = vision.projector.proj(torch.cat([patches[0, 8], patches[0, 9], patches[0, 10], patches[0, 11]]))
    changed = (merged != merged_perturbed).any(dim=-1)[0]
    assert changed.nonzero().flatten().tolist() == [2]  # patch 9 lives in merged token 9 // 4
    torch.testing.assert_close(merged[0, 2], by_hand)


# ---------------------------------------------------------------- TinyGPT-V

def test_tinygptv_real_size_qformer_and_two_linears():
    model = meta_model("tinygpt-v")
    vision = model.vision
    assert (vision.llama_proj.in_features, vision.llama_proj.out_features) == (768, 4096)
    assert (vision.llama_proj2.in_features, vision.llama_proj2.out_features) == (4096, 2560)
    assert tuple(vision.query_tokens.shape) == (1, 32, 768)
    cross = [i for i, layer in enumerate(vision.qformer.encoder.layer) if layer.has_cross_attention]
    assert cross == list(range(0, 12, 2))  # cross-attention into EVA's 1408 every 2nd layer
    layers = model.language_model.model.layers
    assert len(layers) == 32 and all(isinstance(layer, TinyGPTVDecoderLayer) for layer in layers)
    assert tuple(layers[0].self_attn.q_layernorm.weight.shape) == (80,)
    with torch.inference_mode():
        out = vision(torch.empty(1, 3, 224, 224, device="meta"))
    assert tuple(out.shape) == (1, 32, 2560)


def test_tinygptv_projection_is_two_linears_without_activation(tiny):
    vision = tiny("tinygpt-v-tiny").model.vision
    seen = {}
    vision.llama_proj.register_forward_hook(lambda m, i, o: seen.__setitem__("first_out", o))
    vision.llama_proj2.register_forward_pre_hook(lambda m, args: seen.__setitem__("second_in", args[0]))
    with torch.inference_mode():
        out = vision(torch.randn(2, 3, 224, 224))
    assert torch.equal(seen["first_out"], seen["second_in"])
    assert tuple(out.shape) == (2, 32, vision.llama_proj2.out_features)


def test_tinygptv_qk_layernorm_and_attention_output_rmsnorm_are_used(tiny):
    lm = tiny("tinygpt-v-tiny").model.language_model
    layers = lm.model.layers
    calls = {"q": 0, "k": 0}
    seen = {}

    def count(name):
        return lambda module, inputs, output: calls.__setitem__(name, calls[name] + 1)

    def keep(name, pick):
        return lambda module, inputs, output: seen.__setitem__(name, pick(inputs, output))

    layer = layers[0]
    hooks = [h for decoder_layer in layers for h in (
        decoder_layer.self_attn.q_layernorm.register_forward_hook(count("q")),
        decoder_layer.self_attn.k_layernorm.register_forward_hook(count("k")),
    )] + [
        layer.register_forward_hook(keep("x", lambda i, o: i[0])),
        layer.register_forward_hook(keep("out", lambda i, o: o)),
        layer.self_attn.register_forward_hook(keep("attn", lambda i, o: o[0])),
        layer.post_layernorm.register_forward_hook(keep("norm", lambda i, o: (i[0], o))),
        layer.mlp.register_forward_hook(keep("mlp", lambda i, o: o)),
    ]
    try:
        with torch.inference_mode():
            lm(input_ids=torch.tensor([[5, 6, 7, 8]]))
    finally:
        for h in hooks:
            h.remove()
    assert calls == {"q": len(layers), "k": len(layers)}  # q/k LayerNorm in every layer
    norm_in, norm_out = seen["norm"]
    assert torch.equal(norm_in, seen["attn"])  # the RMSNorm reads the attention output (after dense)
    rms = norm_in * torch.rsqrt(norm_in.pow(2).mean(-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(norm_out, rms * layer.post_layernorm.weight)
    torch.testing.assert_close(seen["out"], seen["x"] + norm_out + seen["mlp"])  # Phi's parallel residual


def test_tinygptv_cached_generation_matches_recomputation_with_left_padding(tiny):
    loaded = tiny("tinygpt-v-tiny")
    processor, model = loaded.processor, loaded.model
    processor.tokenizer.padding_side = "left"
    ps = load_promptset()
    items = [ps.get("photo-cat-451x300"), ps.get("document-receipt-400x1344")]
    texts = [format_prompt(processor, it.prompt, loaded.prompt_template) for it in items]
    enc = processor(images=[it.open_image() for it in items], text=texts, return_tensors="pt", padding=True)
    assert (enc["attention_mask"][:, 0] == 0).any()  # prompts differ in length: left padding in play
    scores = {}
    for use_cache in (True, False):
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=3, min_new_tokens=3, do_sample=False, use_cache=use_cache,
                                 output_scores=True, return_dict_in_generate=True,
                                 pad_token_id=processor.tokenizer.pad_token_id)
        scores[use_cache] = torch.stack(out.scores)
    torch.testing.assert_close(scores[True], scores[False], rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- Bunny v1.1 S2

def test_bunny_s2_fourteen_siglip_passes_3456_channels_729_tokens():
    _, enc, n_placeholders = processed("bunny-1.1-4b")
    assert tuple(enc["pixel_values"].shape) == (1, 3, 1152, 1152) and n_placeholders == 729
    model = meta_model("bunny-1.1-4b")
    crops_per_call = []
    model.vision.encoder.tower.register_forward_pre_hook(
        lambda m, args, kwargs: crops_per_call.append(tuple(kwargs["pixel_values"].shape)), with_kwargs=True)
    with torch.inference_mode():
        features = model.vision.encoder(enc["pixel_values"].to("meta"))
        embeds = model.vision.projector(features)
    assert crops_per_call == [(1, 3, 384, 384), (4, 3, 384, 384), (9, 3, 384, 384)]  # 14 passes, one batch per scale
    assert tuple(features.shape) == (1, 729, 3456)
    assert tuple(embeds.shape) == (1, 729, 3072)
    assert len(model.vision.encoder.tower.encoder.layers) == 27


def test_s2_crops_follow_the_chessboard_order_and_join_back():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6)
    crops = split_into_crops(images, 3)
    assert crops.shape == (18, 3, 2, 2)
    for i in range(3):
        for j in range(3):
            for b in range(2):
                assert torch.equal(crops[(i * 3 + j) * 2 + b], images[b, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2])
    assert torch.equal(join_crops(crops, 3), images)


def test_bunny_s2_features_are_siglip_layer_minus_2_area_pooled_per_scale(tiny):
    encoder = tiny("bunny-1.1-4b-tiny").model.vision.encoder
    layers = encoder.tower.encoder.layers
    outputs = []
    hook = layers[-2].register_forward_hook(lambda m, i, o: outputs.append(o[0] if isinstance(o, tuple) else o))
    image = torch.randn(1, 3, 1152, 1152)
    try:
        with torch.inference_mode():
            features = encoder(image)
    finally:
        hook.remove()
    width = layers[0].mlp.fc2.out_features
    assert features.shape == (1, 729, 3 * width)
    small, middle, large = outputs  # layer 26's output at 384 (1 crop), 768 (4), 1152 (9)
    torch.testing.assert_close(features[0, :, :width], small[0])
    first_crop_of_768 = middle[0].reshape(27, 27, width)
    expected = first_crop_of_768[:2, :2].mean(dim=(0, 1))  # token (0, 0) of the 54x54 map pooled 2x2
    torch.testing.assert_close(features[0, 0, width:2 * width], expected)
    crop_of_1152 = large[4].reshape(27, 27, width)  # centre crop: rows 27..53 of the 81x81 map
    token = 9 * 27 + 9  # pooled cell (9, 9) covers map rows/cols 27..29 -> centre crop's (0..2, 0..2)
    torch.testing.assert_close(features[0, token, 2 * width:], crop_of_1152[:3, :3].mean(dim=(0, 1)))


# ---------------------------------------------------------------- the full runner

@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_every_tiny_variant_generates_exactly_n_tokens_through_the_runner(tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    prompts = ["photo-cat-451x300", "document-receipt-400x1344"]
    config = RunConfig(models=TINY_IDS, max_new_tokens=3, repeats=1, warmup=0, prompts=prompts,
                       batch_sizes=[1, 2], out=tmp_path, progress=False)
    rows = read_rows(run_benchmark(config).requests_csv)
    assert len(rows) == len(TINY_IDS) * 4  # 2 prompts alone + 1 batch of 2
    for row in rows:
        real = row["model_id"].removesuffix("-tiny")
        assert row["status"] == "ok", row["error"]
        assert row["n_output_tokens"] == 3
        assert row["n_image_tokens"] == VISUAL_TOKENS[real]
        assert row["vision_ms"] > 0
    assert {r["batch_size"] for r in rows} == {1, 2}
