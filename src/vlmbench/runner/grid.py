"""``--image-grid auto|auto:N``: per model, generated image sizes on both sides of every step of
its visual-token count, up to its maximum, plus its native size.

The count is the model's own processor's (:mod:`vlmbench.catalog.visual_tokens`), so every
processor kind (fixed resize, AnyRes pinpoints, HD crops, S2 scales, pixel budgets, tiles) is
handled by the one search below. Along each aspect ray (square, 4:3 landscape, 3:4 portrait),
the long side is scanned from 112 px to the maximum every ``SCAN_PX`` px; an interval whose ends
count differently is counted at every pixel, and both sides of each change join the grid (the
last size below a step and the first at or above it); each ray at the native long side joins
the grid where it counts differently (a rule by aspect only). The maximum side is 4x the native size's
long side (at most 4096 px): past it no catalog rule changes. ``auto:N`` keeps the native size
and the steps spread evenly over the token range, both sides of each, N sizes in all.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from vlmbench.errors import UsageError

RAYS = (1.0, 0.75, 4 / 3)  # height / width
SCAN_PX = 16
MIN_SIDE = 16
SCAN_FROM = 112  # px, long side: smaller images are below every catalog model's first step of interest
MAX_SIDE = 4096
DEFAULT_CAP = 32  # sizes per model with plain "auto"
_SPEC = re.compile(r"^auto(?::(\d+))?$")

Size = tuple[int, int]


def parse_grid(text: str) -> int:
    """``auto`` -> DEFAULT_CAP; ``auto:N`` -> N (>= 1)."""
    m = _SPEC.match(str(text).strip())
    if not m or (m.group(1) is not None and int(m.group(1)) < 1):
        raise UsageError(f"--image-grid {text!r}: expected auto or auto:N (N >= 1)")
    return int(m.group(1)) if m.group(1) else DEFAULT_CAP


def steps(count: Callable[[list[Size]], list[int]], max_side: int, rays: tuple[float, ...] = RAYS) \
        -> list[tuple[Size, int, Size, int]]:
    """Every step found: (last size below, its tokens, first size at/above, its tokens)."""
    found: dict[tuple[Size, Size], tuple[Size, int, Size, int]] = {}
    for ratio in rays:
        def size(long: int, r: float = ratio) -> Size:
            if r <= 1:
                return long, max(MIN_SIDE, round(long * r))
            return max(MIN_SIDE, round(long / r)), long

        sides = list(range(SCAN_FROM, max_side + 1, SCAN_PX))
        if sides[-1] != max_side:
            sides.append(max_side)
        values = dict(zip(sides, count([size(a) for a in sides])))
        # every pixel inside each interval whose ends differ, counted in one call
        inside = [a for lo, hi in zip(sides, sides[1:]) if values[lo] != values[hi] for a in range(lo + 1, hi)]
        values.update(zip(inside, count([size(a) for a in inside]) if inside else []))
        longs = sorted(values)
        for lo, hi in zip(longs, longs[1:]):
            if hi - lo == 1 and values[lo] != values[hi]:
                found[(size(lo), size(hi))] = (size(lo), values[lo], size(hi), values[hi])
    return sorted(found.values(), key=lambda s: (s[3], s[1], s[0]))


def grid(count: Callable[[list[Size]], list[int]], native: Optional[Size], cap: int) -> list[tuple[int, int, int]]:
    """[(width, height, tokens)]: native first (with the other aspect rays at its long side where
    they count differently), then both sides of the chosen steps."""
    long = max(native) if native else 336
    found = steps(count, min(MAX_SIDE, 4 * long))
    out: list[tuple[int, int, int]] = []
    if native:
        out.append((native[0], native[1], count([native])[0]))
        # each aspect ray at the native long side, where its count is new (a rule that depends on
        # the aspect only, e.g. SmolVLM's tiling after resizing to a fixed longest edge)
        for ratio in RAYS:
            size = (long, round(long * ratio)) if ratio <= 1 else (round(long / ratio), long)
            tokens = count([size])[0]
            if tokens not in [t for _w, _h, t in out]:
                out.append((size[0], size[1], tokens))
    pairs = max(0, (cap - len(out)) // 2)
    if pairs and len(found) > pairs:  # spread evenly over the steps (token order), first and last kept
        index = sorted({round(k * (len(found) - 1) / max(1, pairs - 1)) for k in range(pairs)})
        found = [found[i] for i in index]
    elif not pairs:
        found = []
    for below, t_below, above, t_above in found:
        for (w, h), t in ((below, t_below), (above, t_above)):
            if (w, h) not in [(x[0], x[1]) for x in out]:
                out.append((w, h, t))
    return out[:max(cap, 1)]


def model_counter(model: str, config: Any) -> tuple[Callable[[list[Size]], list[int]], Optional[Size]]:
    """The model's token count by size and its native size: the catalog entry's stand-in
    processor, or a local folder's own processor."""
    from pathlib import Path

    from vlmbench.catalog.visual_tokens import (NoTokenRule, catalog_entry_for, image_token_counts, native_size,
                                                reference_processor, token_counter)

    try:
        if catalog_entry_for(model) is not None:
            count = token_counter(model)
            return count, native_size(model, reference_processor(model))
        if not Path(model).expanduser().is_dir():
            raise NoTokenRule("neither a catalog entry nor a local model folder")
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(str(Path(model).expanduser()),
                                                  trust_remote_code=config.trust_remote_code)
        image_token_counts(processor, [(336, 336)])
    except NoTokenRule as exc:
        raise UsageError(f"--image-grid: model {model!r}: no visual-token rule to build a grid from ({exc})") from None
    return (lambda sizes: image_token_counts(processor, sizes)), native_size(model, processor)


def resolve_grid(config: Any) -> None:
    """Fill ``config.grid_sizes`` (model -> [[w, h, tokens]]) and give each model its own prompt
    list: the run's --prompts and --images items plus its grid."""
    from vlmbench.promptset.generated import item_id, parse_size

    cap = parse_grid(config.image_grid)
    n = int(config.images_per_request)
    shared = list(config.prompts or []) + [item_id(*parse_size(s), n) for s in config.images or []]
    for model in config.models:
        count, native = model_counter(model, config)
        sizes = grid(count, native, cap)
        config.grid_sizes[model] = [list(s) for s in sizes]
        ids = shared + [item_id(w, h, n) for w, h, _t in sizes if item_id(w, h, n) not in shared]
        config.model_overrides.setdefault(model, {})["prompts"] = ids
