"""PaLI-3: SigLIP image encoder -> linear projection -> UL2 encoder-decoder (T5 layout).

Published (Chen et al. 2023, "PaLI-3 Vision Language Models"): the ViT's output tokens (before
pooling) are linearly projected and prepended to the embedded prompt; image tokens and prompt
go through the encoder of a 3B UL2 encoder-decoder, whose decoder generates the text. No
weights or code were released; the shapes an entry uses are stated there.

Built from transformers blocks: ``SiglipVisionModel`` (no pooling head), ``nn.Linear`` to the
encoder width, ``T5ForConditionalGeneration`` (UL2 is a T5 v1.1 layout). ``generate()`` is
transformers' encoder-decoder generation: the multimodal encoder (``get_encoder()``) runs once,
before the streamer receives the decoder start token; the decoder then generates with its
self-attention KV cache, and the cross-attention K/V of the encoder output are computed on the
first decoder step and reused (``EncoderDecoderCache``).

Timing consequence (stated for readers of the rows): the streamer's prompt mark comes after the
vision tower *and* the text encoder have run, so ``prefill_ms`` covers the first decoder step
only; the encoder's time is inside ``ttft_ms`` (and ``vision_ms`` covers the image part).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn
from transformers import AutoModel, GenerationMixin, PretrainedConfig, PreTrainedModel, T5ForConditionalGeneration
from transformers.modeling_outputs import BaseModelOutput


class PaLI3Config(PretrainedConfig):
    """``vision_config`` (SigLIP vision), ``text_config`` (T5 encoder-decoder), ``image_token_id``.

    Fields are set in ``__init__`` (no annotated class attributes: transformers 5.24 turns
    config subclasses into dataclasses).
    """

    model_type = "vlmbench_pali3"

    def __init__(self, vision_config: Optional[PretrainedConfig] = None,
                 text_config: Optional[PretrainedConfig] = None, image_token_id: int = 3,
                 **kwargs: Any) -> None:
        self.vision_config = vision_config
        self.text_config = text_config
        self.image_token_id = image_token_id
        kwargs["is_encoder_decoder"] = True
        super().__init__(**kwargs)

    def get_text_config(self, *args: Any, **kwargs: Any) -> PretrainedConfig:
        return self.text_config if self.text_config is not None else self

    def visual_tokens(self) -> int:
        v = self.vision_config
        return (v.image_size // v.patch_size) ** 2


class PaLI3MultimodalEncoder:
    """What ``get_encoder()`` returns: image tokens spliced into the prompt, then the T5 encoder.

    A view over the model's modules (not a registered module, so no parameter is counted twice).
    ``generate()`` calls it once with the processor outputs and keeps its output for every
    decoder step.
    """

    main_input_name = "input_ids"

    def __init__(self, model: "PaLI3ForConditionalGeneration") -> None:
        self.model = model

    def __call__(self, *args: Any, **kwargs: Any) -> BaseModelOutput:
        return self.forward(*args, **kwargs)

    def forward(self, input_ids: torch.LongTensor, attention_mask: Optional[torch.Tensor] = None,
                pixel_values: Optional[torch.Tensor] = None, **kwargs: Any) -> BaseModelOutput:
        return self.model.encode(input_ids, attention_mask, pixel_values)


class PaLI3ForConditionalGeneration(PreTrainedModel, GenerationMixin):
    config_class = PaLI3Config
    base_model_prefix = ""
    main_input_name = "input_ids"
    input_modalities = ("image", "text")
    _supports_sdpa = True
    _supports_attention_backend = True

    def __init__(self, config: PaLI3Config) -> None:
        super().__init__(config)
        text = config.text_config
        self.vision_tower = AutoModel.from_config(config.vision_config)
        self.multi_modal_projector = nn.Linear(config.vision_config.hidden_size, text.d_model)
        self.language_model = T5ForConditionalGeneration._from_config(text)
        self.post_init()
        # transformers' no_init_weights() also skips weight tying; tie explicitly so the
        # T5 input/output embeddings are one tensor when text.tie_word_embeddings is set.
        self.tie_weights()
        # T5 starts decoding from the pad token.
        if self.generation_config is not None:
            self.generation_config.decoder_start_token_id = text.pad_token_id

    # --- plumbing expected by transformers ------------------------------------------------
    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.language_model.get_output_embeddings()

    def get_encoder(self, *args: Any, **kwargs: Any) -> PaLI3MultimodalEncoder:
        return PaLI3MultimodalEncoder(self)

    def get_decoder(self) -> nn.Module:
        return self.language_model.get_decoder()

    def decode_unread_modules(self) -> list[nn.Module]:
        """What a decode step does not run (for the roofline, metrics/roofline.py): the text encoder
        (once per request) and the decoder's cross-attention K/V projections (computed from the
        encoder output at the first decoder step and cached, ``EncoderDecoderCache``)."""
        decoder = self.language_model.get_decoder()
        return [self.language_model.get_encoder()] + [
            m for block in decoder.block for m in (block.layer[1].EncDecAttention.k, block.layer[1].EncDecAttention.v)]

    # --- the encoder side -------------------------------------------------------------------
    def image_tokens(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(images, 256 @224, encoder width): SigLIP's last hidden state, projected."""
        features = self.vision_tower(pixel_values=pixel_values).last_hidden_state
        return self.multi_modal_projector(features)

    def encode(self, input_ids: torch.LongTensor, attention_mask: Optional[torch.Tensor],
               pixel_values: Optional[torch.Tensor]) -> BaseModelOutput:
        """Embed the prompt, put the image tokens at the placeholders, run the T5 encoder."""
        embeds = self.get_input_embeddings()(input_ids)
        if pixel_values is not None:
            image = self.image_tokens(pixel_values).to(embeds.dtype)
            mask = input_ids == self.config.image_token_id
            if int(mask.sum()) != image.shape[0] * image.shape[1]:
                raise ValueError(
                    f"image placeholders ({int(mask.sum())}) and image tokens "
                    f"({image.shape[0]} x {image.shape[1]}) do not match"
                )
            embeds = embeds.masked_scatter(mask.unsqueeze(-1).expand_as(embeds), image.reshape(-1, embeds.shape[-1]))
        encoder = self.language_model.get_encoder()
        return encoder(inputs_embeds=embeds, attention_mask=attention_mask, return_dict=True)

    def forward(
        self,
        input_ids: Optional[torch.LongTensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
        pixel_values: Optional[torch.Tensor] = None,
        decoder_input_ids: Optional[torch.LongTensor] = None,
        decoder_attention_mask: Optional[torch.Tensor] = None,
        encoder_outputs: Optional[BaseModelOutput] = None,
        **kwargs: Any,
    ):
        if encoder_outputs is None:
            encoder_outputs = self.encode(input_ids, attention_mask, pixel_values)
        return self.language_model(
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            decoder_attention_mask=decoder_attention_mask,
            encoder_outputs=encoder_outputs,
            **kwargs,
        )
