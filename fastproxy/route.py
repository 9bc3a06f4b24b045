"""The compiled router: which route serves a request.

Routes are tried in configuration order and the first match wins.  A route
matches when its host and its path prefix do (a missing host or prefix
matches anything) and then its other conditions (Conditions: scheme,
methods, path regex, headers, query arguments, client certificate), which
most routes do not have: they cost nothing to the others.

Host: the request's Host (or the authority of an absolute-form target),
lower-cased, without port and without a trailing dot.  A route host is an
exact name or IP literal, or "*.name", which matches any host ending in
".name" (one or more labels) but not "name" itself; a route may list
several (a set of exact names and a tuple of suffixes).

Path prefix: compared byte for byte with the raw request path (no decoding,
no dot-segment removal).  A prefix ending in "/" matches any path starting
with it; any other prefix matches on segment boundaries only, so "/api"
matches "/api", "/api/x" and "/api?q" but not "/apix".  With strip_prefix
the prefix is cut from the target and what remains is made absolute
("/api/" + "users?q" -> "/users?q"); with rewrite_prefix it is replaced
("/api" -> "/v2": "/api/x" -> "/v2/x"); with rewrite_path the target is
rebuilt from the groups of the path regex, and the query kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import unquote_to_bytes

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)


# How a request header or query argument condition compares (Conditions);
# Python-visible (actions.py builds the tests), so not declared in route.pxd.
T_PRESENT = 0
T_ABSENT = 1
T_EXACT = 2
T_REGEX = 3


class Conditions:
    """The conditions of a route beyond host and path prefix, all of which
    must hold; a route without any has none of these objects (Route.more).

    ``methods``: frozenset of method bytes, or None.  ``regex``: a compiled
    bytes pattern searched in the path (without its query), or None.
    ``headers`` / ``query``: tuples of (name, field id, T_*, value, regex);
    header names are lower-case bytes, found by field id when the parser
    tags them (codes.FIELD_IDS), else by name; query names and values are
    compared percent-decoded.  ``subjects`` / ``cns``: frozensets of the
    verified client certificate's subject (RFC 4514) or common name, or None.
    ``tls``: 1 for requests over TLS only, 0 for plain HTTP only, -1 either.
    """

    __slots__ = ("cns", "headers", "methods", "query", "regex", "subjects", "tls")

    def __init__(self, methods, regex, headers: tuple, query: tuple, subjects, cns, tls: int = -1) -> None:
        self.tls = tls
        self.methods = methods
        self.regex = regex
        self.headers = headers
        self.query = query
        self.subjects = subjects
        self.cns = cns

    def first_failure(self, method: bytes, path: bytes, head, buf: bytearray, peer) -> str | None:
        """None when every condition holds, else the name of the first that fails."""
        if self.tls >= 0 and (peer is None or peer.tls != self.tls):
            return "scheme"
        if self.methods is not None and method not in self.methods:
            return "methods"
        if self.regex is not None and self.regex.search(path_only(path)) is None:
            return "path_regex"
        for test in self.headers:
            if not _header_holds(test, head, buf):
                return "headers"
        if self.query and not _query_holds(self.query, path):
            return "query"
        if self.subjects is not None and (peer is None or peer.subject not in self.subjects):
            return "client_subject"
        if self.cns is not None and (peer is None or peer.cn not in self.cns):
            return "client_cn"
        return None


def path_only(path: bytes) -> bytes:
    """The path without its query."""
    mark = path.find(b"?")
    return path if mark < 0 else path[:mark]


def _value_holds(kind: int, value: bytes, want: bytes, regex) -> bool:
    if kind == T_EXACT:
        return value == want
    if kind == T_REGEX:
        return regex.search(value) is not None
    return True


def _header_holds(test: tuple, head, buf: bytearray) -> bool:
    name, hid, kind, want, regex = test
    found = False
    for i in range(head.count):
        if hid:
            if head.field_id(i) != hid:
                continue
        elif head.field_id(i) != 0 or head.name(buf, i) != name:
            continue
        if kind == T_ABSENT:
            return False
        if _value_holds(kind, head.value(buf, i), want, regex):
            return True
        found = True
    return kind == T_ABSENT and not found


def query_pairs(path: bytes) -> list:
    """The (name, value) pairs of the query of ``path``, percent-decoded
    ("+" is a space, as HTML forms send it)."""
    mark = path.find(b"?")
    if mark < 0:
        return []
    pairs = []
    for part in path[mark + 1:].split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def _query_holds(tests: tuple, path: bytes) -> bool:
    pairs = query_pairs(path)
    for name, hid, kind, want, regex in tests:
        found = False
        held = False
        for key, value in pairs:
            if key == name:
                found = True
                if _value_holds(kind, value, want, regex):
                    held = True
                    break
        if kind == T_ABSENT:
            if found:
                return False
        elif not held:
            return False
    return True


class Route:
    """One compiled route.  ``upstream``: what a forwarding route sends to
    (its upstream's balance.Group), None for a route that answers itself
    (``answer``, from actions.py).  ``more``: its Conditions, None when it
    has only host and path prefix (the fast path).  ``req_edits``: the
    rewrite.HeaderEdits toward the upstream; ``resp_plain`` / ``resp_tls``
    toward the client over plain HTTP / TLS (HSTS only in the latter)."""

    __slots__ = ("answer", "host", "hosts", "index", "more", "prefix", "replacement", "req_edits", "resp_plain",
                 "resp_tls", "slash_prefix", "strip", "suffix", "suffixes", "template", "upstream")

    def __init__(self, index: int, host, path_prefix: str | None, strip: bool, upstream) -> None:
        """``host``: None, a name or "*.name", or a tuple of them."""
        self.index = index
        self.host: bytes | None = None
        self.suffix: bytes | None = None
        self.hosts: frozenset | None = None
        self.suffixes: tuple | None = None
        names = (host,) if isinstance(host, str) else tuple(host or ())
        if len(names) == 1:
            if names[0].startswith("*."):
                self.suffix = names[0][1:].lower().encode("ascii")
            else:
                self.host = names[0].lower().encode("ascii")
        elif names:
            self.hosts = frozenset(n.lower().encode("ascii") for n in names if not n.startswith("*."))
            self.suffixes = tuple(n[1:].lower().encode("ascii") for n in names if n.startswith("*."))
        self.prefix: bytes | None = path_prefix.encode("ascii") if path_prefix else None
        self.slash_prefix: bool = self.prefix is not None and self.prefix.endswith(b"/")
        self.strip: bool = bool(strip and self.prefix)
        # What replaces the prefix in the target sent upstream (strip: "/").
        self.replacement: bytes | None = b"/" if self.strip else None
        # rewrite_path: bytes literals and group numbers of more.regex.
        self.template: tuple | None = None
        self.upstream = upstream
        self.answer = None
        self.more = None
        self.req_edits = None
        self.resp_plain = None
        self.resp_tls = None

    def matches(self, host: bytes, path: bytes) -> bool:
        """Whether host and path prefix match (Conditions are apart)."""
        if self.host is not None:
            if host != self.host:
                return False
        elif self.suffix is not None:
            if not (host.endswith(self.suffix) and len(host) > len(self.suffix)):
                return False
        elif self.hosts is not None and host not in self.hosts and not self._suffix_match(host):
            return False
        prefix = self.prefix
        if prefix is None:
            return True
        if not path.startswith(prefix):
            return False
        if self.slash_prefix or len(path) == len(prefix):
            return True
        return path[len(prefix)] in b"/?"

    def _suffix_match(self, host: bytes) -> bool:
        for suffix in self.suffixes:
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        return False

    def target(self, path: bytes) -> bytes:
        """The request target sent upstream for the matched ``path``."""
        if self.template is not None:
            return self._regex_target(path)
        replacement = self.replacement
        if replacement is None:
            return path
        rest = path[len(self.prefix):]
        if self.slash_prefix:
            rest = b"/" + rest
        if rest.startswith(b"/") and replacement.endswith(b"/"):
            return replacement + rest[1:]
        return replacement + rest

    def _regex_target(self, path: bytes) -> bytes:
        mark = path.find(b"?")
        bare = path if mark < 0 else path[:mark]
        found = self.more.regex.search(bare)
        parts = []
        for part in self.template:
            if isinstance(part, bytes):
                parts.append(part)
            else:
                parts.append(found.group(part) or b"")
        target = b"".join(parts)
        if not target.startswith(b"/"):
            target = b"/" + target
        return target if mark < 0 else target + path[mark:]


class Router:
    """First-match-wins list of compiled routes."""

    __slots__ = ("routes",)

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)

    @classmethod
    def from_config(cls, routes, upstreams: Mapping[str, object], hidden: frozenset = frozenset()) -> Router:
        """Compiles config routes (actions.compile_route); ``upstreams`` maps
        upstream names to what a forwarding route carries (the upstream's
        balance.Group); ``hidden``: ResponseRewriter.hide_names."""
        from fastproxy.actions import compile_route

        return cls(compile_route(i, r, upstreams, hidden) for i, r in enumerate(routes))

    def match(self, host: bytes, path: bytes, method: bytes = b"GET", head=None, buf=None, peer=None) -> Route | None:
        """The first route for this normalised host (see host_key) and raw
        path, whose other conditions (if any) hold for ``method``, the parsed
        ``head`` in ``buf`` and the connection's rewrite.Peer."""
        for route in self.routes:
            # Fast path: a route on host and prefix only has no ``more``.
            if route.matches(host, path) and (
                    route.more is None or route.more.first_failure(method, path, head, buf, peer) is None):
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
