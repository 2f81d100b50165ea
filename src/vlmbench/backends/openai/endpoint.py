"""Where requests go: ``--endpoint URL`` parsed once into scheme, host, port and base path.

The URL is the server's base, e.g. ``http://127.0.0.1:8000`` or ``https://api.example.com/v1``;
routes (``/v1/chat/completions``, ``/v1/models``) are appended to its path, and a trailing
``/v1`` in the URL is not doubled. Credentials in the URL (``user:pass@``) are refused: the
key comes from the variable named by ``--api-key-env``. The ``label`` (``host:port``) is what
rows record as ``device``: no credentials, no path, no query string.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from vlmbench.errors import UsageError

DEFAULT_PORTS = {"http": 80, "https": 443}
CHAT_ROUTE = "/v1/chat/completions"
MODELS_ROUTE = "/v1/models"


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # http | https
    host: str
    port: int
    base_path: str  # "" or "/prefix", without a trailing "/v1"
    query: str = ""

    @classmethod
    def parse(cls, url: str) -> "Endpoint":
        """Parse ``--endpoint``; raises UsageError naming the URL's problem (never echoing it
        whole, as it might hold a secret)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in DEFAULT_PORTS:
            raise UsageError(f"--endpoint: scheme must be http or https, not {parts.scheme!r}")
        if parts.username is not None or parts.password is not None:
            raise UsageError("--endpoint: credentials in the URL are refused; put the key in an "
                             "environment variable and name it with --api-key-env")
        if not parts.hostname:
            raise UsageError("--endpoint: no host in the URL")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise UsageError("--endpoint: the port is not a number in 1..65535") from None
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            path = path[: -len("/v1")]
        return cls(parts.scheme, parts.hostname, port, path, parts.query)

    @property
    def label(self) -> str:
        """``host:port``, the ``device`` column of every row."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def host_header(self) -> str:
        if self.port == DEFAULT_PORTS[self.scheme]:
            return f"[{self.host}]" if ":" in self.host else self.host
        return self.label

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "https"

    def url(self, route: str) -> str:
        """The absolute URL of ``route`` on this endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.target(route)}"

    def target(self, route: str) -> str:
        """The request target (path and query) of ``route`` on this endpoint."""
        path = f"{self.base_path}{route}"
        return f"{path}?{self.query}" if self.query else path
