"""What every backend's options model shares: the ``backend`` name that selects it."""

from __future__ import annotations

from typing import Annotated, ClassVar, Optional

from pydantic import BaseModel, ConfigDict

from vlmbench.options.declare import Opt


class BackendOptions(BaseModel):
    """The options only one backend reads. A subclass narrows ``backend`` to its name
    (``Literal["hf"]``): that is the discriminator of ``RunConfig.options``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    group: ClassVar[str] = ""  # title of its group in ``vlmbench run --help``
    # a field whose value selects this backend when none is named (``--engine vllm``)
    selected_by: ClassVar[Optional[str]] = None

    backend: Annotated[str, Opt(
        "--backend", help="hf (in-process transformers, default) or openai (an OpenAI-compatible endpoint, "
                          "see --endpoint)", suite=True)]
