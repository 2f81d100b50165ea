"""EVA02-CLIP-L/14, CogAgent's high-resolution encoder (run at 1120 px -> 80 x 80 patches).

Facts (seed-architectures.md "EVA02-CLIP-L/14" and "CogAgent-18B"; read in
THUDM/cogagent-chat-hf ``cross_visual.py`` and THUDM/CogVLM ``utils/models/eva_clip_L_hf.py``,
``Eva2LargeEncoder`` config: width 1024, 24 layers, head width 64, mlp_ratio 2.6667, patch 14,
rope, intp_freq, naiveswiglu, subln, qkv_bias):

- patch embedding Conv2d(3 -> 1024, 14, 14, bias), CLS token, learned absolute positions for
  CLS + patches (6401 at 1120 px);
- 24 pre-norm blocks (LayerNorm eps 1e-6): ``x = x + attn(norm1(x)); x = x + mlp(norm2(x))``;
- attention: separate q/k/v Linear(1024 -> 1024), q and v biased, k not; 2-D rotary position
  embedding on q and k of the patch tokens (CLS untouched); an inner LayerNorm on the
  attention output before the output projection (sub-LN); 16 heads of 64;
- MLP: SwiGLU ``w3(LN(silu(w1 x) * w2 x))`` with hidden int(1024 * 2.6667) = 2730, biased,
  inner LayerNorm (sub-LN); 12,602,024 parameters per block;
- 2-D rotary: per axis, frequencies 1 / 10000^(2i / 32) (i < 16) at coordinates
  t = arange(80) / 80 * 16 (interpolated to the 16 x 16 pre-training grid), each frequency
  repeated for an adjacent pair of channels; the first 32 channels of a head rotate with the
  patch row, the last 32 with its column; pairs rotate as (x0, x1) -> (-x1, x0);
- the forward loop SKIPS THE LAST BLOCK (``if i == len(self.blocks) - 1: continue``): 23 of
  the 24 built blocks run; output = every patch token after that (CLS dropped), no final norm.
  The final norm and the 768-wide CLIP head exist in the checkpoint but never run; they are
  not built here (the fact sheet's count excludes them).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PretrainedConfig


class EVA02VisionConfig(PretrainedConfig):
    """Shapes of EVA02-CLIP-L/14 (defaults: CogAgent's high-resolution encoder at 1120 px)."""

    model_type = "vlmbench_eva02_clip"

    def __init__(self, hidden_size: int = 1024, intermediate_size: int = 2730,
                 num_hidden_layers: int = 24, num_attention_heads: int = 16, image_size: int = 1120,
                 patch_size: int = 14, num_channels: int = 3, layer_norm_eps: float = 1e-6,
                 rope_theta: float = 10000.0, rope_pretrain_grid: int = 16,
                 layers_run: Optional[int] = None, **kwargs: Any) -> None:
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.image_size = image_size
        self.patch_size = patch_size
        self.num_channels = num_channels
        self.layer_norm_eps = layer_norm_eps
        self.rope_theta = rope_theta
        self.rope_pretrain_grid = rope_pretrain_grid
        # The public forward skips the last block; None keeps that rule.
        self.layers_run = num_hidden_layers - 1 if layers_run is None else layers_run
        super().__init__(**kwargs)

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid ** 2


def rotary_2d_tables(head_dim: int, grid: int, pretrain_grid: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables (grid * grid, head_dim) for the patches in row-major order (float32)."""
    axis_dim = head_dim // 2
    exponents = torch.arange(0, axis_dim, 2, dtype=torch.float32)[: axis_dim // 2] / axis_dim
    inv_freq = 1.0 / (theta ** exponents)
    coords = torch.arange(grid, dtype=torch.float32) / grid * pretrain_grid
    angles = torch.outer(coords, inv_freq).repeat_interleave(2, dim=-1)  # (grid, axis_dim)
    rows = angles[:, None, :].expand(grid, grid, axis_dim)
    cols = angles[None, :, :].expand(grid, grid, axis_dim)
    table = torch.cat((rows, cols), dim=-1).reshape(grid * grid, head_dim)
    return table.cos(), table.sin()


def rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): adjacent channels form a rotation pair."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)


class EVA02Rotary2D(nn.Module):
    """Applies the 2-D rotary embedding to the patch positions (index 1:) of q or k."""

    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        head_dim = config.hidden_size // config.num_attention_heads
        cos, sin = rotary_2d_tables(head_dim, config.grid, config.rope_pretrain_grid, config.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls, patches = x[..., :1, :], x[..., 1:, :].float()
        rotated = patches * self.cos + rotate_pairs(patches) * self.sin
        return torch.cat((cls, rotated.to(x.dtype)), dim=-2)


class EVA02Attention(nn.Module):
    """q/k/v projections (k without bias), 2-D rotary on patches, inner LayerNorm, output proj."""

    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        width = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.q_proj = nn.Linear(width, width, bias=True)
        self.k_proj = nn.Linear(width, width, bias=False)
        self.v_proj = nn.Linear(width, width, bias=True)
        self.inner_attn_ln = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.proj = nn.Linear(width, width)

    def forward(self, hidden_states: torch.Tensor, rotary: EVA02Rotary2D) -> torch.Tensor:
        batch, length, width = hidden_states.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.num_heads, -1).transpose(1, 2)

        query = rotary(heads(self.q_proj(hidden_states)))
        key = rotary(heads(self.k_proj(hidden_states)))
        context = F.scaled_dot_product_attention(query, key, heads(self.v_proj(hidden_states)))
        context = context.transpose(1, 2).reshape(batch, length, width)
        return self.proj(self.inner_attn_ln(context))


class EVA02SwiGLU(nn.Module):
    """``w3(LN(silu(w1 x) * w2 x))``, biased, with the inner (sub-)LayerNorm."""

    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.w2 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_ln = nn.LayerNorm(config.intermediate_size, eps=config.layer_norm_eps)
        self.w3 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w3(self.ffn_ln(F.silu(self.w1(x)) * self.w2(x)))


class EVA02Block(nn.Module):
    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attn = EVA02Attention(config)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = EVA02SwiGLU(config)

    def forward(self, x: torch.Tensor, rotary: EVA02Rotary2D) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rotary)
        return x + self.mlp(self.norm2(x))


class EVA02Encoder(nn.Module):
    """Patch tokens (images, patches, width) after ``config.layers_run`` blocks, CLS dropped."""

    def __init__(self, config: EVA02VisionConfig) -> None:
        super().__init__()
        self.config = config
        width = config.hidden_size
        self.patch_embed = nn.Conv2d(config.num_channels, width, kernel_size=config.patch_size,
                                     stride=config.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, config.num_patches + 1, width))
        self.rotary = EVA02Rotary2D(config)
        self.blocks = nn.ModuleList(EVA02Block(config) for _ in range(config.num_hidden_layers))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embed(pixel_values.to(self.patch_embed.weight.dtype)).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(patches.shape[0], -1, -1), patches), dim=1) + self.pos_embed
        for block in self.blocks[: self.config.layers_run]:
            x = block(x, self.rotary)
        return x[:, 1:]
