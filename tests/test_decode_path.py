"""What a request costs through vlmbench's in-process path (HFBackend.measure -> transformers' generate):
the vision tower and the 3D (mRoPE) position index run once, at prefill; every decode step feeds the
language model one token against the growing cache. A regression here (the image re-encoded or the
positions recomputed every step, the cache dropped) multiplies TPOT by the prompt length while the
tokens stay right, so it is checked by counting the real modules' calls, not by timing.
"""

from __future__ import annotations

import pytest
import torch

from vlmbench.backends.base import ModelSpec
from vlmbench.backends.hf.backend import HFBackend
from vlmbench.config import RunConfig
from vlmbench.promptset import load_promptset

pytestmark = pytest.mark.slow  # real tiny models through the backend and generate
N_OUT = 4
PROMPT = "chart-bar-640x480"


@pytest.mark.parametrize("model_id", ["qwen2.5-vl-3b-tiny", "glm-4.1v-9b-tiny"])
def test_vision_and_positions_run_once_and_each_decode_step_is_one_cached_token(model_id):
    config = RunConfig(models=[model_id], prompts=[PROMPT], max_new_tokens=N_OUT)
    backend = HFBackend(config, ModelSpec(model_id, "random"))
    backend.load()
    try:
        model = backend.loaded.model
        vision_calls, lm_calls, rope_calls = [], [], []
        hooks = [
            model.model.visual.register_forward_hook(lambda m, a, out: vision_calls.append(1)),
            model.model.language_model.register_forward_pre_hook(
                lambda m, args, kwargs: lm_calls.append((kwargs["inputs_embeds"].shape[1],
                                                         kwargs["cache"].get_seq_length())),
                with_kwargs=True),
        ]
        real_rope_index = model.model.get_rope_index

        def counted_rope_index(*args, **kwargs):
            rope_calls.append(1)
            return real_rope_index(*args, **kwargs)

        model.model.get_rope_index = counted_rope_index
        item = load_promptset(ids=[PROMPT]).items[0]
        try:
            (row,) = backend.measure([item], N_OUT)
        finally:
            for h in hooks:
                h.remove()
            del model.model.get_rope_index
        assert row["n_output_tokens"] == N_OUT
        assert len(vision_calls) == 1 and len(rope_calls) == 1
        prompt = row["n_prompt_tokens"]
        assert lm_calls == [(prompt, 0)] + [(1, prompt + i) for i in range(N_OUT - 1)]
    finally:
        backend.close()
