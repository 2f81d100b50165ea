"""transformers' Mllama (Llama 3.2 Vision) with the decode-traffic facts the roofline asks of an
architecture with cross-attention (``metrics/roofline.py``); the forward pass is transformers' own.

A decode step of Mllama runs its self-attention layers on the text cache and its cross-attention
layers on the image keys and values cached at prefill: those layers' K/V projections are not run
again, and every step reads the cached image K/V (per image: tiles x (patches + CLS) rows, the
processor always padding to ``max_num_tiles`` tiles).
"""

from __future__ import annotations

import torch
from transformers import MllamaForConditionalGeneration


def cross_kv_rows(config) -> int:
    """Image K/V rows one image puts in each cross-attention layer's cache: tiles x (patches + CLS),
    the processor always padding to ``max_num_tiles`` tiles (the ViT's padding to a multiple of 8 is cut
    off before the projector)."""
    vision = config.vision_config
    return vision.max_num_tiles * ((vision.image_size // vision.patch_size) ** 2 + 1)


class MllamaForBenchmark(MllamaForConditionalGeneration):
    @staticmethod
    def kv_cache_layout(config) -> tuple[int, int, int]:
        """(layers whose cache grows with the text, cross-attention layers, image K/V rows each of those
        holds per image): the memory estimate's KV term (``catalog/memory.py``)."""
        text = config.text_config
        cross = len(text.cross_attention_layers)
        return text.num_hidden_layers - cross, cross, cross_kv_rows(config)

    def _cross_layers(self) -> list[torch.nn.Module]:
        text = self.config.text_config
        return [self.model.language_model.layers[i] for i in text.cross_attention_layers]

    def decode_unread_modules(self) -> list[torch.nn.Module]:
        """The cross-attention K/V projections (run once, on the image, at prefill)."""
        return [m for layer in self._cross_layers() for m in (layer.cross_attn.k_proj, layer.cross_attn.v_proj)]

    def decode_self_attention_layers(self) -> int:
        """Layers whose cache grows with the text (the others hold the image's K/V)."""
        return self.kv_cache_layout(self.config)[0]

    def decode_cross_kv_bytes(self) -> float:
        """Cached image K/V every decode step reads, one image: cross layers x 2 (K, V) x tiles x
        (patches + CLS) x KV heads x head dim x bytes per element."""
        text = self.config.text_config
        _, cross, rows = self.kv_cache_layout(self.config)
        head_dim = text.hidden_size // text.num_attention_heads
        proj = self._cross_layers()[0].cross_attn.k_proj.weight
        return float(cross * 2 * rows * text.num_key_value_heads * head_dim * proj.element_size())
