"""``--dataset FILE.jsonl``: prompts with one or more local images, one JSON object a line.

Accepted line shapes (the vLLM ``custom`` multimodal JSONL shape and OpenAI-style content):

    {"prompt": "What is shown?", "image_files": ["a.jpg", "b.png"]}     # also "image_file" / "image": "a.jpg"
    {"content": [{"type": "text", "text": "Compare"}, {"type": "image_url", "image_url": {"url": "a.jpg"}},
                 {"type": "text", "text": "with"}, {"type": "image", "image": "b.png"}]}
    {"messages": [{"role": "user", "content": [...same parts...]}]}

An optional ``"id"`` names the item (default ``ds-<line>``). Image paths are local files,
relative to the JSONL file's folder (``file://`` URLs accepted); remote URLs and data URLs are
refused. Every problem is refused with ``FILE:LINE`` and what is wrong: a bad JSON line, a
missing or unreadable image, a file that is not an image, a line without prompt or image.
The file's sha256 and each image's sha256 go into the run manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from vlmbench.errors import UsageError
from vlmbench.promptset.image_file import read_image

ID_PREFIX = "ds-"


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_dataset(path: str | Path) -> list[Any]:
    """The file's items, in file order (blank lines skipped)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"--dataset {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--dataset {path}: cannot read the file: {exc}") from None
    items: list[Any] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = _item(path, number, line)
        if item.id in seen:
            raise UsageError(f"{path}:{number}: id {item.id!r} appears more than once")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise UsageError(f"--dataset {path}: the file holds no item")
    return items


def _item(path: Path, number: int, line: str) -> Any:
    from vlmbench.promptset.loader import PromptItem

    where = f"{path}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object")
    parts = _parts(where, data)
    refs = [ref for kind, ref in parts if kind == "image"]
    texts = [text for kind, text in parts if kind == "text"]
    if not refs:
        raise UsageError(f"{where}: no image (give image_files, image_file or an image part)")
    if not any(t.strip() for t in texts):
        raise UsageError(f"{where}: no prompt text")
    images = [_image(where, path.parent, ref) for ref in refs]
    content: list[tuple[str, Any]] = []
    k = 0
    for kind, value in parts:
        if kind == "image":
            content.append(("image", k))
            k += 1
        else:
            content.append(("text", value))
    ident = data.get("id", f"{ID_PREFIX}{number}")
    if not isinstance(ident, (str, int)) or isinstance(ident, bool) or not str(ident):
        raise UsageError(f"{where}: bad id {ident!r}")
    first = images[0]
    return PromptItem(
        id=str(ident), file=first.file, sha256=first.sha256, width=first.width, height=first.height,
        format=first.format, prompt="\n".join(t for t in texts if t), source=f"dataset {path.name}:{number}",
        licence="(dataset)", category="dataset", _data=first.data, more_images=tuple(images[1:]),
        origin="dataset", content=tuple(content),
    )


def _parts(where: str, data: dict) -> list[tuple[str, str]]:
    """("text", str) and ("image", reference) parts in order."""
    if "messages" in data:
        messages = data["messages"]
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"] \
            if isinstance(messages, list) else []
        if len(users) != 1:
            raise UsageError(f"{where}: 'messages' must hold exactly one user message")
        return _content_parts(where, users[0].get("content"))
    if "content" in data:
        return _content_parts(where, data["content"])
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise UsageError(f"{where}: 'prompt' must be a string (or give 'content' / 'messages')")
    refs: Any = None
    for key in ("image_files", "images", "image_file", "image"):
        if key in data:
            refs = data[key]
            break
    if isinstance(refs, str):
        refs = [refs]
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise UsageError(f"{where}: 'image_files' must be a list of file paths")
    return [("image", r) for r in refs] + [("text", prompt)]


def _content_parts(where: str, content: Any) -> list[tuple[str, str]]:
    if isinstance(content, str):
        return [("text", content)]
    if not isinstance(content, list):
        raise UsageError(f"{where}: 'content' must be a list of parts")
    out: list[tuple[str, str]] = []
    for n, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            out.append(("text", part["text"]))
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str):
                raise UsageError(f"{where}: content part {n}: image_url without a url")
            out.append(("image", url))
        elif kind == "image" and isinstance(part.get("image", part.get("path")), str):
            out.append(("image", part.get("image", part.get("path"))))
        else:
            raise UsageError(f"{where}: content part {n}: expected a text, image_url or image part")
    return out


def _image(where: str, base: Path, ref: str) -> Any:
    from vlmbench.promptset.loader import ImagePart

    if ref.startswith(("http://", "https://", "data:")):
        raise UsageError(f"{where}: image {ref[:60]!r}: only local files are read (no URLs)")
    path = Path(ref[len("file://"):] if ref.startswith("file://") else ref)
    if not path.is_absolute():
        path = base / path
    image = read_image(path, where)
    return ImagePart(path, image.sha256, image.width, image.height, image.format, image.data)
