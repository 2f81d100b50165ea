"""Visual-token rules of today's dynamic-resolution processors, as functions of (width, height).

Each rule gives the LLM-side image tokens one image of ``width`` x ``height`` pixels costs with the
processor's defaults (the image placeholders only, not the few start/end/break markers), written
from the formulas of the current-models fact sheet and tested against transformers' own image
processors (tests/test_catalog_current.py). A catalog entry exposes its rule as
``entry.image_token_rule`` so other parts (the model-aware image grid) can use it without building
a processor.
"""

from __future__ import annotations

import math


def smart_resize(width: int, height: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen-VL's resize: each side rounded to a multiple of ``factor``, then the area clamped to
    [min_pixels, max_pixels] keeping the aspect ratio (floor when shrinking, ceil when growing).
    Returns (width', height')."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def qwen_vl_tokens(width: int, height: int, *, factor: int, min_pixels: int, max_pixels: int) -> int:
    """Qwen2.5-VL (factor 28) / Qwen3-VL (factor 32): (h'/factor) x (w'/factor) tokens."""
    w, h = smart_resize(width, height, factor, min_pixels, max_pixels)
    return (w // factor) * (h // factor)


def glm4v_tokens(width: int, height: int, *, factor: int, min_pixels: int, max_pixels: int, temporal: int = 2) -> int:
    """GLM-4.1V: Qwen-VL's resize with the pixel budget counting the ``temporal`` frames of the patch (an
    image is two identical frames), so the area is clamped to [min_pixels / 2, max_pixels / 2]; an image
    narrower than ``factor`` is first scaled up (truncated) until its short side is ``factor``."""
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    return qwen_vl_tokens(width, height, factor=factor, min_pixels=min_pixels // temporal,
                          max_pixels=max_pixels // temporal)


def gemma3_crops(width: int, height: int, *, min_crop: int = 256, max_crops: int = 4, min_ratio: float = 1.2) -> int:
    """Gemma 3 pan-and-scan (off by default): crops cut along the long side, 0 when not activated."""
    long_side, short_side = max(width, height), min(width, height)
    if long_side / short_side < min_ratio:
        return 0
    n = min(int(math.floor(long_side / short_side + 0.5)), long_side // min_crop)
    n = min(max_crops, max(2, n))
    crop_w, crop_h = (math.ceil(width / n), height) if width >= height else (width, math.ceil(height / n))
    return 0 if min(crop_w, crop_h) < min_crop else n


def gemma3_tokens(width: int, height: int, *, tokens_per_image: int = 256, pan_and_scan: bool = False) -> int:
    """Gemma 3: 256 per image (896 x 896 pooled 4 x 4), plus 256 per pan-and-scan crop when on."""
    crops = gemma3_crops(width, height) if pan_and_scan else 0
    return tokens_per_image * (1 + crops)


def tile_grids(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """Every (columns, rows) grid with min_tiles <= columns x rows <= max_tiles, ordered by tile
    count, then by columns (the order the tie-break walks)."""
    grids = [(c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
             if min_tiles <= c * r <= max_tiles]
    return sorted(grids, key=lambda g: g[0] * g[1])


def closest_aspect_grid(width: int, height: int, tile: int, min_tiles: int, max_tiles: int) -> tuple[int, int]:
    """InternVL / GOT-OCR2 tiling: the grid whose aspect ratio is closest to the image's; on a tie the
    grid with more tiles while the image area exceeds half the grid's area."""
    aspect, area = width / height, width * height
    best, best_diff = (1, 1), float("inf")
    for c, r in tile_grids(min_tiles, max_tiles):
        diff = abs(aspect - c / r)
        if diff < best_diff:
            best, best_diff = (c, r), diff
        elif diff == best_diff and area > 0.5 * tile * tile * c * r:
            best = (c, r)
    return best


def internvl_tokens(width: int, height: int, *, tile: int = 448, tokens_per_tile: int = 256, min_tiles: int = 1,
                    max_tiles: int = 12) -> int:
    """InternVL: tokens_per_tile x (tiles + a thumbnail when there is more than one tile)."""
    c, r = closest_aspect_grid(width, height, tile, min_tiles, max_tiles)
    n = c * r
    return tokens_per_tile * (n + (1 if n > 1 else 0))


def _even_long_side_resize(width: int, height: int, longest: int) -> tuple[int, int]:
    """SmolVLM step 1: the longest edge set to ``longest`` (up or down), the other by the aspect
    ratio, truncated and rounded up to even."""
    aspect = width / height
    if width >= height:
        w, h = longest, int(longest / aspect)
        h += h % 2
    else:
        h, w = longest, int(longest * aspect)
        w += w % 2
    return max(w, 1), max(h, 1)


def smolvlm_tiles(width: int, height: int, *, longest_edge: int, tile: int) -> tuple[int, int]:
    """(rows, columns) of SmolVLM / Idefics3 image splitting; (0, 0) when the image is one tile."""
    w, h = _even_long_side_resize(width, height, longest_edge)
    aspect = w / h
    if w >= h:  # step 2: multiples of the tile, keeping the aspect ratio
        w = math.ceil(w / tile) * tile
        h = math.ceil(int(w / aspect) / tile) * tile
    else:
        h = math.ceil(h / tile) * tile
        w = math.ceil(int(h * aspect) / tile) * tile
    if h > tile or w > tile:
        return math.ceil(h / tile), math.ceil(w / tile)
    return 0, 0


def smolvlm_tokens(width: int, height: int, *, longest_edge: int, tile: int, tokens_per_tile: int) -> int:
    """SmolVLM: tokens_per_tile x (rows x columns + one global image), or one tile when not split."""
    rows, cols = smolvlm_tiles(width, height, longest_edge=longest_edge, tile=tile)
    return tokens_per_tile * (rows * cols + 1 if rows else 1)


def mllama_tiles(width: int, height: int, *, tile: int = 560, max_tiles: int = 4) -> int:
    """Llama 3.2 Vision: tiles of ``tile`` px the image really uses (the ViT always runs
    ``max_tiles``, padded). The canvas is the rows x columns grid (rows x columns <= max_tiles) with
    the smallest upscale >= 1, else the largest downscale; ties go to the smallest area."""
    grids = [(r, c) for r in range(1, max_tiles + 1) for c in range(1, max_tiles + 1) if r * c <= max_tiles]
    scales = [min(r * tile / height, c * tile / width) for r, c in grids]
    up = [s for s in scales if s >= 1]
    chosen = min(up) if up else max(scales)
    return min(r * c for (r, c), s in zip(grids, scales) if s == chosen)


def one_token(width: int, height: int) -> int:
    """Llama 3.2 Vision: one ``<|image|>`` token per image in the LLM sequence (the image reaches
    the LLM through cross-attention, see ``mllama_tiles``)."""
    return 1


def best_pinpoint(width: int, height: int, pinpoints: list[tuple[int, int]]) -> tuple[int, int]:
    """LLaVA AnyRes: the (height, width) pinpoint that keeps the most image area, then wastes least."""
    best, most, least = pinpoints[0], 0, float("inf")
    for ph, pw in pinpoints:
        scale = min(pw / width, ph / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        wasted = pw * ph - effective
        if effective > most or (effective == most and wasted < least):
            best, most, least = (ph, pw), effective, wasted
    return best


def llava_onevision_tokens(width: int, height: int, *, pinpoints: list[tuple[int, int]], tile: int = 384,
                           base_tokens: int = 729, max_tiles: int = 9) -> int:
    """LLaVA-OneVision (anyres_max_9): base view + the grid's features unpadded to the image's aspect
    ratio + one newline per row, the grid bilinearly shrunk when it exceeds ``max_tiles`` tiles' worth."""
    ph, pw = best_pinpoint(width, height, pinpoints)
    side = int(math.sqrt(base_tokens))
    cur_h, cur_w = side * (ph // tile), side * (pw // tile)
    if width / height > cur_w / cur_h:
        new_h = int(round(height * (cur_w / width), 7))
        cur_h -= 2 * ((cur_h - new_h) // 2)
    else:
        new_w = int(round(width * (cur_h / height), 7))
        cur_w -= 2 * ((cur_w - new_w) // 2)
    features, newlines = cur_h * cur_w, cur_h
    ratio = math.sqrt(cur_h * cur_w / (max_tiles * side * side))
    if ratio > 1.1:
        features, newlines = int(cur_h // ratio) * int(cur_w // ratio), int(cur_h // ratio)
    return base_tokens + features + newlines


def pixtral_grid(width: int, height: int, *, longest_edge: int, step: int) -> tuple[int, int]:
    """Pixtral / Mistral-Small-3.1: (rows, columns) of LLM image tokens. The image is scaled down (never
    up, floor) to fit a ``longest_edge`` square, each side rounded up to ``step`` = patch x merge."""
    ratio = max(height / longest_edge, width / longest_edge)
    if ratio > 1:
        height, width = math.floor(height / ratio), math.floor(width / ratio)
    return (height - 1) // step + 1, (width - 1) // step + 1


def pixtral_tokens(width: int, height: int, *, longest_edge: int, step: int) -> int:
    """``[IMG]`` placeholders: rows x columns (the processor adds a ``[IMG_BREAK]`` after each row, the
    last one ``[IMG_END]``: rows x (columns + 1) positions in all)."""
    rows, cols = pixtral_grid(width, height, longest_edge=longest_edge, step=step)
    return rows * cols
