"""CogVLM and CogAgent (archs/cogvlm.py, archs/cogagent.py, catalog/cogvlm.py): the published
structure, checked on real components of the tiny variants and by meta-device counts."""

from __future__ import annotations

import math

import pytest
import torch

from vlmbench.archs.cogvlm import compressed_position_ids, vision_expert_mask
from vlmbench.backends.hf.backend import format_prompt
from vlmbench.backends.hf.loader import load_random
from vlmbench.catalog import get
from vlmbench.catalog.materialise import count_parameters_meta, construct
from vlmbench.measure.clock import resolve_module
from vlmbench.promptset import load_promptset

from conftest import few_prompt_ids

REAL = ("cogvlm-17b", "cogvlm-17b-224", "cogagent-18b")
TINY = ("cogvlm-17b-tiny", "cogvlm-17b-224-tiny", "cogagent-18b-tiny")
# param-counts.json: cogvlm_490_total, cogvlm_224_total, cogagent_total(224 lowres + 1120 cross)
SHEET_TOTALS = {"cogvlm-17b": 17_639_685_376, "cogvlm-17b-224": 17_637_948_928, "cogagent-18b": 18_290_244_032}
SHEET_TOKENS = {"cogvlm-17b": 1227, "cogvlm-17b-224": 258, "cogagent-18b": 258}
N_NEW = 3

_loaded: dict = {}


def loaded(model_id: str):
    if model_id not in _loaded:
        _loaded[model_id] = load_random(get(model_id), torch.device("cpu"), torch.float32, seed=0, attn=None)
    return _loaded[model_id]


def encode(model_id: str, prompt_ids: list[str]):
    """Processor outputs for one or more prompts of the packaged set (left padding)."""
    item_set = load_promptset()
    lm = loaded(model_id)
    lm.processor.tokenizer.padding_side = "left"
    items = [item_set.get(p) for p in prompt_ids]
    texts = [format_prompt(lm.processor, it.prompt, lm.prompt_template) for it in items]
    return lm.processor(images=[it.open_image() for it in items], text=texts, return_tensors="pt",
                        padding=len(items) > 1)


def generate(model_id: str, inputs, n: int = N_NEW, **kwargs) -> torch.Tensor:
    with torch.inference_mode():
        return loaded(model_id).model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                               **kwargs)


def count_rows(modules: dict[str, torch.nn.Module]):
    """Forward hooks recording, per call, how many token rows each module received."""
    calls: dict[str, list[int]] = {name: [] for name in modules}
    handles = [m.register_forward_hook(lambda mod, args, out, name=name: calls[name].append(
        args[0].shape[:-1].numel())) for name, m in modules.items()]
    return calls, handles


# --- shapes: parameter counts, components, visual tokens, catalog data ------------------------

@pytest.mark.parametrize("model_id", REAL)
def test_meta_parameter_count_equals_the_fact_sheet(model_id):
    entry = get(model_id)
    assert entry.reference_params == SHEET_TOTALS[model_id]
    assert count_parameters_meta(entry.model_class, entry.build_config()) == SHEET_TOTALS[model_id]


def _meta_model(model_id):
    entry = get(model_id)
    with torch.device("meta"):
        return construct(entry.model_class, entry.build_config())


def _n(module):
    return sum(p.numel() for p in module.parameters())


