"""Starting and stopping the proxy: listeners, the event loop, signals, logging.

``start(config)`` binds every listener on the running loop and returns a
:class:`Proxy`; ``serve(config)`` runs one process on uvloop until SIGINT or
SIGTERM.  Everything here runs once per process or per connection; the
per-request work is in the data path, one stage per module:

    accept          server.py             listeners, loop, signals, logging
    parse, state    downstream.py         one client connection (parser: fastproxy.parser)
    route           route.py              host / path prefix, first match wins
    balance         balance.py            smooth weighted round-robin
    upstream        upstream/pool.py      keep-alive pool per server
                    upstream/connection.py  one upstream connection, response relay
    rewrite         rewrite.py            request and response heads
    bodies          relay.py              framing, re-framing, one write per piece
    answer          respond.py            the proxy's own error answers and log lines
and their helpers: context.py (typed settings), clientip.py (trusted
proxies), deadline.py (timers), buffers.py (receive buffers), counters.py.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from types import ModuleType

from fastproxy.context import ProxyContext
from fastproxy.downstream import Downstream

log = logging.getLogger("fastproxy.server")

# How long close() waits for connections to finish closing.
CLOSE_WAIT = 5.0


class _Factory:
    """Protocol factory for one proxy: a plain object, no closure."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: ProxyContext) -> None:
        self.ctx = ctx

    def __call__(self) -> Downstream:
        return Downstream(self.ctx)


class Proxy:
    """A running proxy: its bound ``addresses``, ``counters``, and ``close``."""

    def __init__(self, ctx: ProxyContext, servers: list, addresses: list[tuple[str, int]]) -> None:
        self.ctx = ctx
        self.servers = servers
        self.addresses = addresses
        self.counters = ctx.counters
        self._closed = False

    def open_connections(self) -> tuple[int, int]:
        """(client connections, upstream connections) currently open."""
        return len(self.ctx.clients), len(self.ctx.upstreams)

    async def close(self) -> None:
        """Stops accepting, closes every connection and waits until they are gone.

        Idle client connections are closed, busy ones are cut (graceful
        draining is the multi-worker issue's job); idle upstream connections
        are closed.
        """
        if self._closed:
            return
        self._closed = True
        ctx = self.ctx
        ctx.closing = True
        for server in self.servers:
            server.close()
        for client in list(ctx.clients):
            client.shutdown()
        for pool in ctx.pools:
            pool.close()
        for conn in list(ctx.upstreams):
            conn.close()
        if ctx.clients or ctx.upstreams:
            ctx.closed_waiter = ctx.loop.create_future()
            ctx.connection_gone()
            try:
                await asyncio.wait_for(ctx.closed_waiter, CLOSE_WAIT)
            except asyncio.TimeoutError:  # noqa: UP041 (not the builtin on Python 3.10)
                log.warning("close: %d client and %d upstream connections still open after %gs",
                            len(ctx.clients), len(ctx.upstreams), CLOSE_WAIT)
        for server in self.servers:
            await server.wait_closed()


async def start(config, parser: ModuleType | None = None) -> Proxy:
    """Binds every listener of ``config`` on the running loop and starts serving.

    ``parser`` is the parser implementation module (tests pass each one in
    turn); by default the one fastproxy.parser chose.  Port 0 binds a free
    port: ``Proxy.addresses`` lists the (host, port) pairs actually bound.
    """
    if parser is None:
        from fastproxy import parser
    loop = asyncio.get_running_loop()
    ctx = ProxyContext.from_config(config, loop, parser)
    factory = _Factory(ctx)
    servers = []
    addresses = []
    try:
        for listener in config.listeners:
            server = await loop.create_server(factory, listener.host, listener.port, reuse_address=True,
                                              backlog=1024)
            servers.append(server)
            for sock in server.sockets:
                if sock.family in (socket.AF_INET, socket.AF_INET6):
                    addresses.append(tuple(sock.getsockname()[:2]))
    except BaseException:
        for server in servers:
            server.close()
        raise
    return Proxy(ctx, servers, addresses)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode("utf-8")


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Sends fastproxy's log lines to stderr, as text or one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("fastproxy")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


async def _serve(config) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        proxy = await start(config)
    except OSError as exc:
        log.error("cannot listen: %s", exc)
        return 1
    for host, port in proxy.addresses:
        log.info("listening on %s", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    await stop.wait()
    log.info("stopping")
    await proxy.close()
    return 0


def serve(config, log_format: str | None = None) -> int:
    """Runs the proxy in this process on uvloop until SIGINT or SIGTERM; the exit code.

    ``log_format`` ("text" or "json") overrides config.log.format.
    """
    configure_logging(log_format or config.log.format)
    try:
        import uvloop
    except ImportError:
        log.warning("uvloop is not installed; using the slower default asyncio loop")
        return asyncio.run(_serve(config))
    return uvloop.run(_serve(config))
