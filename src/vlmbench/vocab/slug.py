"""File names for things named by strings from a CSV (model ids, hardware labels).

A slug is lowercase ``[a-z0-9-]`` (at most 40 characters) plus 8 hex digits of the SHA-256 of
the original text, so it is safe in any file system and URL, and two different ids never share
a file even when they differ only in punctuation.
"""

from __future__ import annotations

import hashlib
import re


def slug(text: str) -> str:
    readable = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40].strip("-") or "x"
    digest = hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"
