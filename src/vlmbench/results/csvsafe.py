"""Keep spreadsheet programs from running CSV cells as formulas, reversibly.

A cell starting with ``= + - @`` (or a tab / carriage return) is written with a leading
apostrophe; :func:`restore` removes exactly that apostrophe again, so raw data round-trips.
Numbers are never touched (they are formatted before this is applied only to strings).
"""

from __future__ import annotations

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    if text and (text[0] in _TRIGGERS or (text[0] == "'" and text[1:2] in _TRIGGERS)):
        return "'" + text
    return text


def restore(text: str) -> str:
    if text.startswith("'") and text[1:2] and (text[1] in _TRIGGERS or text[1] == "'"):
        return text[1:]
    return text
