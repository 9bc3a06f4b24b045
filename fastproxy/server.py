"""Starting and stopping the proxy: listeners, draining, logging.

``start(config)`` binds every listener on the running loop (or serves the
sockets it is given) and returns a :class:`Proxy`; ``Proxy.drain`` is the
graceful stop, ``Proxy.close`` the immediate one.  ``serve(config)`` runs
the supervisor and its workers (supervisor.py, worker.py) until SIGINT or
SIGTERM.  Everything here runs once per process or per connection; the
per-request work is in the data path, one stage per module:

    processes       supervisor.py         workers, signals, reloads
                    listeners.py          the listening sockets the workers share
                    worker.py             one worker process: its loop and signals
    accept          server.py             listeners, draining, logging
                    tls.py                TLS contexts: listeners (SNI), upstreams
    parse, state    downstream.py         one client connection (parser: fastproxy.parser)
    route           route.py              host / path prefix, first match wins
    balance         balance.py            smooth weighted round-robin
                    health/               active checks, ejections, retries and their budget
    upstream        upstream/pool.py      keep-alive pool per server
                    upstream/connection.py  one upstream connection, response relay
    rewrite         rewrite.py            request and response heads
    bodies          relay.py              framing, re-framing, one write per piece
    answer          respond.py            the proxy's own error answers and log lines
    log             accounting.py         per-request counts: routes, servers, latency
                    accesslog.py          access log lines, written off the hot path
    operate         admin.py              the admin API, in the supervisor
                    control.py            a worker's control channel to it
                    metrics.py            worker snapshots, their sum, Prometheus text
and their helpers: context.py (typed settings), heads.py (parse results),
outgoing.py (the next write), clientip.py (trusted proxies), deadline.py
(timers), buffers.py (receive buffers), counters.py.  The data-path modules
are compiled by Cython from these same sources (setup.py, fastproxy/_ext.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from types import ModuleType

from fastproxy.context import ProxyContext
from fastproxy.downstream import DownstreamProtocol
from fastproxy.errors import ConfigError
from fastproxy.health import health_snapshot
from fastproxy.tls import listener_tls

log = logging.getLogger("fastproxy.server")

# How long close() waits for connections to finish closing.
CLOSE_WAIT = 5.0
# How often a TLS listener's certificate files are checked for changes.
TLS_CHECK_INTERVAL = 5.0
# While draining, how often connections that became idle are looked for.
DRAIN_SWEEP = 0.05


class _Factory:
    """Protocol factory for one proxy: a plain object, no closure."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: ProxyContext) -> None:
        self.ctx = ctx

    def __call__(self) -> DownstreamProtocol:
        return DownstreamProtocol(self.ctx)


class _TlsFactory(_Factory):
    """The factory of a TLS listener.  It also remembers the connections in
    their handshake, which the data path sees only once it is done
    (connection_made), so that a drain waits for them too."""

    __slots__ = ("handshaking", "limit", "subject_header", "timeout")

    def __init__(self, ctx: ProxyContext, timeout: float, subject_header: str | None = None) -> None:
        super().__init__(ctx)
        self.timeout = timeout
        # mTLS: the field that carries the verified client subject upstream.
        self.subject_header = subject_header
        self.handshaking: dict = {}
        self.limit = 64

    def __call__(self) -> DownstreamProtocol:
        protocol = DownstreamProtocol(self.ctx)
        protocol.subject_header = self.subject_header
        if len(self.handshaking) >= self.limit:
            # Amortised: the limit doubles past what a sweep leaves.
            self.limit = max(64, 2 * self.sweep())
        self.handshaking[protocol] = self.ctx.loop.time()
        return protocol

    def sweep(self) -> int:
        """Forgets the connections done with their handshake (they have a
        transport) or past its timeout; the number still in one."""
        expired = self.ctx.loop.time() - self.timeout
        self.handshaking = {p: t for p, t in self.handshaking.items() if p.transport is None and t > expired}
        return len(self.handshaking)


