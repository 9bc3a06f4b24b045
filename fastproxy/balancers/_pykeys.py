"""Pure-Python twin of the key extraction in ``_cbalancers.pyx``.

Inputs are what the parser hands over: bytes, never decoded.  A missing key
is None (the balancer then spreads the request by rotation); a present but
empty one is ``b""``, a key like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastproxy.balancers._args import (
    KEY_CLIENT_IP,
    KEY_HEADER,
    KEY_QUERY,
    KEY_URI,
    hash_key_spec,
)

_OWS = b" \t"


def cookie_value(field: bytes, name: bytes) -> bytes | None:
    """The value of cookie ``name`` in a Cookie field value, or None.

    Pairs are split on ";", optional whitespace around them is dropped, and
    the name is matched exactly (cookie names are case-sensitive); the value
    is kept as sent, quotes included.
    """
    for pair in bytes(field).split(b";"):
        key, eq, value = pair.partition(b"=")
        if eq and key.strip(_OWS) == name:
            return value.strip(_OWS)
    return None


def query_value(target: bytes, name: bytes) -> bytes | None:
    """The raw (still percent-encoded) value of the first query argument
    ``name`` in a request target, ``b""`` for an argument without "=", or
    None."""
    target = bytes(target)
    mark = target.find(b"?")
    if mark < 0:
        return None
    query = target[mark + 1 :].partition(b"#")[0]
    for arg in query.split(b"&"):
        key, _, value = arg.partition(b"=")
        if key == name:
            return value
    return None


class KeyExtractor:
    """Pulls the hash key named by a ``hash_key`` setting out of a request.

    ``kind`` is one of the KEY_* codes, ``name`` the header (lowercased),
    cookie or query argument name (bytes, empty for client_ip and uri).
    """

    __slots__ = ("kind", "name", "spec")

    def __init__(self, spec: str) -> None:
        self.kind, self.name = hash_key_spec(spec)
        self.spec = spec

    def extract(
        self, client_ip: bytes | None, target: bytes, headers: Sequence[tuple[bytes, bytes]]
    ) -> bytes | None:
        """The key of one request, or None if it has none.

        ``client_ip``: the client address as text (after trusted proxies),
        ``target``: the request target as sent, ``headers``: (name, value)
        pairs as the parser gives them (values trimmed).
        """
        kind = self.kind
        if kind == KEY_URI:
            return bytes(target)
        if kind == KEY_CLIENT_IP:
            return bytes(client_ip) if client_ip else None
        if kind == KEY_QUERY:
            return query_value(target, self.name)
        if kind == KEY_HEADER:
            for field, value in headers:
                if field.lower() == self.name:
                    return bytes(value)
            return None
        for field, value in headers:  # KEY_COOKIE: every Cookie field, in order
            if field.lower() == b"cookie":
                found = cookie_value(value, self.name)
                if found is not None:
                    return found
        return None

    def __repr__(self) -> str:
        return f"KeyExtractor({self.spec!r})"
