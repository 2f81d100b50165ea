"""vlmbench: response-time benchmark for vision-language models."""

from vlmbench.version import __version__

__all__ = ["__version__"]
