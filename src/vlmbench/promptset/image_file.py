"""One reader of image files for every prompt source (the prompt set's manifest, ``--dataset``
lines): one declaration of what an acceptable image file is and of the one-line error for a bad
one.

An acceptable image file is a local file that can be read, whose bytes have the sha256 the
source expects (where it expects one: a prompt-set manifest), and that PIL decodes fully
(``Image.load``: a truncated or corrupt file is refused at load, not in the middle of a run).
Errors are :class:`~vlmbench.errors.PromptSetError` (a usage error: exit 2), one line each,
``WHERE`` naming the input (``prompt-set item 'id'``, ``FILE.jsonl:LINE``):

- ``WHERE: image file is missing: PATH``
- ``WHERE: cannot read image file PATH: REASON``
- ``WHERE: image file was modified: PATH (sha256 X, the manifest expects Y)``
- ``WHERE: PATH is not a readable image: REASON``
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, NamedTuple, Optional

from vlmbench.errors import PromptSetError


class ImageFile(NamedTuple):
    data: bytes
    sha256: str
    width: int
    height: int
    format: str


def read_bytes(path: Path, where: str, sha256: Optional[str] = None) -> bytes:
    """The file's bytes, checked against ``sha256`` when given."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PromptSetError(f"{where}: image file is missing: {path}") from None
    except OSError as exc:
        raise PromptSetError(f"{where}: cannot read image file {path}: {exc.strerror or exc}") from None
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise PromptSetError(f"{where}: image file was modified: {path} (sha256 {digest}, the manifest expects "
                                 f"{sha256})")
    return data


def decode(data: bytes, where: str, path: Path | str) -> Any:
    """The image in ``data``, fully decoded (a ``PIL.Image.Image``: ``.format``, ``.size``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PromptSetError(f"{where}: {path} is not a readable image: {exc}") from None


def read_image(path: Path, where: str, sha256: Optional[str] = None) -> ImageFile:
    """Read, check and decode one image file (module doc)."""
    data = read_bytes(path, where, sha256)
    im = decode(data, where, path)
    return ImageFile(data, sha256 or hashlib.sha256(data).hexdigest(), im.size[0], im.size[1], im.format or "PNG")
