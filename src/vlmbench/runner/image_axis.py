"""Checks of the image-axis options before a run: generated sizes, formats, cache states, how
many images each model takes, and the resolution grid (``--image-grid``) resolved per model."""

from __future__ import annotations

from typing import Any

from vlmbench.errors import UsageError


def check_image_axis(config: Any) -> None:
    """What the option declarations cannot check alone (the format and states are Literals)."""
    from vlmbench.promptset.generated import parse_size

    for text in config.images or []:
        parse_size(text)
    if len(set(config.cache_states)) != len(config.cache_states):
        raise UsageError(f"--cache-state {','.join(config.cache_states)}: a state is listed twice")
    if config.image_grid is not None:
        from vlmbench.runner.grid import parse_grid, resolve_grid

        parse_grid(config.image_grid)
        if not config.grid_sizes:
            resolve_grid(config)


def max_images(model: str) -> tuple[int, str]:
    """How many images one request to ``model`` may carry, and why ("" when not known)."""
    from vlmbench.catalog import get, has

    if not has(model):
        return 0, ""  # hub id, local folder or endpoint model: not known here, not refused
    entry = get(model)
    return entry.max_images, entry.max_images_note


def check_images_per_request(config: Any, promptset: Any) -> None:
    """A model that takes fewer images than a request carries is refused in one line."""
    most = max((it.n_images for it in promptset.items), default=1)
    if most <= 1:
        return
    for model in config.models:
        ids = config.model_overrides.get(model, {}).get("prompts") or promptset.ids()
        need = max(promptset.get(i).n_images for i in ids if i in promptset)
        limit, _why = max_images(model)
        if limit and need > limit:
            which = next(i for i in ids if i in promptset and promptset.get(i).n_images == need)
            raise UsageError(
                f"model {model!r} takes {'one image' if limit == 1 else f'at most {limit} images'} per request; "
                f"prompt {which!r} carries {need} (--images-per-request / dataset); the catalog's max_images "
                "says how many each model takes")
