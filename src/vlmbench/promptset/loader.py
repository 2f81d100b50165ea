"""Load a fixed image+prompt set shipped with vlmbench and verify its checksums.

A set lives in a folder (``promptset/<version>/`` inside the package) holding
``manifest.json`` and the image files it lists. Each selected image is read
once at load time and its sha256 compared with the manifest; a missing or
modified file is refused with a :class:`~vlmbench.errors.PromptSetError` that
names the item id and the file. The verified bytes are kept on the item, so
what a backend sends is exactly what was checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from vlmbench.errors import PromptSetError
from vlmbench.promptset.image_file import decode, read_bytes

DEFAULT_VERSION = "v1"
MANIFEST_NAME = "manifest.json"
REQUIRED_KEYS = ("id", "file", "sha256", "width", "height", "format", "prompt", "source", "licence", "category")
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PromptItem:
    """One image+prompt pair. ``file`` is absolute; ``image_bytes`` are the verified file bytes."""

    id: str
    file: Path
    sha256: str
    width: int
    height: int
    format: str
    prompt: str
    source: str
    licence: str
    category: str
    _data: bytes | None = field(default=None, repr=False, compare=False)
    # The request's further images, after the first (``--images-per-request``, dataset lines).
    more_images: tuple["ImagePart", ...] = field(default=(), compare=False)
    # Where the item comes from: fixed (a prompt-set manifest) | generated | dataset
    origin: str = "fixed"
    # The user turn's order of parts, ("image", k) and ("text", str), for interleaved content;
    # empty = every image, then ``prompt``.
    content: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    @property
    def image_bytes(self) -> bytes:
        """The raw file bytes (as verified at load time), e.g. for HTTP backends sending the original file."""
        if self._data is not None:
            return self._data
        return _read_verified(self.id, self.file, self.sha256)

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @property
    def images(self) -> tuple["ImagePart", ...]:
        """Every image of the request, in order (the first is this item's own fields)."""
        first = ImagePart(self.file, self.sha256, self.width, self.height, self.format, self.image_bytes)
        return (first,) + tuple(self.more_images)

    @property
    def n_images(self) -> int:
        return 1 + len(self.more_images)

    def parts(self) -> tuple[tuple[str, Any], ...]:
        """The user turn in order: ("image", index) and ("text", str) parts."""
        if self.content:
            return self.content
        return tuple(("image", k) for k in range(self.n_images)) + (("text", self.prompt),)

    def open_images(self) -> list[Any]:
        """Every image decoded as RGB PIL images (the first checked as :meth:`open_image`)."""
        return [self.open_image()] + [part.open(self.id) for part in self.more_images]

    def open_image(self) -> Any:
        """Decode the image fully and return it as an RGB ``PIL.Image.Image`` of the manifest's size."""
        im = decode(self.image_bytes, _where(self.id), self.file)
        fmt, size = im.format, im.size
        if size != (self.width, self.height):
            raise PromptSetError(
                f"prompt-set item {self.id!r} ({self.file}): image is {size[0]}x{size[1]}, "
                f"the manifest says {self.width}x{self.height}"
            )
        if fmt != self.format:
            raise PromptSetError(
                f"prompt-set item {self.id!r} ({self.file}): image format is {fmt}, the manifest says {self.format}"
            )
        return im.convert("RGB")


@dataclass(frozen=True)
class ImagePart:
    """One image of a request: its file (or a virtual path for generated images), sha256, size,
    PIL format name and bytes."""

    file: Path
    sha256: str
    width: int
    height: int
    format: str
    data: bytes = field(repr=False)

    def open(self, item_id: str) -> Any:
        return decode(self.data, _where(item_id), self.file).convert("RGB")


@dataclass(frozen=True)
class PromptSet:
    """The selected items of one prompt-set version, in selection order."""

    version: str
    items: list[PromptItem]
    root: Path
    description: str = ""

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PromptItem]:
        return iter(self.items)

    def __contains__(self, item_id: object) -> bool:
        return any(it.id == item_id for it in self.items)

    def ids(self) -> list[str]:
        return [it.id for it in self.items]

    def get(self, item_id: str) -> PromptItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise PromptSetError(
            f"unknown prompt id {item_id!r} in prompt set {self.version}; valid ids: {', '.join(self.ids())}"
        )


def available_versions() -> list[str]:
    """Versions shipped inside the package (folders holding a manifest)."""
    return sorted(p.name for p in _PACKAGE_DIR.iterdir() if (p / MANIFEST_NAME).is_file())


def packaged_root(version: str = DEFAULT_VERSION) -> Path:
    """The folder of a version shipped inside the package."""
    root = _PACKAGE_DIR / version
    if not isinstance(version, str) or "/" in version or "\\" in version or not (root / MANIFEST_NAME).is_file():
        raise PromptSetError(
            f"unknown prompt-set version {version!r}; available: {', '.join(available_versions()) or 'none'}"
        )
    return root


