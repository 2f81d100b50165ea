"""Glue for VLMs of the form: vision pipeline -> visual embeddings spliced into a causal LM.

``VisionLanguageForCausalLM`` owns two modules:

- ``vision``: any ``nn.Module`` mapping ``pixel_values`` (plus optional extra image inputs)
  to visual embeddings of shape (images, tokens, text hidden size), projector included;
- ``language_model``: a transformers ``*ForCausalLM`` (or anything with the same call
  signature: ``inputs_embeds``, ``attention_mask``, ``position_ids``, cache kwargs).

The prompt carries one placeholder token (``config.image_token_id``) per visual embedding;
the embeddings replace the placeholders (as in LLaVA), so the LLM sees exactly as many image
positions as the real system. ``generate()`` comes from transformers' ``GenerationMixin``:
KV cache, greedy decoding and streamers behave as for native models. Image inputs are
used on the prefill step only.

Subclasses set ``config_class`` and build ``vision``/``language_model`` in ``__init__``
(see ``build``), and list their extra image inputs in ``image_input_names``.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel

# Names a vision pipeline may take besides pixel_values; dropped after prefill.
DEFAULT_IMAGE_INPUTS = ("pixel_values",)


class VisionLanguageConfig(PretrainedConfig):
    """Base config: ``text_config`` (a transformers config of the LLM) + ``image_token_id``.

    Subclasses add their vision fields and set ``model_type``.
    """

    model_type = "vlmbench_vision_language"

    def __init__(self, text_config: Optional[PretrainedConfig] = None, image_token_id: int = 3,
                 **kwargs: Any) -> None:
        self.text_config = text_config
        self.image_token_id = image_token_id
        super().__init__(**kwargs)

    def get_text_config(self, *args: Any, **kwargs: Any) -> PretrainedConfig:
        return self.text_config if self.text_config is not None else self


class VisionLanguageForCausalLM(PreTrainedModel, GenerationMixin):
    config_class = VisionLanguageConfig
    base_model_prefix = ""
    main_input_name = "input_ids"
    input_modalities = ("image", "text")
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    image_input_names: tuple[str, ...] = DEFAULT_IMAGE_INPUTS

    def __init__(self, config: VisionLanguageConfig) -> None:
        super().__init__(config)
        self.vision: nn.Module
        self.language_model: PreTrainedModel

    def build(self, vision: nn.Module, language_model: PreTrainedModel) -> None:
        """Attach the two halves; call from the subclass ``__init__``, then ``post_init()``."""
        self.vision = vision
        self.language_model = language_model

    # --- embeddings plumbing expected by transformers -------------------------------------
    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self) -> Optional[nn.Module]:
        return self.language_model.get_output_embeddings()

    # --- the vision half ------------------------------------------------------------------
    def encode_images(self, **image_inputs: torch.Tensor) -> torch.Tensor:
        """Visual embeddings (images, tokens, hidden). Subclasses may override."""
        return self.vision(**image_inputs)

    def merge(self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor,
              image_embeds: torch.Tensor) -> torch.Tensor:
        mask = input_ids == self.config.image_token_id
        n_slots = int(mask.sum())
        if n_slots != image_embeds.shape[0] * image_embeds.shape[1]:
            raise ValueError(
                f"image placeholders ({n_slots}) and visual embeddings "
                f"({image_embeds.shape[0]} x {image_embeds.shape[1]}) do not match"
            )
        image_embeds = image_embeds.to(inputs_embeds.dtype).reshape(-1, inputs_embeds.shape[-1])
        return inputs_embeds.masked_scatter(mask.unsqueeze(-1).expand_as(inputs_embeds), image_embeds)

    def forward(
        self,
        input_ids: Optional[torch.LongTensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        position_ids: Optional[torch.LongTensor] = None,
        inputs_embeds: Optional[torch.Tensor] = None,
        pixel_values: Optional[torch.Tensor] = None,
        logits_to_keep: Any = 0,
        **kwargs: Any,
    ):
        """``logits_to_keep`` is declared so that ``generate()`` passes 1 and the LM head runs on
        the last position only, as in native models (otherwise prefill computes logits for every
        prompt position, inflating TTFT and memory)."""
        kwargs["pixel_values"] = pixel_values
        kwargs["logits_to_keep"] = logits_to_keep
        image_inputs = {k: kwargs.pop(k) for k in self.image_input_names if kwargs.get(k) is not None}
        kwargs.pop("pixel_values", None)
        if not kwargs.get("logits_to_keep"):
            kwargs.pop("logits_to_keep", None)
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
            if image_inputs and "pixel_values" in image_inputs and input_ids.shape[1] > 1:
                image_embeds = self.encode_images(**image_inputs)
                inputs_embeds = self.merge(input_ids, inputs_embeds, image_embeds)
        for unused in ("token_type_ids", "mm_token_type_ids"):
            kwargs.pop(unused, None)
        return self.language_model(
            inputs_embeds=inputs_embeds, attention_mask=attention_mask, position_ids=position_ids, **kwargs
        )

    def _validate_model_kwargs(self, model_kwargs: dict[str, Any]) -> None:
        """Image inputs are consumed by ``forward`` through ``**kwargs``; let them through."""
        rest = {k: v for k, v in model_kwargs.items() if k not in self.image_input_names}
        super()._validate_model_kwargs(rest)

    def prepare_inputs_for_generation(self, input_ids: torch.LongTensor, **kwargs: Any) -> dict[str, Any]:
        image_inputs = {k: kwargs.pop(k, None) for k in self.image_input_names}
        model_inputs = super().prepare_inputs_for_generation(input_ids, **kwargs)
        cache = model_inputs.get("cache", model_inputs.get("past_key_values"))
        prefill = cache is None or cache.get_seq_length() == 0
        if prefill:
            model_inputs.update({k: v for k, v in image_inputs.items() if v is not None})
        else:
            for k in self.image_input_names:
                model_inputs.pop(k, None)
        return model_inputs