class Proxy:
    """A running proxy: its bound ``addresses``, ``counters``, ``drain`` and ``close``.

    ``tls`` lists each listener's fastproxy.tls.ServerTLS (None for plain
    ones); while there is one, a task re-reads changed certificate files
    every TLS_CHECK_INTERVAL seconds.
    """

    def __init__(self, ctx: ProxyContext, servers: list, addresses: list[tuple[str, int]],
                 tls: list | None = None, tls_factories: list | None = None) -> None:
        self.ctx = ctx
        self.servers = servers
        self.addresses = addresses
        self.counters = ctx.counters
        self.tls = tls or []
        self._tls_factories = tls_factories or []
        self._closed = False
        self._watcher = None
        if any(self.tls):
            self._watcher = ctx.loop.create_task(self._watch_tls())
        # Active checks, ejection timers, retry budgets (fastproxy/health).
        for group in ctx.groups:
            group.health.start(ctx.loop)

    def health(self) -> list[dict]:
        """Per upstream, the state of its servers (health.UpstreamHealth.snapshot)."""
        return health_snapshot(self.ctx)

    def refresh_tls(self) -> int:
        """Re-reads changed certificate files now; the number of certificates replaced."""
        return sum(server_tls.refresh() for server_tls in self.tls if server_tls is not None)

    async def _watch_tls(self) -> None:
        while True:
            await asyncio.sleep(TLS_CHECK_INTERVAL)
            try:
                self.refresh_tls()
            except Exception:  # a bug, not a bad file (refresh logs those): keep watching
                log.exception("certificate check failed")

    def reopen_logs(self) -> None:
        """Opens the access log file again (SIGUSR1: after a log rotation)."""
        access_log = self.ctx.accounting.log
        if access_log is not None:
            access_log.reopen()

    def open_connections(self) -> tuple[int, int]:
        """(client connections, upstream connections) currently open."""
        return len(self.ctx.clients), len(self.ctx.upstreams)

    async def drain(self, timeout: float) -> bool:
        """Graceful stop: stops accepting, lets the requests in flight finish
        for up to ``timeout`` seconds, then closes what is left (see close).

        From now on every response says ``Connection: close`` and its
        connection closes after it; kept-alive connections waiting for their
        next request close at once.  A connection not answered yet is left
        to send its first request, which it may well have sent already
        (answered, it closes); so is a connection still in its TLS
        handshake.  An upgraded connection (a tunnel) is in flight until it
        ends.  True when everything finished in time.
        """
        if self._closed:
            return True
        ctx = self.ctx
        loop = ctx.loop
        ctx.closing = True
        for server in self.servers:
            server.close()
        # A connection the loop accepted just before has its connection_made
        # still queued: one turn of the loop lets it join ctx.clients, else
        # the first sweep could find nothing left and exit under it.
        await asyncio.sleep(0)
        for pool in ctx.pools:
            pool.close()  # idle upstream connections go; busy ones after their exchange
        deadline = loop.time() + timeout
        while True:
            # Swept again and again: a first answer makes a connection one to close.
            for client in list(ctx.clients):
                if client.served:
                    client.drain()  # waiting: closes now; busy: after its response
            handshakes = sum(factory.sweep() for factory in self._tls_factories)
            if not ctx.clients and not ctx.upstreams and not handshakes:
                finished = True
                break
            left = deadline - loop.time()
            if left <= 0:
                finished = False
                log.warning("drain: %d client connections still busy after %gs; closing them",
                            len(ctx.clients), timeout)
                break
            ctx.closed_waiter = loop.create_future()
            try:
                await asyncio.wait_for(ctx.closed_waiter, min(left, DRAIN_SWEEP))
            except asyncio.TimeoutError:  # (not the builtin on Python 3.10)
                pass
        await self.close()
        return finished

    async def close(self) -> None:
        """Stops accepting, closes every connection and waits until they are gone.

        Idle client connections are closed, busy ones are cut (``drain`` is
        the graceful stop); idle upstream connections are closed.
        """
        if self._closed:
            return
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            try:
                await self._watcher
            except asyncio.CancelledError:
                pass
            self._watcher = None
        ctx = self.ctx
        ctx.closing = True
        for group in ctx.groups:
            await group.health.close()
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
            except asyncio.TimeoutError:  # not the builtin TimeoutError on Python 3.10
                log.warning("close: %d client and %d upstream connections still open after %gs",
                            len(ctx.clients), len(ctx.upstreams), CLOSE_WAIT)
        for server in self.servers:
            await server.wait_closed()
        access_log = ctx.accounting.log
        if access_log is not None:
            access_log.close()  # after the last exchange: nothing is lost
        if ctx.splice_pipes is not None:
            ctx.splice_pipes.close()


