"""Generated images at chosen sizes (``--images WxH,...``), deterministic from the run's seed.

Content: real photographs, not noise or a flat colour, so the bytes compress and the pixels
preprocess like a picture. The packaged prompt set's photos (scikit-image, public domain) are
cut into a mosaic of ``ceil(W/640) x ceil(H/640)`` cells; each cell is a crop of one photo at
the cell's aspect ratio, scaled with Lanczos. Photo, crop offset and crop scale come from a
NumPy PCG64 generator seeded with ``(seed, W, H, k)`` (k: the image's index within a
multi-image request), so the same seed gives the same pixels everywhere; the encoders
(Pillow's libjpeg-turbo / zlib, versions in the run manifest) then give the same bytes. The
run records each image's sha256 (manifest ``generated_images`` and the rows' ``image_sha256``).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from vlmbench.errors import UsageError

FORMATS = {"jpeg": "JPEG", "png": "PNG"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
CELL = 640  # px: largest mosaic cell side
MIN_SIDE, MAX_SIDE = 16, 8192
PROMPT = "Describe this image in detail."
PROMPT_SEVERAL = "Describe each of these images in detail and say how they differ."
ID_PREFIX = "gen-"
_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
JPEG_QUALITY = 90


def parse_size(text: str, option: str = "--images") -> tuple[int, int]:
    """``"640x480"`` -> (640, 480); anything else is a UsageError naming the option."""
    m = _SIZE.match(str(text))
    if not m:
        raise UsageError(f"{option} {text!r}: expected WIDTHxHEIGHT, e.g. 640x480")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise UsageError(f"{option} {text!r}: each side must be {MIN_SIDE} to {MAX_SIDE} px")
    return w, h


def image_format(name: str) -> str:
    fmt = FORMATS.get(str(name).lower())
    if fmt is None:
        raise UsageError(f"--image-format {name!r}: must be one of {', '.join(FORMATS)}")
    return fmt


def item_id(width: int, height: int, n_images: int = 1) -> str:
    return f"{ID_PREFIX}{width}x{height}" + (f"-x{n_images}" if n_images > 1 else "")


@lru_cache(maxsize=None)
def _sources() -> tuple[Any, ...]:
    """The packaged set's photographs, decoded once (RGB arrays)."""
    import numpy as np

    from vlmbench.promptset.loader import load_promptset

    photos = [it for it in load_promptset() if it.category == "photo"]
    return tuple(np.asarray(it.open_image()) for it in photos)


def render(width: int, height: int, seed: int, index: int = 0) -> Any:
    """The generated picture (PIL RGB image) for this size, seed and image index."""
    import numpy as np
    from PIL import Image

    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, width, height, index]))
    sources = _sources()
    cols, rows = math.ceil(width / CELL), math.ceil(height / CELL)
    canvas = Image.new("RGB", (width, height))
    xs = [round(c * width / cols) for c in range(cols + 1)]
    ys = [round(r * height / rows) for r in range(rows + 1)]
    for r in range(rows):
        for c in range(cols):
            cw, ch = xs[c + 1] - xs[c], ys[r + 1] - ys[r]
            src = sources[int(rng.integers(len(sources)))]
            sh, sw = src.shape[:2]
            # the largest crop of the source at the cell's aspect, scaled by 0.6..1.0
            scale = float(rng.uniform(0.6, 1.0))
            crop_w = min(sw, sh * cw / ch) * scale
            crop_h = crop_w * ch / cw
            x0 = float(rng.uniform(0, sw - crop_w))
            y0 = float(rng.uniform(0, sh - crop_h))
            box = (x0, y0, x0 + crop_w, y0 + crop_h)
            cell = Image.fromarray(src).resize((cw, ch), Image.Resampling.LANCZOS, box=box)
            canvas.paste(cell, (xs[c], ys[r]))
    return canvas


def encode(image: Any, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling="4:2:0", optimize=False)
    else:
        image.save(out, format="PNG", compress_level=6, optimize=False)
    return out.getvalue()


@lru_cache(maxsize=64)
def image_bytes(width: int, height: int, seed: int, fmt: str, index: int = 0) -> bytes:
    return encode(render(width, height, seed, index), fmt)


def generated_item(width: int, height: int, seed: int, fmt: str = "JPEG", n_images: int = 1) -> Any:
    """A prompt-set item holding ``n_images`` generated images of ``width`` x ``height``."""
    from vlmbench.promptset.loader import ImagePart, PromptItem

    ident = item_id(width, height, n_images)
    parts = []
    for k in range(n_images):
        data = image_bytes(width, height, seed, fmt, k)
        name = Path("generated") / f"{ident}-{k}.{EXTENSIONS[fmt]}"
        parts.append(ImagePart(name, hashlib.sha256(data).hexdigest(), width, height, fmt, data))
    first = parts[0]
    return PromptItem(
        id=ident, file=first.file, sha256=first.sha256, width=width, height=height, format=fmt,
        prompt=PROMPT if n_images == 1 else PROMPT_SEVERAL,
        source=f"generated: mosaic of the packaged photos, seed {seed}", licence="public domain (source photos)",
        category="generated", _data=first.data, more_images=tuple(parts[1:]), origin="generated",
    )


def encoder_versions() -> dict[str, str]:
    """Versions that decide the generated bytes (written into the manifest)."""
    import numpy
    import PIL
    from PIL import features

    out = {"pillow": PIL.__version__, "numpy": numpy.__version__}
    for name in ("libjpeg_turbo", "zlib"):
        version = features.version(name)
        if version:
            out[name] = str(version)
    return out
