"""The one error hierarchy of fastproxy.

Every error carries the HTTP status to answer with, where it came from
(``downstream``: the client; ``upstream``: a backend; ``internal``: us;
``config``: the operator's file) and whether retrying the request elsewhere
is safe.
"""

from __future__ import annotations

DOWNSTREAM = "downstream"
UPSTREAM = "upstream"
INTERNAL = "internal"
CONFIG = "config"


class FastProxyError(Exception):
    status: int = 500
    source: str = INTERNAL
    retry_safe: bool = False


class HttpParseError(FastProxyError):
    """A message head or chunked body broke the HTTP/1.x rules.

    ``code`` and ``name`` come from :mod:`fastproxy.parser.codes`.  A request
    error has the status its code maps to and source ``downstream``; a
    response error (raised by ResponseParser) is a 502 from ``upstream``.
    """

    def __init__(self, code: int, name: str, status: int, message: str, source: str = DOWNSTREAM) -> None:
        super().__init__(f"{name}: {message}")
        self.code = code
        self.name = name
        self.status = status
        self.message = message
        self.source = source


class ConfigError(FastProxyError):
    """One or more problems in a configuration; ``problems`` lists them all.

    Each problem is a (key path, message) pair, e.g.
    ``("upstream.api.servers[1]", "port 99999 is out of range")``.
    """

    source = CONFIG

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(f"{path}: {msg}" if path else msg for path, msg in self.problems))
