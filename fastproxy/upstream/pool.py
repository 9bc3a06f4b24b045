"""Keep-alive connections to one upstream server.

Idle connections are kept on a stack: the most recently used is reused
first (its peer is least likely to have timed it out), and the ones left at
the bottom expire on their own idle timers.  A connection is taken back only
after a clean exchange (connection.py decides) and only while the pool has
room and the connection has requests left (max_requests).
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext
from fastproxy.upstream.connection import UpstreamConnection, UpstreamProtocol

_ext.loaded(__name__, cython.compiled)


class Pool:
    __slots__ = (
        "address",
        "closing",
        "ctx",
        "head_timeout",
        "host",
        "host_header",
        "idle",
        "idle_timeout",
        "index",
        "max_idle",
        "max_requests",
        "port",
        "server_hostname",
        "ssl",
    )

    def __init__(self, ctx, host: str, port: int, max_idle: int = 1024, idle_timeout: float = 60.0,
                 max_requests: int = 1000, ssl=None, server_hostname: str | None = None) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        # Sent as Host when a request has none (HTTP/1.0).
        self.host_header = self.address.encode("ascii")
        self.idle: list = []
        # Its place among all servers (ProxyContext.pools): accounting.py counts by it.
        self.index = -1
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.max_requests = max_requests
        self.closing = False
        # How long a response head may take once the request is sent: the
        # upstream's retry.per_try_timeout when set (context.py).
        self.head_timeout = ctx.upstream_read_timeout
        # TLS to the server (an ssl.SSLContext) and the name it must show; None: plain.
        self.ssl = ssl
        self.server_hostname = server_hostname

    def acquire(self) -> UpstreamConnection | None:
        """An idle connection, or None: then call ``connect``."""
        idle = self.idle
        while idle:
            conn = idle.pop()
            if conn.usable():
                self.ctx.counters.upstream_reuses += 1
                return conn
        return None

    def connect(self, owner) -> UpstreamConnection:
        """A new connection, connecting for ``owner`` (see UpstreamConnection.connect)."""
        conn = UpstreamProtocol(self)
        conn.connect(owner)
        return conn

    def release(self, conn: UpstreamConnection, now: float = -1.0) -> None:
        """Takes back a connection whose exchange ended cleanly, or closes it.
        ``now``: the time, when the caller has just read it."""
        if (self.closing or len(self.idle) >= self.max_idle
                or (self.max_requests and conn.requests >= self.max_requests)):
            conn.close()
            return
        conn.park(self.idle_timeout, now)
        self.idle.append(conn)

    def forget(self, conn: UpstreamConnection) -> None:
        """Drops a closing connection from the idle stack, if it is there."""
        try:
            self.idle.remove(conn)
        except ValueError:
            pass

    def close(self) -> None:
        self.closing = True
        idle = self.idle
        self.idle = []
        for conn in idle:
            conn.close()
