"""The compiled router: which upstream serves a request (host, then path prefix).

Routes are tried in configuration order and the first match wins.  A route
matches when both its host and its path prefix do; a missing host or prefix
matches anything.

Host: the request's Host (or the authority of an absolute-form target),
lower-cased, without port and without a trailing dot.  A route host is an
exact name or IP literal, or "*.name", which matches any host ending in
".name" (one or more labels) but not "name" itself.

Path prefix: compared byte for byte with the raw request path (no decoding,
no dot-segment removal).  A prefix ending in "/" matches any path starting
with it; any other prefix matches on segment boundaries only, so "/api"
matches "/api", "/api/x" and "/api?q" but not "/apix".  With strip_prefix
the prefix is cut from the target and what remains is made absolute
("/api/" + "users?q" -> "/users?q").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)


class Route:
    __slots__ = ("host", "index", "prefix", "slash_prefix", "strip", "suffix", "upstream")

    def __init__(self, index: int, host: str | None, path_prefix: str | None, strip: bool, upstream) -> None:
        self.index = index
        self.host: bytes | None = None
        self.suffix: bytes | None = None
        if host is not None:
            if host.startswith("*."):
                self.suffix = host[1:].lower().encode("ascii")
            else:
                self.host = host.lower().encode("ascii")
        self.prefix: bytes | None = path_prefix.encode("ascii") if path_prefix else None
        self.slash_prefix: bool = self.prefix is not None and self.prefix.endswith(b"/")
        self.strip: bool = bool(strip and self.prefix)
        # What the route sends to: its upstream's balance.Group.
        self.upstream = upstream

    def matches(self, host: bytes, path: bytes) -> bool:
        if self.host is not None:
            if host != self.host:
                return False
        elif self.suffix is not None and not (host.endswith(self.suffix) and len(host) > len(self.suffix)):
            return False
        prefix = self.prefix
        if prefix is None:
            return True
        if not path.startswith(prefix):
            return False
        if self.slash_prefix or len(path) == len(prefix):
            return True
        return path[len(prefix)] in b"/?"

    def target(self, path: bytes) -> bytes:
        """The request target sent upstream for the matched ``path``."""
        if not self.strip:
            return path
        rest = path[len(self.prefix):]
        if rest.startswith(b"/"):
            return rest
        return b"/" + rest


class Router:
    """First-match-wins list of compiled routes."""

    __slots__ = ("routes",)

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)

    @classmethod
    def from_config(cls, routes, upstreams: Mapping[str, object]) -> Router:
        """Compiles config routes; ``upstreams`` maps upstream names to what a
        matched route should carry (the upstream's balance.Group)."""
        return cls(
            Route(i, r.host, r.path_prefix, r.strip_prefix, upstreams[r.upstream]) for i, r in enumerate(routes)
        )

    def match(self, host: bytes, path: bytes) -> Route | None:
        """The first route for this normalised host (see host_key) and raw path."""
        for route in self.routes:
            if route.matches(host, path):
                return route
        return None


def host_key(value: bytes) -> bytes:
    """A Host value as routes compare it: lower case, no port, no trailing dot."""
    if value.startswith(b"["):
        end = value.find(b"]")
        host = value[: end + 1] if end > 0 else value
    else:
        colon = value.find(b":")
        host = value if colon < 0 else value[:colon]
    if host.endswith(b"."):
        host = host[:-1]
    return host.lower()


def split_absolute(target: bytes) -> tuple[bytes, bytes]:
    """(authority, origin-form path) of an absolute-form target such as
    "http://example.com:8080/a?b"; the path is "/" when the target has none
    ("http://example.com?q" -> "/?q")."""
    rest = target[target.find(b"://") + 3:]
    end = len(rest)
    for sep in (b"/", b"?"):
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    authority = rest[:end]
    # userinfo is not allowed in http(s) URIs (RFC 9110 4.2.4): keep only the host part.
    at = authority.rfind(b"@")
    if at >= 0:
        authority = authority[at + 1:]
    path = rest[end:]
    if not path.startswith(b"/"):
        path = b"/" + path
    return authority, path