def test_component_counts_match_the_sheet():
    cogvlm = _meta_model("cogvlm-17b")
    assert _n(cogvlm.vision.encoder) == 4_282_641_664  # cogvlm_490_vision_encoder
    assert _n(cogvlm.vision.encoder.layers[0]) == 67_926_784  # eva2_E_layer
    assert _n(cogvlm.vision.adapter) == 142_614_528  # cogvlm_glu_adapter
    layer = cogvlm.language_model.layers[0]
    expert = (_n(layer.self_attn.vision_expert_qkv) + _n(layer.self_attn.vision_expert_dense)
              + _n(layer.mlp.vision_mlp))
    assert expert == 202_375_168  # cogvlm_visual_expert_per_layer
    assert len(cogvlm.language_model.layers) == 32 and len(cogvlm.vision.encoder.layers) == 63
    cogagent = _meta_model("cogagent-18b")
    cross = cogagent.language_model.layers[0]
    assert _n(cross.cross_attn) + _n(cross.post_cross_attention_layernorm) == 10_489_856  # per layer
    assert _n(cogagent.cross_vision) == 316_160_960  # eva02_L_1120_cogagent_cross
    assert _n(cogagent.cross_vision.encoder.blocks[0]) == 12_602_024  # eva02_L_layer
    assert cogagent.cross_vision.encoder.config.layers_run == 23  # the public forward skips the last block


@pytest.mark.parametrize("model_id", REAL)
def test_visual_tokens_and_catalog_data(model_id):
    entry = get(model_id)
    config = entry.build_config()
    assert entry.visual_tokens == config.image_tokens == SHEET_TOKENS[model_id]
    assert entry.construction == "vlmbench arch" and entry.trust_remote_code_checkpoint
    assert all(c.startswith("THUDM/") for c in entry.checkpoints) and entry.checkpoints
    assert entry.provenance.published_total.startswith(("17B", "18B"))
    assert "conversion that is not implemented" in entry.provenance.approximations
    if model_id == "cogagent-18b":
        assert config.cross_vision_config.num_patches == 6400
        assert config.cross_vision_config.hidden_size == 1024 and config.cross_compute_hidden_size == 1024


@pytest.mark.parametrize("model_id", ["cogvlm-17b-tiny", "cogagent-18b-tiny"])
def test_tiny_vision_stage_and_processor_expansion(model_id):
    entry, lm = get(model_id), loaded(model_id)
    modules = [resolve_module(lm.model, p) for p in entry.vision_modules]
    assert all(m is not None for m in modules)
    inputs = encode(model_id, few_prompt_ids(1))
    n_image = int((inputs["input_ids"] == lm.model.config.image_token_id).sum())
    assert n_image == entry.visual_tokens == get(entry.tiny_of).visual_tokens
    with torch.no_grad():
        assert lm.model.vision(inputs["pixel_values"]).shape[1] == n_image  # [BOI, patches, EOI]
    if entry.system == "CogAgent":
        assert type(modules[1]).__name__ == "CogAgentHighResVision"  # the 1120 px encoder is timed too
        assert inputs["cross_pixel_values"].shape[-2:] == (1120, 1120)
        assert inputs["pixel_values"].shape[-2:] == (224, 224)


# --- EVA2-CLIP-E: LayerNorm on each sub-layer's output ----------------------------------------

def test_eva2_layernorm_is_applied_to_sublayer_outputs():
    layer = loaded("cogvlm-17b-224-tiny").model.vision.encoder.layers[0]
    with torch.no_grad():
        for norm in (layer.attention_output_norm, layer.mlp_output_norm):  # non-trivial affine
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.1, 0.1)
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, a, o, k=k: seen.__setitem__(k, (a[0], o)))
             for k, m in (("attn", layer.attention), ("attn_norm", layer.attention_output_norm),
                          ("mlp", layer.mlp), ("mlp_norm", layer.mlp_output_norm))]
    x = torch.randn(1, 5, layer.attention.dense.in_features)
    with torch.no_grad():
        y = layer(x)
    for h in hooks:
        h.remove()
    assert torch.equal(seen["attn"][0], x)  # attention reads the raw residual stream
    assert torch.equal(seen["attn_norm"][0], seen["attn"][1])  # its norm reads its output
    middle = x + seen["attn_norm"][1]
    assert torch.allclose(seen["mlp"][0], middle)  # the MLP reads x + LN(attn(x)), not a normed input
    assert torch.equal(seen["mlp_norm"][0], seen["mlp"][1])
    assert torch.allclose(y, middle + seen["mlp_norm"][1])


# --- EVA02-CLIP-L (CogAgent's 1120 px encoder) ----------------------------------------------------

