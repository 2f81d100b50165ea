"""vlmbench's version, below every layer (the run manifest and the endpoint client's User-Agent
carry it); ``vlmbench.__version__`` re-exports it."""

__version__ = "0.1.0"
