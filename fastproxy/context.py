"""The typed settings and shared state that the data path reads.

Built once per process from the Config (``ProxyContext.from_config``), so
the per-request code never looks at the config tree, parses durations or
looks options up in dicts: it reads plain attributes of this object.
"""

from __future__ import annotations

import os
from types import ModuleType

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext, balancers, splice
from fastproxy.accounting import Accounting
from fastproxy.balance import Group
from fastproxy.buffers import BufferPool, buffer_size_for
from fastproxy.clientip import TrustedProxies
from fastproxy.counters import Counters
from fastproxy.health.state import UpstreamHealth
from fastproxy.outgoing import Outgoing
from fastproxy.rewrite import RequestRewriter, ResponseRewriter
from fastproxy.route import Router
from fastproxy.tls import upstream_context, upstream_server_name
from fastproxy.upstream.pool import Pool

_ext.loaded(__name__, cython.compiled)


class ProxyContext:
    __slots__ = (
        "accounting",
        "buffers",
        "chunked_decoder",
        "client_header_timeout",
        "client_idle_timeout",
        "clients",
        "closed_waiter",
        "closing",
        "counters",
        "groups",
        "loop",
        "max_body_bytes",
        "max_header_bytes",
        "max_header_count",
        "max_uri_bytes",
        "out",
        "pools",
        "req_rewriter",
        "request_parser",
        "resp_rewriter",
        "response_parser",
        "router",
        "splice_pipes",
        "trusted",
        "upstream_connect_timeout",
        "upstream_read_timeout",
        "upstream_write_timeout",
        "upstreams",
    )

    def __init__(self, loop, parser: ModuleType) -> None:
        self.loop = loop
        self.request_parser = parser.RequestParser
        self.response_parser = parser.ResponseParser
        self.chunked_decoder = parser.ChunkedDecoder
        self.counters = Counters()
        self.accounting = Accounting(0, 0)
        self.router = Router(())
        self.buffers = BufferPool()
        # The next write of whichever connection is at work (outgoing.py).
        self.out = Outgoing()
        self.max_uri_bytes = 8192
        self.max_header_bytes = 16384
        self.max_header_count = 100
        self.max_body_bytes = 0
        # Pipes for bodies moved by splice(2); None: bodies always go through our buffers.
        self.splice_pipes = None
        self.client_header_timeout = 10.0
        self.client_idle_timeout = 60.0
        self.upstream_connect_timeout = 3.0
        self.upstream_read_timeout = 60.0
        self.upstream_write_timeout = 60.0
        self.trusted = TrustedProxies(())
        self.req_rewriter = RequestRewriter(self.trusted)
        self.resp_rewriter = ResponseRewriter()
        # Live connections, for shutdown and leak checks.
        self.clients: set = set()
        self.upstreams: set = set()
        self.pools: list = []
        # Every upstream's Group, in config order (health checks, admin).
        self.groups: list = []
        self.closing = False
        self.closed_waiter = None

    @classmethod
    def from_config(cls, config, loop, parser: ModuleType) -> ProxyContext:
        ctx = cls(loop, parser)
        server = config.server
        limits = server.limits
        ctx.max_uri_bytes = limits.max_uri_bytes
        ctx.max_header_bytes = limits.max_header_bytes
        ctx.max_header_count = limits.max_header_count
        ctx.max_body_bytes = limits.max_body_bytes
        ctx.buffers = BufferPool(buffer_size_for(limits.max_header_bytes))
        if server.splice and splice.available():
            ctx.splice_pipes = splice.Pipes()
        timeouts = server.timeouts
        ctx.client_header_timeout = timeouts.client_header
        ctx.client_idle_timeout = timeouts.client_idle
        ctx.upstream_connect_timeout = timeouts.upstream_connect
        ctx.upstream_read_timeout = timeouts.upstream_read
        ctx.upstream_write_timeout = timeouts.upstream_write
        headers = server.headers
        ctx.trusted = TrustedProxies(headers.trusted_proxies)
        ctx.req_rewriter = RequestRewriter(ctx.trusted, request_id=headers.request_id)
        ctx.resp_rewriter = ResponseRewriter(tuple(headers.hide_response_headers))
        groups = {}
        # The random policies draw from a seed of their own in each worker.
        seed = os.getpid()
        for upstream in config.upstreams:
            tls = upstream_context(upstream)  # None without https:// servers; ConfigError
            pools = [
                Pool(ctx, s.host, s.port, upstream.pool.max_idle, upstream.pool.idle_timeout,
                     upstream.pool.max_requests, tls if s.scheme == "https" else None,
                     upstream_server_name(upstream, s))
                for s in upstream.servers
            ]
            if upstream.retry.per_try_timeout is not None:
                for pool in pools:
                    pool.head_timeout = upstream.retry.per_try_timeout
            for pool in pools:
                pool.index = len(ctx.pools)
                ctx.pools.append(pool)
            group = Group(upstream.name, pools, balancers.build(upstream, seed),
                          balancers.key_extractor(upstream), ctx.trusted)
            group.health = UpstreamHealth(group, upstream)
            ctx.groups.append(group)
            groups[upstream.name] = group
        ctx.router = Router.from_config(config.routes, groups, ctx.resp_rewriter.hide_names)
        ctx.accounting = Accounting(len(config.routes), len(ctx.pools))
        return ctx

    def connection_gone(self) -> None:
        """Called as each connection closes: wakes ``close`` once all are gone."""
        waiter = self.closed_waiter
        if waiter is not None and not self.clients and not self.upstreams and not waiter.done():
            waiter.set_result(None)
