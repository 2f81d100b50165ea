"""vlmbench: response-time benchmark for vision-language models."""

__version__ = "0.1.0"