def test_eva02_rotary_is_two_dimensional_and_the_last_block_is_skipped():
    encoder = loaded("cogagent-18b-tiny").model.cross_vision.encoder
    grid, head_dim = encoder.config.grid, encoder.rotary.cos.shape[-1]
    assert grid == 80 and head_dim == 64 and encoder.rotary.cos.dtype == torch.float32
    table = encoder.rotary.cos.view(grid, grid, head_dim)
    half = head_dim // 2
    assert torch.equal(table[:, :, :half], table[:, :1, :half].expand(-1, grid, -1))  # row only
    assert torch.equal(table[:, :, half:], table[:1, :, half:].expand(grid, -1, -1))  # column only
    assert torch.equal(table[..., 0::2], table[..., 1::2])  # one frequency per channel pair
    assert math.isclose(table[1, 0, 0].item(), math.cos(16 / 80), rel_tol=1e-6)  # 80 rows mapped onto 16
    ran = []
    hooks = [b.register_forward_hook(lambda m, a, o, i=i: ran.append(i)) for i, b in enumerate(encoder.blocks)]
    with torch.no_grad():
        out = encoder(torch.randn(1, 3, 1120, 1120))
    for h in hooks:
        h.remove()
    assert ran == list(range(len(encoder.blocks) - 1)) and out.shape == (1, 6400, encoder.config.hidden_size)


# --- the visual expert ------------------------------------------------------------------------

def test_image_tokens_use_the_expert_and_text_tokens_the_language_weights():
    model_id = "cogvlm-17b-224-tiny"
    lm = loaded(model_id)
    inputs = encode(model_id, few_prompt_ids(1))
    n_prompt = inputs["input_ids"].shape[1]
    n_image = int((inputs["input_ids"] == lm.model.config.image_token_id).sum())
    modules = {}
    for i, layer in enumerate(lm.model.language_model.layers):
        modules.update({f"{i}.vqkv": layer.self_attn.vision_expert_qkv,
                        f"{i}.lqkv": layer.self_attn.language_expert_qkv,
                        f"{i}.vdense": layer.self_attn.vision_expert_dense,
                        f"{i}.ldense": layer.self_attn.language_expert_dense,
                        f"{i}.vmlp": layer.mlp.vision_mlp, f"{i}.lmlp": layer.mlp.language_mlp})
    calls, handles = count_rows(modules)
    generate(model_id, inputs)
    for h in handles:
        h.remove()
    # Public rule (get_expert_mask): BOI and the patches use the expert; EOI, followed by text,
    # uses the language weights. Decode steps (generated text) use only the language weights.
    for i in range(len(lm.model.language_model.layers)):
        for kind in ("qkv", "dense", "mlp"):
            assert calls[f"{i}.v{kind}"] == [n_image - 1], (i, kind)
            assert calls[f"{i}.l{kind}"] == [n_prompt - n_image + 1] + [1] * (N_NEW - 1), (i, kind)


def test_expert_mask_rule():
    image = torch.tensor([[0, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 1, 1]], dtype=torch.bool)
    assert vision_expert_mask(image).int().tolist() == [[0, 1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 1, 1, 0]]


