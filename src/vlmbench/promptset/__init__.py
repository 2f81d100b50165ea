"""The fixed image+prompt sets shipped with vlmbench (``v1``), with checksum-verifying loading.

    from vlmbench.promptset import load_promptset
    ps = load_promptset()                      # every item of v1, each image's sha256 checked
    ps = load_promptset(ids=["chart-bar-640x480", "photo-rocket-640x427"])
    for item in ps:
        item.prompt, item.open_image(), item.image_bytes
"""

from vlmbench.promptset.loader import (
    DEFAULT_VERSION,
    PromptItem,
    PromptSet,
    available_versions,
    load_promptset,
    packaged_root,
)

__all__ = ["DEFAULT_VERSION", "PromptItem", "PromptSet", "available_versions", "load_promptset", "packaged_root"]
