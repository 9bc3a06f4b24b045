"""Per-request accounting: what /metrics and the access log report.

Always on, so it must cost a few integer increments per request: counts sit
in flat arrays of C integers indexed by route, server, status class and
latency bucket (no dicts, no strings, no objects made per request).  Each
client connection owns one :class:`Exchange`, the record of its request in
progress, which downstream.py fills as the exchange goes::

    accounting.begin(x, now, minor)   # a request head was parsed
    x.route = route.index             # routed
    x.status = status                 # the response head went out
    x.bytes_in / x.bytes_out += n     # bytes read from the client / from the upstream
    x.server, x.upstream_time         # the upstream exchange ended (_release_server)
    accounting.end(x, status, ...)    # the exchange is over, however it ended

Layout: ``by_route[route * CLASSES + class]`` where class is the status
class (1..5; 0: no response at all, e.g. the client went away); the slot
after the last route counts requests that matched none (404, bad heads).
``by_server[server * CLASSES + class]`` by server index (ctx.pools order).
``latency[route * BUCKETS + b]`` counts total times at most LATENCY_BOUNDS[b]
(the last bucket: above them all), not cumulative: export makes them so.

With an access log (accesslog.py), ``end`` also hands it one tuple per
request; that is the log's cost, paid only when it is configured.
"""

from __future__ import annotations

from array import array

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

CLASSES = 6
# Seconds, the upper bounds of the latency buckets (Prometheus "le").
LATENCY_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BUCKETS = len(LATENCY_BOUNDS) + 1


class Exchange:
    """The request in progress on one client connection (made once per connection)."""

    __slots__ = ("bytes_in", "bytes_out", "minor", "open", "route", "server", "start", "status", "upstream_time")

    def __init__(self) -> None:
        self.open: bool = False
        self.route: int = -1
        self.server: int = -1
        self.status: int = 0
        self.bytes_in: int = 0
        self.bytes_out: int = 0
        self.start: float = 0.0
        self.upstream_time: float = -1.0
        self.minor: int = 1  # HTTP/1.x of the request


class Accounting:
    """The counts of one process over ``routes`` routes and ``servers``
    upstream servers; ``log`` the access log (accesslog.AccessLog) or None."""

    __slots__ = ("arrays", "bounds", "by_route", "by_server", "bytes_in", "bytes_out", "in_flight", "latency",
                 "latency_sum", "log", "routes", "servers", "tls_handshakes")

    def __init__(self, routes: int, servers: int) -> None:
        self.routes = routes
        self.servers = servers
        by_route = array("q", bytes(8 * (routes + 1) * CLASSES))
        by_server = array("q", bytes(8 * max(servers, 1) * CLASSES))
        latency = array("q", bytes(8 * (routes + 1) * BUCKETS))
        latency_sum = array("d", bytes(8 * (routes + 1)))
        # The arrays themselves, for snapshot (compiled, the fields are memoryviews of them).
        self.arrays = (by_route, by_server, latency, latency_sum)
        self.by_route = by_route
        self.by_server = by_server
        self.latency = latency
        self.latency_sum = latency_sum
        self.bounds = array("d", LATENCY_BOUNDS)
        self.bytes_in = 0
        self.bytes_out = 0
        self.in_flight = 0
        self.tls_handshakes = 0
        self.log = None

    def begin(self, x: Exchange, now: float, minor: int) -> None:
        """A request head (HTTP/1.``minor``) was parsed: its exchange starts at ``now``."""
        if x.open:  # a safety net: every ending already closed it
            self.end(x, 0, now, None, None, None)
        x.open = True
        x.start = now
        x.route = -1
        x.server = -1
        x.status = 0
        x.upstream_time = -1.0
        x.minor = minor
        self.in_flight += 1

    def end(self, x: Exchange, status: int, now: float, peer, method, target) -> None:
        """The exchange of ``x`` is over: counts it once (later calls do
        nothing).  ``status``: the answer, unless a response had started
        (x.status, which the client saw, wins); 0: none.  An ``end`` with a
        status and no open exchange counts a request refused before it was
        parsed (a bad head).  ``peer``, ``method``, ``target``: for the log."""
        if x.open:
            x.open = False
            self.in_flight -= 1
        elif status <= 0:
            return
        else:
            x.start = now
            x.route = -1
        if x.status == 0:
            x.status = status
        status = x.status
        klass = status // 100 if 100 <= status < 600 else 0
        route = x.route
        if route < 0 or route >= self.routes:
            route = self.routes
        self.by_route[route * CLASSES + klass] += 1
        server = x.server
        if 0 <= server < self.servers:
            self.by_server[server * CLASSES + klass] += 1
        elapsed = now - x.start
        bounds = self.bounds
        b = 0
        n = BUCKETS - 1
        while b < n and elapsed > bounds[b]:
            b += 1
        self.latency[route * BUCKETS + b] += 1
        self.latency_sum[route] += elapsed
        self.bytes_in += x.bytes_in
        self.bytes_out += x.bytes_out
        if self.log is not None:
            self.log.record(x, elapsed, peer, method, target)
        x.bytes_in = 0
        x.bytes_out = 0
        x.server = -1
        x.status = 0

    def snapshot(self) -> dict:
        """The counts as plain lists (off the hot path: metrics)."""
        by_route, by_server, latency, latency_sum = self.arrays
        return {
            "classes": CLASSES,
            "bounds": list(LATENCY_BOUNDS),
            "by_route": by_route.tolist(),
            "by_server": by_server.tolist()[:self.servers * CLASSES],
            "latency": latency.tolist(),
            "latency_sum": latency_sum.tolist(),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "in_flight": self.in_flight,
            "tls_handshakes": self.tls_handshakes,
        }
