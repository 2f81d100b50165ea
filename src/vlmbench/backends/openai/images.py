"""Images as the request carries them: base64 data URLs, and imperceptible per-request changes.

Cache busting needs every request's image to differ *in decoded pixels* (servers hash pixels
or bytes to reuse vision-encoder outputs and prefix caches), while staying the same picture:

- lossless formats (PNG, ...): the least significant bit of the first channel of ONE pixel
  is flipped, then the image is re-encoded in its own format;
- JPEG: a one-pixel LSB change does not survive re-quantisation, so every channel of one
  8x8 block (the JPEG coding unit) is moved by +-1 and the image is re-encoded with the
  original quantisation tables and subsampling (``quality="keep"``). The result is checked
  against an unperturbed re-encode; if quantisation ate the change, the step doubles
  (2, 4, 8) until it shows.

``position`` chooses the pixel (or block), so distinct positions give distinct images; the
caller derives positions so that no two requests of one run share one.
"""

from __future__ import annotations

import base64
import io
from typing import Optional

MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
LOSSY_FORMATS = ("JPEG",)
JPEG_BLOCK = 8
JPEG_STEPS = (1, 2, 4, 8)


def data_url(image: bytes, fmt: str) -> str:
    """``data:<mime>;base64,<bytes>`` for an image file's bytes in format ``fmt`` (PIL name)."""
    mime = MIME_TYPES.get(fmt.upper(), f"image/{fmt.lower()}")
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


class ImagePerturber:
    """Re-encodes images with one imperceptible change at a chosen position. Keeps, per
    image, the decoded unperturbed re-encode of JPEGs, to verify that the change survived."""

    def __init__(self) -> None:
        self._jpeg_reference: dict[bytes, object] = {}

    def perturb(self, image: bytes, fmt: str, position: int) -> bytes:
        from PIL import Image

        with Image.open(io.BytesIO(image)) as im:
            im.load()
            if im.mode in ("P", "1"):
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            if fmt.upper() in LOSSY_FORMATS:
                return self._perturb_jpeg(im, image, position)
            return _flip_pixel_lsb(im, fmt, position)

    def _perturb_jpeg(self, im, original: bytes, position: int) -> bytes:
        import numpy as np
        from PIL import Image

        blocks_x = max(1, im.width // JPEG_BLOCK)
        blocks_y = max(1, im.height // JPEG_BLOCK)
        index = position % (blocks_x * blocks_y)
        x0, y0 = (index % blocks_x) * JPEG_BLOCK, (index // blocks_x) * JPEG_BLOCK
        reference = self._reference(im, original)
        box = (slice(y0, y0 + JPEG_BLOCK), slice(x0, x0 + JPEG_BLOCK))
        pixels = np.asarray(im)
        encoded = b""
        for step in JPEG_STEPS:
            changed = pixels.astype(np.int16)
            region = changed[box]
            changed[box] = np.where(region + step <= 255, region + step, region - step)
            candidate = Image.fromarray(changed.astype(np.uint8), mode=im.mode)
            encoded = _save_jpeg_like(candidate, im)
            with Image.open(io.BytesIO(encoded)) as check:
                if not np.array_equal(np.asarray(check)[box], reference[box]):
                    break
        return encoded

    def _reference(self, im, original: bytes):
        import numpy as np
        from PIL import Image

        cached = self._jpeg_reference.get(original)
        if cached is None:
            with Image.open(io.BytesIO(_save_jpeg_like(im, im))) as ref:
                cached = np.asarray(ref).copy()
            self._jpeg_reference[original] = cached
        return cached


def _save_jpeg_like(image, source) -> bytes:
    """Encode ``image`` as JPEG with ``source``'s quantisation tables and subsampling."""
    from PIL import JpegImagePlugin

    out = io.BytesIO()
    tables: Optional[dict] = getattr(source, "quantization", None)
    if tables:
        subsampling = JpegImagePlugin.get_sampling(source)
        image.save(out, format="JPEG", qtables=tables, subsampling=subsampling if subsampling >= 0 else 0)
    else:
        image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def _flip_pixel_lsb(im, fmt: str, position: int) -> bytes:
    x, y = position % im.width, (position // im.width) % im.height
    value = im.getpixel((x, y))
    if isinstance(value, tuple):
        value = (value[0] ^ 1,) + value[1:]
    else:
        value ^= 1
    im.putpixel((x, y), value)
    out = io.BytesIO()
    im.save(out, format=fmt)
    return out.getvalue()
