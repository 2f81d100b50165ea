"""How many images one request may carry to a family that takes several (CatalogEntry.max_images).

The model cards show multi-image prompts but publish no count; the real bound is the context
length and the server's own limit (vLLM ``--limit-mm-per-prompt``). vlmbench allows this many."""

MULTI_IMAGE = 8
MULTI_IMAGE_BOUND = f"{MULTI_IMAGE} is vlmbench's bound, not a published limit (the context and the server's limit decide)"
