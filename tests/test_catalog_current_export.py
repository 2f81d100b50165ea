"""The engine model-folder export for today's VLMs (issue 24 item 6): the folder written for each family vLLM
serves loads back as a transformers config and processor, and its processor counts the same image tokens as the
stand-in processor the in-process path uses."""

from __future__ import annotations

import pytest
from PIL import Image

from vlmbench.catalog import get
from vlmbench.engines.export import EXPORTS, export_folder
from vlmbench.engines.vllm import VLLM

# One entry per family vLLM serves (Llama 3.2 Vision: dropped after vLLM 0.10.2).
SERVED = ("qwen2.5-vl-7b", "qwen3-vl-2b", "qwen3-vl-30b-a3b", "gemma-3-4b", "internvl3.5-1b", "smolvlm2-256m", "smolvlm-256m",
          "llava-onevision-0.5b", "mistral-small-3.1-24b", "pixtral-12b", "glm-4.1v-9b")


@pytest.mark.parametrize("model_id", SERVED)
def test_export_folder_loads_as_a_transformers_config_and_processor(model_id, tmp_path):
    from transformers import AutoConfig, AutoProcessor

    entry = get(model_id)
    engine = VLLM()
    config = entry.build_config()
    assert config.model_type in engine.model_types and config.model_type in EXPORTS
    folder = export_folder(entry, tmp_path, engine, "cuda")
    loaded = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    assert type(loaded) is type(config)
    assert loaded.architectures == [entry.model_class.__name__]
    assert loaded.get_text_config().hidden_size == config.get_text_config().hidden_size
    processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
    image = Image.new("RGB", (640, 480), (90, 140, 200))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[image], text=[text], return_tensors="pt")
    assert int((inputs["input_ids"] == loaded.image_token_id).sum()) == entry.image_tokens(640, 480)


def test_llama_vision_is_not_served_by_vllm():
    assert get("llama-3.2-11b-vision").build_config().model_type not in VLLM().model_types