def test_one_softmax_over_image_and_text_tokens():
    """Layer 0's attention equals a single causal softmax over q/k/v that each token took from
    its own expert, and a text token's output moves when only the image changes."""
    model_id = "cogvlm-17b-224-tiny"
    model = loaded(model_id).model
    attn = model.language_model.layers[0].self_attn
    inputs = encode(model_id, few_prompt_ids(1))
    captured = []
    hook = attn.register_forward_hook(lambda m, a, o: captured.append((a[0], a[1], o)))
    with torch.no_grad():
        model(**inputs, use_cache=False)
        other = dict(inputs, pixel_values=torch.flip(inputs["pixel_values"], dims=[-1]))
        model(**other, use_cache=False)
    hook.remove()
    (hidden, layer_inputs, out), (_, _, out_other) = captured
    expert = layer_inputs.expert_mask[0]
    qkv = torch.where(expert[:, None], attn.vision_expert_qkv(hidden[0]), attn.language_expert_qkv(hidden[0]))
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    length, heads, dim = hidden.shape[1], attn.num_heads, attn.head_dim
    q, k, v = (t.view(length, heads, dim).transpose(0, 1)[None] for t in qkv.split(attn.hidden_size, -1))
    q, k = apply_rotary_pos_emb(q, k, *layer_inputs.position_embeddings)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(dim)
    scores = scores.masked_fill(torch.ones(length, length, dtype=torch.bool).triu(1), float("-inf"))
    context = (scores.softmax(-1) @ v)[0].transpose(0, 1).reshape(length, -1)
    reference = torch.where(expert[:, None], attn.vision_expert_dense(context), attn.language_expert_dense(context))
    assert torch.allclose(out[0], reference, atol=1e-5)
    last_text = -1  # the final prompt token is text; it attends over the image through the same softmax
    assert not torch.allclose(out[0, last_text], out_other[0, last_text])
    assert torch.allclose(out[0, 0], out_other[0, 0], atol=1e-6)  # BOS precedes the image: unaffected


# --- compressed rotary positions ----------------------------------------------------------------

def public_rule_positions(image: list[int]) -> list[int]:
    """THUDM/CogVLM language.py: pid advances unless the token is a patch continuing a patch run
    (image_rope_mask = the patches, BOI/EOI excluded)."""
    n = len(image)
    patch = [bool(image[i]) and 0 < i < n - 1 and bool(image[i - 1]) and bool(image[i + 1]) for i in range(n)]
    positions, pid = [], -1
    for i in range(n):
        if not patch[i] or (i > 0 and patch[i] != patch[i - 1]):
            pid += 1
        positions.append(pid)
    return positions


def test_compressed_positions_follow_the_public_rule():
    image = [0, 1, 1, 1, 1, 1, 0, 0, 0]  # BOS, BOI, 3 patches, EOI, 3 text
    assert compressed_position_ids(torch.tensor([image], dtype=torch.bool)).tolist() == [[0, 1, 2, 2, 2, 3, 4, 5, 6]]
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        before, patches, after = (int(x) for x in torch.randint(1, 6, (3,), generator=generator))
        row = [0] * before + [1] * (patches + 2) + [0] * after
        got = compressed_position_ids(torch.tensor([row], dtype=torch.bool))[0].tolist()
        assert got == public_rule_positions(row)
    padded = torch.tensor([[0, 0] + image], dtype=torch.bool)
    mask = torch.tensor([[0, 0] + [1] * len(image)])
    assert compressed_position_ids(padded, mask)[0, 2:].tolist() == [0, 1, 2, 2, 2, 3, 4, 5, 6]


def test_model_uses_compressed_positions_in_prefill_and_decode():
    model_id = "cogvlm-17b-224-tiny"
    model = loaded(model_id).model
    inputs = encode(model_id, few_prompt_ids(1))
    n_prompt = inputs["input_ids"].shape[1]
    n_text = n_prompt - int((inputs["input_ids"] == model.config.image_token_id).sum())
    seen = []
    hook = model.language_model.rotary_emb.register_forward_hook(lambda m, a, o: seen.append(a[1].clone()))
    generate(model_id, inputs)
    hook.remove()
    prefill = seen[0][0].tolist()
    assert len(prefill) == n_prompt and prefill[-1] == n_text + 3 - 1  # the image occupies 3 positions
    assert len(set(prefill)) == n_text + 3
    assert [s[0].tolist() for s in seen[1:]] == [[prefill[-1] + k] for k in range(1, N_NEW)]


# --- generation: cache, batch, CogAgent's cross-attention ----------------------------------------

