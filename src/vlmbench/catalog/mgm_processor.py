"""MGM's stand-in processor: the authors' image preprocessing and the vicuna_v1 conversation.

Preprocessing (dvlab-research/MGM ``mgm/serve/cli.py`` and ``mgm/mm_utils.py``
``process_images``; training scripts set ``image_aspect_ratio pad``):

1. the CLIP image processor of the low-res tower, with its resize and crop set to
   ``image_size_aux``: pad to a square with the mean colour, resize (bicubic), centre-crop,
   CLIP mean/std. This tensor is ``pixel_values_aux``: the ConvNeXt gets the CLIP
   normalisation (the open_clip ConvNeXt uses the same OpenAI mean/std, and MGM passes the
   tensor through unchanged);
2. the low-res view is that tensor resized bilinearly (``align_corners=False``) to
   336 x ``image_grid``;
3. HD (grid 2, global): the 672 view is cut into 2x2 tiles of 336 (row-major), and a global
   view is the 672 view resized to 336; ``pixel_values`` is (B, 5, 3, 336, 336), tiles first.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from vlmbench.catalog.processors import ExpandingProcessor, clip_image_processor
from vlmbench.catalog.templates import CURIOUS_USER_V1, SYSTEM_CURIOUS_USER

# MGM ``conversation.py`` conv_vicuna_v1 (sep " ", sep2 "</s>"), with its default system
# prompt: "{system} USER: <image>\n{prompt} ASSISTANT:" -- the same format as LLaVA-1.5's.
MGM_VICUNA_V1 = CURIOUS_USER_V1
MGM_VICUNA_V1_PROMPT = SYSTEM_CURIOUS_USER + " USER: <image>\n{prompt} ASSISTANT:"


class MGMImageInputs:
    """PIL images -> {"pixel_values": low-res crops, "pixel_values_aux": high-res view}."""

    def __init__(self, image_size_aux: int, image_grid: int = 1, image_global: bool = False,
                 crop_size: int = 336) -> None:
        self.image_size_aux = image_size_aux
        self.image_grid = image_grid
        self.image_global = image_global
        self.crop_size = crop_size
        self.aux_processor = clip_image_processor(image_size_aux)

    def __call__(self, images: list[Any]) -> dict[str, torch.Tensor]:
        aux = self.aux_processor(images=images, return_tensors="pt")["pixel_values"]
        grid, crop = self.image_grid, self.crop_size
        low_res = F.interpolate(aux, size=(crop * grid, crop * grid), mode="bilinear", align_corners=False)
        if grid == 1:
            return {"pixel_values": low_res, "pixel_values_aux": aux}
        batch = low_res.shape[0]
        tiles = low_res.reshape(batch, 3, grid, crop, grid, crop).permute(0, 2, 4, 1, 3, 5)
        views = [tiles.reshape(batch, grid * grid, 3, crop, crop)]
        if self.image_global:
            whole = F.interpolate(low_res, size=(crop, crop), mode="bilinear", align_corners=False)
            views.append(whole.unsqueeze(1))
        return {"pixel_values": torch.cat(views, dim=1), "pixel_values_aux": aux}


def mgm_processor(tokenizer: Any, *, visual_tokens: int, image_size_aux: int, image_grid: int = 1,
                  image_global: bool = False) -> ExpandingProcessor:
    """Expands ``<image>`` to ``visual_tokens`` placeholders (576, HD 2880) and prepares both views."""
    image_inputs = MGMImageInputs(image_size_aux, image_grid, image_global)
    return ExpandingProcessor(
        tokenizer, image_inputs=image_inputs, tokens_per_image=lambda image: visual_tokens,
        chat_template=MGM_VICUNA_V1, image_processor=image_inputs.aux_processor,
    )
