"""Run options, each declared once as a typed (pydantic) field with its flag and checks.

``vlmbench.config.RunConfig`` holds the options every backend reads and, in ``options``, the
part only one backend reads, chosen by ``backend`` (a discriminated union of the models
registered here). A new backend's options are one model (a subclass of
:class:`BackendOptions` whose ``backend`` is ``Literal["NAME"]``) and one line in
``BACKEND_OPTIONS``; its flags, suite keys and checks follow from the fields.
"""

from __future__ import annotations

from typing import Any, Optional

from vlmbench.options.base import BackendOptions
from vlmbench.options.endpoint import EndpointOptions
from vlmbench.options.engine import EngineOptions
from vlmbench.options.inprocess import InProcessOptions

DEFAULT_BACKEND = "hf"
# backend name (as in vlmbench.backends.BACKENDS) -> its options model
BACKEND_OPTIONS: dict[str, type[BackendOptions]] = {
    "hf": InProcessOptions,
    "openai": EndpointOptions,
    "engine": EngineOptions,
}


def selected_backend(keys: Any) -> Optional[str]:
    """The backend whose ``selected_by`` key is among ``keys`` with a value (``--engine vllm`` selects
    ``engine``), or None."""
    for name, model in BACKEND_OPTIONS.items():
        key = model.selected_by
        if key is not None and keys.get(key) is not None:
            return name
    return None

__all__ = ["BACKEND_OPTIONS", "DEFAULT_BACKEND", "BackendOptions", "EndpointOptions", "EngineOptions",
           "InProcessOptions", "selected_backend"]