def load_promptset(
    version: str = DEFAULT_VERSION,
    ids: Iterable[str] | None = None,
    root: str | Path | None = None,
) -> PromptSet:
    """Load and verify a prompt set.

    version: the set's version ("v1"); the manifest must declare the same version.
    ids: optional subset of item ids, returned in the order given; unknown or repeated ids are refused.
    root: optional folder holding ``manifest.json`` and the images, overriding the packaged one.
    Every selected image is hashed; a missing or modified one raises PromptSetError naming the item and file.
    """
    base = packaged_root(version) if root is None else Path(root).resolve()
    manifest_path = base / MANIFEST_NAME
    manifest = _read_manifest(manifest_path)
    if manifest.get("version") != version:
        raise PromptSetError(
            f"{manifest_path}: manifest declares version {manifest.get('version')!r}, but version {version!r} was requested"
        )
    entries = _parse_items(manifest, manifest_path)
    by_id = {e["id"]: e for e in entries}

    if ids is None:
        selected = entries
    else:
        wanted = [ids] if isinstance(ids, str) else list(ids)
        if not wanted:
            raise PromptSetError(f"no prompt ids selected from prompt set {version}; valid ids: {', '.join(by_id)}")
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            raise PromptSetError(
                f"unknown prompt id{'s' if len(unknown) > 1 else ''} {', '.join(repr(i) for i in unknown)} "
                f"in prompt set {version}; valid ids: {', '.join(by_id)}"
            )
        repeated = sorted({i for i in wanted if wanted.count(i) > 1}, key=wanted.index)
        if repeated:
            raise PromptSetError(f"prompt id{'s' if len(repeated) > 1 else ''} listed more than once: "
                                 f"{', '.join(repr(i) for i in repeated)}")
        selected = [by_id[i] for i in wanted]

    items: list[PromptItem] = []
    problems: list[str] = []
    for e in selected:
        path = _resolve_file(base, e, manifest_path)
        sha = e["sha256"].lower()
        try:
            data = _read_verified(e["id"], path, sha)
        except PromptSetError as exc:
            problems.append(str(exc))
            continue
        items.append(PromptItem(
            id=e["id"], file=path, sha256=sha, width=e["width"], height=e["height"], format=e["format"],
            prompt=e["prompt"], source=e["source"], licence=e["licence"], category=e["category"], _data=data,
        ))
    if len(problems) == 1:
        raise PromptSetError(problems[0])
    if problems:
        raise PromptSetError(
            f"prompt set {version} at {base}: {len(problems)} of {len(selected)} selected images failed verification:\n  "
            + "\n  ".join(problems)
        )
    return PromptSet(version=version, items=items, root=base, description=str(manifest.get("description", "")))


# --------------------------------------------------------------------------- helpers


def _where(item_id: str) -> str:
    return f"prompt-set item {item_id!r}"


def _read_verified(item_id: str, path: Path, sha256: str) -> bytes:
    return read_bytes(path, _where(item_id), sha256)


def _read_manifest(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptSetError(f"prompt-set manifest is missing: {path}") from None
    except OSError as exc:
        raise PromptSetError(f"cannot read prompt-set manifest {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PromptSetError(f"prompt-set manifest {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise PromptSetError(f"prompt-set manifest {path} has no 'items' list")
    return data


def _parse_items(manifest: dict, path: Path) -> list[dict]:
    entries: list[dict] = []
    seen: set[str] = set()
    for n, e in enumerate(manifest["items"]):
        if not isinstance(e, dict):
            raise PromptSetError(f"prompt-set manifest {path}: item #{n} is not an object")
        label = repr(e.get("id", f"#{n}"))
        missing = [k for k in REQUIRED_KEYS if k not in e]
        if missing:
            raise PromptSetError(f"prompt-set manifest {path}: item {label} lacks {', '.join(missing)}")
        for k in ("width", "height"):
            if not isinstance(e[k], int) or isinstance(e[k], bool) or e[k] <= 0:
                raise PromptSetError(f"prompt-set manifest {path}: item {label} has a bad {k}: {e[k]!r}")
        for k in REQUIRED_KEYS:
            if k not in ("width", "height") and not (isinstance(e[k], str) and e[k]):
                raise PromptSetError(f"prompt-set manifest {path}: item {label} has a bad {k}: {e[k]!r}")
        if e["id"] in seen:
            raise PromptSetError(f"prompt-set manifest {path}: item id {label} appears more than once")
        seen.add(e["id"])
        entries.append(e)
    return entries


def _resolve_file(base: Path, e: dict, manifest_path: Path) -> Path:
    rel = PurePosixPath(e["file"])
    if rel.is_absolute() or ".." in rel.parts or "\\" in e["file"]:
        raise PromptSetError(
            f"prompt-set manifest {manifest_path}: item {e['id']!r} names a file outside the set: {e['file']!r}"
        )
    return base.joinpath(*rel.parts)
