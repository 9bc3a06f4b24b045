"""The balance stage of the data path: which server of an upstream takes a request.

An upstream is one ``Group``: its connection pools, in the order of its
servers, and the balancer its config names (fastproxy/balancers: every
policy), built once per process.  Per request the data path calls::

    i = group.pick(head, buf, target, peer)   # -1: every server is down (503)
    group.acquire(i)                          # the exchange with pools[i] begins
    ...
    group.release(i, latency)                 # it ended; latency < 0 if it failed

Only the hash policies look at the request: the key (client address after
trusted proxies, a header, a cookie, the URI or a query argument) is pulled
out of the parsed head for them alone, so round robin and the other
policies cost one C call per pick.

Compiled (balance.pxd) and with the balancers' extension, pick, acquire and
release call the balancer's cdef methods; otherwise its Python methods.
"""

from __future__ import annotations

from collections.abc import Sequence

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext
from fastproxy.balancers import cookie_value, query_value
from fastproxy.balancers._args import KEY_CLIENT_IP, KEY_COOKIE, KEY_HEADER, KEY_QUERY, KEY_URI
from fastproxy.parser import codes

_ext.loaded(__name__, cython.compiled)

H_X_FORWARDED_FOR = codes.H_X_FORWARDED_FOR
# key_kind of a group whose policy does not hash.
KEY_NONE = -1

# Why a server is out of the balancer's choices.  Each source of verdicts
# owns one bit; a server is chosen again only when every bit is clear, so an
# admin drain is not undone by a passing health check, nor an ejection by
# an admin enable.
OUT_ACTIVE = 1   # the active health check says down
OUT_PASSIVE = 2  # ejected by passive checks, for a backoff
OUT_ADMIN = 4    # drained through the admin API
OUT_REASONS = {OUT_ACTIVE: "health_check", OUT_PASSIVE: "ejected", OUT_ADMIN: "drained"}


class Group:
    """One upstream: its pools and its balancer.

    ``balancer`` is a fastproxy.balancers balancer over the servers of
    ``pools`` (same order); ``extractor`` its KeyExtractor (None unless the
    policy hashes); ``trusted`` the TrustedProxies that say which client
    address ip_hash and ``hash_key = "client_ip"`` see.
    """

    __slots__ = ("balancer", "c", "health", "key_kind", "key_name", "name", "out", "pools", "trusted")

    def __init__(self, name: str, pools: Sequence, balancer, extractor, trusted) -> None:
        if not pools or len(pools) != balancer.size:
            raise ValueError("a group needs one pool per server of its balancer")
        self.name = name
        self.pools = tuple(pools)
        self.balancer = balancer
        self.trusted = trusted
        self.key_kind: int = KEY_NONE if extractor is None else extractor.kind
        self.key_name: bytes = b"" if extractor is None else extractor.name
        self.out = [0] * len(self.pools)
        # Its health.state.UpstreamHealth, once the proxy context has made it.
        self.health = None
        self.c = None
        if cython.compiled:
            self._bind_c(balancer)  # Fast path: the balancer is a C type

    def pick(self, head, buf: bytearray, target: bytes, peer) -> int:
        """The index of the server for this request, or -1 when none is up.

        ``head``/``buf``: the parsed request head (heads.ParsedHead) and its
        buffer; ``target`` the request target as received; ``peer`` the
        rewrite.Peer of the client connection.
        """
        if self.key_kind == KEY_NONE:
            if cython.compiled and self.c is not None:
                return self._pick_c()
            return self.balancer.pick()
        key = self.key(head, buf, target, peer)
        if cython.compiled and self.c is not None:
            return self._pick_key_c(key)
        return self.balancer.pick(key)

    def key(self, head, buf: bytearray, target: bytes, peer) -> bytes | None:
        """The hash key of this request (None: it has none, spread by rotation)."""
        kind = self.key_kind
        if kind == KEY_CLIENT_IP:
            return self._client_ip(head, buf, peer)
        if kind == KEY_URI:
            return target
        if kind == KEY_QUERY:
            return query_value(target, self.key_name)
        if kind == KEY_HEADER:
            for i in range(head.count):
                if head.name(buf, i) == self.key_name:
                    return head.value(buf, i)
            return None
        if kind == KEY_COOKIE:
            for i in range(head.count):
                if head.name(buf, i) == b"cookie":
                    found = cookie_value(head.value(buf, i), self.key_name)
                    if found is not None:
                        return found
        return None

    def _client_ip(self, head, buf: bytearray, peer) -> bytes:
        """The client address as the rewriter will name it (X-Real-IP)."""
        if not peer.trusted:
            return peer.ip_b
        xff = None
        for i in range(head.count):
            if head.field_id(i) == H_X_FORWARDED_FOR:
                value = head.value(buf, i)
                xff = value if xff is None else xff + b", " + value
        if xff is None:
            return peer.ip_b
        return self.trusted.client_ip(peer.ip, xff).encode("ascii")

    def acquire(self, i: int) -> None:
        """The exchange with server ``i`` begins (``i`` from pick, >= 0)."""
        if cython.compiled and self.c is not None:
            self._acquire_c(i)
        else:
            self.balancer.acquire(i)

    def release(self, i: int, latency: float) -> None:
        """The exchange with server ``i`` ended, after ``latency`` seconds (< 0: it failed)."""
        if cython.compiled and self.c is not None:
            self._release_c(i, latency)
        else:
            self.balancer.release(i, latency)

    def pick_other(self, key: bytes | None, tried: int) -> int:
        """A server for a retry: the pick, with the servers of the bit mask
        ``tried`` left out (-1: none is left).  ``key``: the request's hash
        key (``key()``), for the hash policies: the retry goes to the key's
        next choice.  Retries are rare: a Python call to the balancer."""
        return self.balancer.pick_skip(tried, key)

    # -- server state (off the hot path: health checks, admin API) -------------

    def set_out(self, i: int, reason: int, out: bool) -> bool:
        """Sets or clears one OUT_* ``reason`` for server ``i``; the balancer
        hears only of the transitions between "some reason" and "none".
        True when the server's place in the choices changed."""
        if not 0 <= i < len(self.pools):
            raise IndexError("server index out of range")
        before = self.out[i]
        after = (before | reason) if out else (before & ~reason)
        self.out[i] = after
        if bool(before) == bool(after):
            return False
        if after:
            self.balancer.mark_down(i)
        else:
            self.balancer.mark_up(i)
        return True

    def out_reasons(self, i: int) -> list[str]:
        """Why server ``i`` is out of the choices (empty: it is in)."""
        bits = self.out[i]
        return [name for bit, name in OUT_REASONS.items() if bits & bit]