@pytest.mark.parametrize("model_id", ["cogvlm-17b-224-tiny", "cogagent-18b-tiny"])
def test_batch_of_two_with_left_padding_matches_single_requests(model_id):
    prompts = few_prompt_ids(3)[1:3]
    batch = encode(model_id, prompts)
    padded_rows = [i for i in range(2) if (batch["attention_mask"][i] == 0).any()]
    assert len(padded_rows) == 1  # the two prompts differ in length: one row is left-padded
    steps = dict(output_logits=True, return_dict_in_generate=True)
    batched = generate(model_id, batch, **steps)
    rows = [0, 1] if model_id.startswith("cogvlm") else padded_rows  # CogAgent: its 1120 px encoder is slow
    for row in rows:
        single = generate(model_id, encode(model_id, [prompts[row]]), **steps)
        assert batched.sequences[row, -N_NEW:].tolist() == single.sequences[0, -N_NEW:].tolist()
        for a, b in zip(batched.logits, single.logits, strict=True):
            assert torch.allclose(a[row], b[0], atol=1e-4, rtol=0)


def test_cached_generation_equals_full_recomputation():
    """KV cache + the position offset carried in RequestState give the logits that recomputing
    the whole sequence (image included) at every step gives."""
    inputs = encode("cogvlm-17b-224-tiny", few_prompt_ids(1))
    steps = dict(output_logits=True, return_dict_in_generate=True)
    cached = generate("cogvlm-17b-224-tiny", inputs, **steps)
    full = generate("cogvlm-17b-224-tiny", inputs, use_cache=False, **steps)
    assert torch.equal(cached.sequences, full.sequences)
    for a, b in zip(cached.logits, full.logits, strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=0)


def test_cogagent_cross_keys_values_once_per_request_and_not_in_sequence():
    model_id = "cogagent-18b-tiny"
    model = loaded(model_id).model
    layers = model.language_model.layers
    modules = {f"{i}.kv": layer.cross_attn.key_value for i, layer in enumerate(layers)}
    modules.update({f"{i}.q": layer.cross_attn.query for i, layer in enumerate(layers)})
    modules["high_res"] = model.cross_vision
    calls, handles = count_rows(modules)
    inputs = encode(model_id, few_prompt_ids(1))
    n_prompt = inputs["input_ids"].shape[1]
    n_text = int((inputs["input_ids"] != model.config.image_token_id).sum())
    n_new = 4
    out = generate(model_id, inputs, n=n_new)
    generate(model_id, encode(model_id, few_prompt_ids(2)[1:]), n=n_new)  # a new request: new keys/values
    for h in handles:
        h.remove()
    assert n_prompt == n_text + 258 and out.shape[1] == n_prompt + n_new  # high-res tokens are not in it
    for i in range(len(layers)):
        assert len(calls[f"{i}.kv"]) == 2 and calls[f"{i}.kv"][0] == 6400  # once per request, 6400 positions
        assert len(calls[f"{i}.q"]) == 2 * n_new  # the queries run at every step
        assert calls[f"{i}.q"][:n_new] == [n_prompt] + [1] * (n_new - 1)
    assert len(calls["high_res"]) == 2


# --- the full runner ------------------------------------------------------------------------------

@pytest.mark.slow  # end-to-end (issue 20 item 9)
def test_tiny_variants_through_the_runner(tmp_path):
    from vlmbench.config import RunConfig
    from vlmbench.results.reader import read_rows
    from vlmbench.runner import run_benchmark

    result = run_benchmark(RunConfig(models=list(TINY), max_new_tokens=N_NEW, repeats=1, warmup=0,
                                     prompts=few_prompt_ids(1), out=tmp_path, progress=False))
    rows = read_rows(result.requests_csv)
    assert sorted(r["model_id"] for r in rows) == sorted(TINY)
    for r in rows:
        assert r["status"] == "ok", r["error"]
        assert r["n_output_tokens"] == N_NEW
        assert r["n_image_tokens"] == get(r["model_id"]).visual_tokens
        assert r["vision_ms"] > 0 and r["vision_ms"] + r["prefill_ms"] <= r["ttft_ms"] + 1e-3
