"""The H-Former: HPT's projector between the vision tower and the LLM.

What is known (HyperGAI's hub code and configs, read for HPT 1.0 Air, 1.5 Air and 1.5 Edge):

- ``projector/config.json`` of HyperGAI/HPT: ``HformerModel`` with ``num_query_token`` 32,
  ``cross_attention_freq`` 2, ``bert`` "bert-base-uncased" (a BLIP-2 style Q-Former: 12 BERT-base
  layers, 768 wide, cross-attention into the vision features in every 2nd layer),
  ``visual_hidden_size`` 1024, ``llm_hidden_size`` 4096;
- the projector module imports both that Q-Former and an xtuner ``ProjectorModel`` (an MLP from
  the vision width to the LLM width), i.e. a second, per-patch path;
- HPT 1.5 (Air and Edge) add ``fuse_modules.BiAttentionBlock``, a GLIP-style cross-attention
  whose projections (``v_proj``, ``l_proj``, ``values_l_proj``, ``out_v_proj``) update the
  *visual* stream from the *query* stream.

What is assumed (the forward pass is not public in any form we could read):

- the H-Former emits the 32 query tokens followed by every patch token (the MLP path), so the
  LLM sees ``32 + patches`` visual positions. Reasons: the MLP maps patches to the LLM width,
  which only makes sense if they reach the LLM; the 1.5 fusion updates the patch stream, which
  again only makes sense if it is emitted; and the chosen resolutions (588/448/490) matter for
  speed only through the LLM's token count. It is the upper of the two readings (the other being
  32 tokens); entries built on it are marked ``assumed_shapes``;
- the query tokens reach the LLM width through one Linear(768 -> d) (BLIP-2's ``llm_proj``);
- the Q-Former reads LayerNorm'd vision features (BLIP-2's ``ln_vision``); the MLP reads them raw;
- the 1.5 fusion runs at the LLM width on both streams with ``fusion_embed_dim``/``fusion_num_heads``
  (GLIP's defaults, 2048 and 8) and a layer-scale residual on the patch stream only.

Only the parts that run on images are built: the hub checkpoint also stores BERT's text side
(word embeddings, text feed-forwards, LM head; ~80M parameters), which never runs for images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import Blip2QFormerConfig, Blip2QFormerModel


class PatchQueryFusion(nn.Module):
    """Patch tokens attend to the query tokens; the result is added back with a layer scale.

    Mirrors the projections of HPT 1.5's ``BiAttentionBlock`` (q from the patch stream, k and v
    from the query stream, output back to the patch width); only the patch stream is updated.
    """

    def __init__(self, width: int, embed_dim: int, num_heads: int, layer_scale_init: float = 1e-4) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"fusion embed_dim {embed_dim} is not a multiple of num_heads {num_heads}")
        self.num_heads = num_heads
        self.norm_patches = nn.LayerNorm(width)
        self.norm_queries = nn.LayerNorm(width)
        self.q_proj = nn.Linear(width, embed_dim)
        self.k_proj = nn.Linear(width, embed_dim)
        self.v_proj = nn.Linear(width, embed_dim)
        self.out_proj = nn.Linear(embed_dim, width)
        self.layer_scale = nn.Parameter(torch.full((width,), layer_scale_init))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, -1).transpose(1, 2)

    def forward(self, patches: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        p = self.norm_patches(patches)
        q = self.norm_queries(queries)
        attended = F.scaled_dot_product_attention(
            self._heads(self.q_proj(p)), self._heads(self.k_proj(q)), self._heads(self.v_proj(q))
        )
        attended = attended.transpose(1, 2).reshape(patches.shape[0], patches.shape[1], -1)
        return patches + self.layer_scale * self.out_proj(attended)


class HFormer(nn.Module):
    """Q-Former path (learned queries) + MLP path (every patch) [+ fusion] -> LLM-width tokens.

    ``forward(patches)`` takes vision features (images, patches, vision width) and returns
    (images, num_query_tokens + patches, llm width): the query tokens first, then the patches.
    """

    def __init__(self, vision_width: int, llm_width: int, qformer_config: Blip2QFormerConfig,
                 num_query_tokens: int = 32, fusion_embed_dim: int | None = None,
                 fusion_num_heads: int = 8) -> None:
        super().__init__()
        if qformer_config.encoder_hidden_size != vision_width:
            raise ValueError("the Q-Former must cross-attend into the vision width")
        self.ln_vision = nn.LayerNorm(vision_width)
        self.query_tokens = nn.Parameter(torch.zeros(1, num_query_tokens, qformer_config.hidden_size))
        self.qformer = Blip2QFormerModel(qformer_config)
        self.query_projection = nn.Linear(qformer_config.hidden_size, llm_width)
        self.patch_projection = nn.Sequential(
            nn.Linear(vision_width, llm_width), nn.GELU(), nn.Linear(llm_width, llm_width)
        )
        self.fusion = (PatchQueryFusion(llm_width, fusion_embed_dim, fusion_num_heads)
                       if fusion_embed_dim else None)

    @property
    def num_query_tokens(self) -> int:
        return self.query_tokens.shape[1]

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        queries = self.query_tokens.expand(patches.shape[0], -1, -1).to(patches.dtype)
        query_states = self.qformer(
            query_embeds=queries, encoder_hidden_states=self.ln_vision(patches)
        ).last_hidden_state
        query_tokens = self.query_projection(query_states)
        patch_tokens = self.patch_projection(patches)
        if self.fusion is not None:
            patch_tokens = self.fusion(patch_tokens, query_tokens)
        return torch.cat([query_tokens, patch_tokens], dim=1)