async def start(config, parser: ModuleType | None = None, *, sockets: list | None = None,
                tls: list | None = None) -> Proxy:
    """Binds every listener of ``config`` on the running loop and starts serving.

    ``parser`` is the parser implementation module (tests pass each one in
    turn); by default the one fastproxy.parser chose.  Port 0 binds a free
    port: ``Proxy.addresses`` lists the (host, port) pairs actually bound.
    ``sockets``: for each listener, listening sockets to serve instead of
    binding (a worker's share of the supervisor's).  ``tls``: for each
    listener, its ServerTLS or None (default: made from ``config``).
    Raises ConfigError for what only the data path can judge, or a
    certificate that does not load.
    """
    if parser is None:
        from fastproxy import parser
    loop = asyncio.get_running_loop()
    if tls is None:
        tls = listener_tls(config)
    ctx = ProxyContext.from_config(config, loop, parser)
    _check_upstream_tls(config, ctx)
    if config.access_log is not None:
        ctx.accounting.log = _access_log(config, ctx)
    plain = _Factory(ctx)
    tls_factories = []
    servers = []
    addresses = []
    try:
        for index, listener in enumerate(config.listeners):
            options = {"backlog": 1024}
            factory = plain
            if tls[index] is not None:
                # A handshake is part of the request head's time budget (slowloris).
                handshake = config.server.timeouts.client_header
                options.update(ssl=tls[index].context, ssl_handshake_timeout=handshake)
                factory = _TlsFactory(ctx, handshake, listener.tls.client_subject_header)
                tls_factories.append(factory)
            if sockets is None:
                made = [await loop.create_server(factory, listener.host, listener.port, reuse_address=True,
                                                 **options)]
            else:
                made = [await loop.create_server(factory, sock=sock, **options) for sock in sockets[index]]
            for server in made:
                servers.append(server)
                for sock in server.sockets:
                    if sock.family in (socket.AF_INET, socket.AF_INET6):
                        addresses.append(tuple(sock.getsockname()[:2]))
    except BaseException:
        for server in servers:
            server.close()
        raise
    return Proxy(ctx, servers, addresses, tls, tls_factories)


def _access_log(config, ctx: ProxyContext):
    from fastproxy.accesslog import AccessLog
    from fastproxy.metrics import route_labels

    servers = [(upstream.name, server.address) for upstream in config.upstreams for server in upstream.servers]
    try:
        return AccessLog(config.access_log, ctx.loop, route_labels(config), servers)
    except OSError as exc:
        raise ConfigError([("access_log.path", f"cannot open {config.access_log.path}: {exc.strerror}")]) from None


def check_config(config, parser: ModuleType | None = None) -> None:
    """Raises ConfigError if the data path cannot run ``config`` (what the
    config's own checks cannot judge); builds the data path's settings
    without a loop, binds nothing."""
    if parser is None:
        from fastproxy import parser
    _check_upstream_tls(config, ProxyContext.from_config(config, None, parser))


def _check_upstream_tls(config, ctx: ProxyContext) -> None:
    # Refusing beats sending plain HTTP to an https:// server: every https
    # server's pool must carry a TLS context.  ctx.pools follows the
    # config's order, upstream by upstream.
    servers = [(upstream, index, server) for upstream in config.upstreams
               for index, server in enumerate(upstream.servers)]
    problems = [
        (f"upstream.{upstream.name}.servers[{index}]",
         f'"{server.url}": TLS to upstreams is not wired into the data path yet')
        for (upstream, index, server), pool in zip(servers, ctx.pools)
        if server.scheme == "https" and getattr(pool, "ssl", None) is None
    ]
    if problems:
        raise ConfigError(problems)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import orjson

        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode("utf-8")


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Sends fastproxy's log lines to stderr, as text or one JSON object per
    line; each names its process (the supervisor and workers share stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"))
    root = logging.getLogger("fastproxy")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def serve(config, log_format: str | None = None, *, pid_file: str | None = None) -> int:
    """Runs the proxy: a supervisor and config.server.workers worker
    processes, until SIGINT or SIGTERM; the exit code.

    ``log_format`` ("text" or "json") overrides config.log.format.
    ``pid_file``: where to write the supervisor's pid (``fastproxy reload``
    reads it).  SIGHUP reloads the config from config.source when that is
    a file (see supervisor.py).  Raises ConfigError if the data path cannot
    run ``config`` or a certificate does not load.
    """
    from fastproxy.supervisor import Supervisor

    configure_logging(log_format or config.log.format)
    return Supervisor(config, pid_file=pid_file).run()
