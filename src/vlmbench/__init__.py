"""vlmbench: response-time benchmark for vision-language models.

From Python (README, "From Python")::

    import vlmbench

    if __name__ == "__main__":  # workers are started by a fork server
        run = vlmbench.run(vlmbench.RunConfig(models=["llava-1.5-7b-tiny"], max_new_tokens=8))
        print(run.frame[["model_id", "ttft_ms", "tpot_ms"]].median(numeric_only=True))

The names below are imported when first used, so ``import vlmbench`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlmbench.version import __version__

__all__ = ["Run", "RunConfig", "SchemaError", "UsageError", "__version__", "compare", "load", "report", "run"]

_WHERE = {
    "Run": "vlmbench.api", "run": "vlmbench.api", "load": "vlmbench.api", "report": "vlmbench.api",
    "compare": "vlmbench.api", "RunConfig": "vlmbench.config", "UsageError": "vlmbench.errors",
    "SchemaError": "vlmbench.errors",
}

if TYPE_CHECKING:
    from vlmbench.api import Run, compare, load, report, run
    from vlmbench.config import RunConfig
    from vlmbench.errors import SchemaError, UsageError


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vlmbench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
