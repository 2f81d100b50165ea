"""A persistent cache of meta-device parameter counts, so ``vlmbench models`` stays fast.

A count is a pure function of the model class, its configuration and the code that builds it,
so the key is a hash of exactly those: the class's qualified name, the configuration's JSON,
the transformers version and the bytes of the module defining the class (a vlmbench arch edited
in place gets a new key). A stale entry can therefore never be served; at worst the cache misses.
The file is a small JSON object ``{key: count}``, written atomically; a cache that cannot be
read or written is ignored (counting still works, only slower).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any, Callable, Optional

from vlmbench.vocab.files import write_json_atomic

DEFAULT_PATH = Path.home() / ".cache" / "vlmbench" / "parameter-counts.json"


def _config_json(config: Any) -> str:
    if hasattr(config, "to_json_string"):
        return config.to_json_string(use_diff=False)
    return json.dumps(getattr(config, "__dict__", repr(config)), sort_keys=True, default=repr)


@functools.lru_cache(maxsize=None)
def _source_digest(model_class: Any) -> str:
    try:
        path = inspect.getsourcefile(model_class)
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
    except (TypeError, OSError):
        return ""


def count_key(model_class: Any, config: Any) -> str:
    """What a parameter count depends on, hashed."""
    import transformers

    payload = "\n".join((
        f"{getattr(model_class, '__module__', '')}.{getattr(model_class, '__qualname__', repr(model_class))}",
        transformers.__version__,
        _source_digest(model_class),
        _config_json(config),
    ))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ParameterCountCache:
    """``{key: count}`` in a JSON file; ``count(model_class, config, compute)`` reads through it."""

    def __init__(self, path: Optional[Path] = DEFAULT_PATH) -> None:
        self.path = path
        self._counts: dict[str, int] = self._read()
        self._dirty = False

    def _read(self) -> dict[str, int]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}

    def count(self, model_class: Any, config: Any, compute: Callable[[Any, Any], int]) -> int:
        key = count_key(model_class, config)
        if key not in self._counts:
            self._counts[key] = int(compute(model_class, config))
            self._dirty = True
        return self._counts[key]

    def save(self) -> None:
        """Write new counts (atomically); silently skip when the folder is not writable."""
        if self.path is None or not self._dirty:
            return
        try:
            merged = {**self._read(), **self._counts}  # keep what another process added meanwhile
            write_json_atomic(self.path, merged, indent=None, sort_keys=True)
            self._dirty = False
        except OSError:
            return
