"""One client connection: read requests, route them, pass them upstream.

Theory of operation
-------------------
A BufferedProtocol reading into a receive buffer of the shared BufferPool
(taken when bytes arrive, given back when the connection is idle, so idle
keep-alive connections hold none).  A request head is always parsed from the
start of the buffer; what follows it is the body, then the next pipelined
request, which is parsed only once the current response is complete, so
responses go out in request order.

    IDLE --head--> CONNECT --upstream ready--> BODY --body sent--> WAIT
      ^                (pooled: at once)         (no body: straight to WAIT)
      +------------- response complete, keep-alive ----------------+
    WAIT --101--> TUNNEL;  any --error answer--> LINGER;  any --> CLOSED

The head is parsed through a ParsedHead (heads.py), rewritten (rewrite.py)
into the loop's shared Outgoing (outgoing.py) and leaves with the body bytes
already received in one write; a request that must wait for its upstream
connection, or may have to be sent again, is kept as bytes (``pending``,
``replay``).  The body streams through BodyRelay (relay.py); the response
comes back through the upstream connection (upstream/connection.py), which
calls ``response_started``, ``response_done``, ``upstream_failed``,
``upstream_aborted``, ``tunnel_started`` / ``tunnel_closed`` here.

The route's upstream Group (balance.py) picks the server (none up: 503).
Its balancer counts the exchange in flight from the pick until it ends:
every ending calls ``_release_server``, with the latency when a response (or
a tunnel's 101) completed, else a negative one.

Compiled (downstream.pxd), this is a cdef class: the event loop sees it
through DownstreamProtocol, which adds asyncio.BufferedProtocol as a base.
This file is longer than our ~800-line rule of thumb on purpose: the
methods of a cdef class must live in one module, and every part that needs
none of its state already lives apart (routing and answers: route.py,
actions.py; retry and ejection policy: health/state.py; counting:
accounting.py; framing: relay.py; heads: rewrite.py).  The sections below
follow the states: connection, request head, body, upstream events
(retries among them), tunnel, flow control, endings.

Reading stops (``_block``) for three reasons, kept as bits so that each is
lifted on its own: the upstream transport is above its high-water mark
(backpressure), an upstream connection is being opened, or the buffer is
full of pipelined bytes while a response is in progress.

Errors are answered by ``_reject``: status, short body, Connection: close,
a log line; then the connection lingers (our side half-closed, input
discarded for a short while) so that the client reads the answer instead of
a reset.  Nothing of a rejected request reaches an upstream: the head and the
body bytes at hand are checked before the first write.

Deadlines (one lazily re-armed timer): the head must arrive within
client_header (408), an idle keep-alive connection closes after client_idle,
a request body silent for client_idle is a 408, a client that does not read
its response for client_idle is cut, and lingering is bounded.
"""

from __future__ import annotations

import asyncio
import socket
import struct

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext, respond
from fastproxy.accounting import Exchange
from fastproxy.buffers import compact
from fastproxy.clientip import parse_ip
from fastproxy.deadline import Deadline
from fastproxy.errors import HttpParseError
from fastproxy.heads import ParsedHead
from fastproxy.outgoing import Sink
from fastproxy.parser import codes
from fastproxy.relay import OUT_PASS, BodyRelay
from fastproxy.rewrite import Peer
from fastproxy.route import host_key, split_absolute
from fastproxy.splice import MIN_BYTES as SPLICE_MIN_BYTES
from fastproxy.tls import client_identity
from fastproxy.upstream.connection import (
    FAIL_BAD_RESPONSE,
    FAIL_CLOSED,
    FAIL_CONNECT,
    FAIL_CONNECT_TIMEOUT,
    FAIL_READ_TIMEOUT,
    FAIL_STATUS,
    FAIL_WRITE_TIMEOUT,
)

S_IDLE = 0
S_CONNECT = 1
S_BODY = 2
S_WAIT = 3
S_TUNNEL = 4
S_LINGER = 5
S_CLOSED = 6

R_UPSTREAM = 1  # upstream transport above its high-water mark
R_CONNECT = 2   # waiting for an upstream connection
R_FULL = 4      # buffer full of pipelined bytes
R_SPLICE = 8    # the request body moves by splice (splice.py), not through us

# After an error answer: discard input until the client closes, at most this
# long in total and this long between reads.
LINGER_TOTAL = 10.0
LINGER_QUIET = 2.0

_ext.loaded(__name__, cython.compiled)

BODY_LENGTH = codes.BODY_LENGTH
H_HOST = codes.H_HOST
F_KEEP_ALIVE = codes.F_KEEP_ALIVE
F_UPGRADE = codes.F_UPGRADE
REQ_HEAD = codes.REQ_HEAD
# A request whose whole body is in hand and smaller than this is kept, joined
# with its head, so it can be retried.
REPLAY_BELOW = 16 * 1024
# balance.KEY_NONE (compiled, balance keeps it to C): a group that does not hash.
KEY_NONE = -1

_FAILURES = {
    FAIL_CONNECT: (502, "upstream connection failed"),
    FAIL_CONNECT_TIMEOUT: (504, "upstream connect timed out"),
    FAIL_CLOSED: (502, "upstream closed the connection"),
    FAIL_BAD_RESPONSE: (502, "invalid response from upstream"),
    FAIL_READ_TIMEOUT: (504, "upstream response timed out"),
    FAIL_WRITE_TIMEOUT: (504, "upstream did not accept the request in time"),
    FAIL_STATUS: (502, "upstream answered with an error"),
}
_RST = struct.pack("ii", 1, 0)


def _idempotent(method: bytes) -> bool:
    """Whether a request may be sent again when a reused upstream connection
    turns out dead before answering (RFC 9110 9.2.2).

    Fast path: compiled, ``in`` a literal tuple is a few byte comparisons; a
    set lookup costs more, as the parser's method is another bytes object
    than the set's and must be compared after hashing.
    """
    return method in (b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE")


def _peer_ip(transport) -> str:
    peer = transport.get_extra_info("peername")
    if not peer:
        return "unknown"
    ip = peer[0] if isinstance(peer, tuple) else str(peer)
    if ip.startswith("::ffff:") and "." in ip:
        ip = ip[7:]  # IPv4-mapped: the client is an IPv4 host
    return ip


class Downstream:
    """The state and logic of one client connection (a cdef class when
    compiled); the event loop sees it as a :class:`DownstreamProtocol`."""

    __slots__ = (
        "blocked",
        "buf",
        "client11",
        "client_eof",
        "ctx",
        "deadline",
        "end",
        "exchange_since",
        "group",
        "head",
        "head_request",
        "head_since",
        "host_filled",
        "host_seen",
        "host_seen_key",
        "keep_alive",
        "linger_until",
        "loop",
        "method",
        "next_server",
        "peer",
        "pending",
        "pool",
        "relay",
        "replay",
        "req_done",
        "resp_edits",
        "resp_started",
        "retried",
        "retry_key",
        "served",
        "server",
        "sink",
        "splice_on_upstream",
        "start",
        "state",
        "subject_header",
        "target",
        "transport",
        "tried",
        "tries",
        "tunnel_latency",
        "upgrade",
        "upstream",
        "write_paused",
        "x",
    )

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.loop = ctx.loop
        self.transport = None
        self.sink = None
        self.peer = None
        self.buf = None
        self.start: int = 0
        self.end: int = 0
        self.head = ParsedHead(ctx.request_parser(max_uri_bytes=ctx.max_uri_bytes,
                                                  max_header_bytes=ctx.max_header_bytes,
                                                  max_header_count=ctx.max_header_count))
        self.state: int = S_IDLE
        self.blocked: int = 0
        self.write_paused: bool = False
        # A request splice waits for the upstream to take more (see splice_waiting).
        self.splice_on_upstream: bool = False
        self.deadline = Deadline(self.loop, self._on_deadline)
        self.head_since: float = 0.0
        self.host_seen: bytes | None = None
        self.host_seen_key: bytes = b""
        self.linger_until: float = 0.0
        self.served: int = 0
        self.client_eof: bool = False
        self.upstream = None
        self.pool = None
        # The balancer's pick for the exchange in progress (-1: none), told
        # when it ends (_release_server).
        self.group = None
        self.server: int = -1
        self.exchange_since: float = 0.0
        self.tunnel_latency: float = -1.0
        self.relay = BodyRelay(ctx.chunked_decoder(ctx.max_header_bytes, ctx.max_header_count))
        # The request as bytes: waiting for its upstream connection, and kept
        # for a retry (see _dispatch).
        self.pending: bytes | None = None
        self.replay: bytes | None = None
        self.retried: bool = False
        self.host_filled: bool = False
        # Retries to other servers (see _retry_elsewhere): the try under way
        # (1: the first), the servers tried (a bit mask), the next one
        # chosen, and the request's hash key for the hash policies.
        self.tries: int = 1
        self.tried = 0
        self.next_server: int = -1
        self.retry_key: bytes | None = None
        self.method = None
        self.target = None
        self.client11: bool = True
        self.keep_alive: bool = False
        self.req_done: bool = False
        self.upgrade: bool = False
        self.head_request: bool = False
        self.resp_started: bool = False
        # The matched route's response header edits (rewrite.HeaderEdits or None).
        self.resp_edits = None
        # Set by the factory of a listener that verifies client certificates.
        self.subject_header: str | None = None
        # The record of the exchange in progress (accounting.py).
        self.x = Exchange()

    # -- connection ---------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.sink = Sink(transport)
        ctx = self.ctx
        ip = _peer_ip(transport)
        trusted = bool(ctx.trusted) and ctx.trusted.trusts(parse_ip(ip))
        # A TLS transport has an SSL context: its requests go upstream as https.
        tls = transport.get_extra_info("sslcontext") is not None
        self.peer = Peer(ip, trusted, b"https" if tls else b"http")
        if self.subject_header is not None:
            self.peer.set_client_cert(self.subject_header, *client_identity(transport))
        if tls:
            ctx.accounting.tls_handshakes += 1
        ctx.clients.add(self)
        ctx.counters.connections_accepted += 1
        ctx.counters.connections_active += 1
        # The first request must start within the header timeout, not the idle one.
        self.deadline.set_in(ctx.client_header_timeout)

    def get_buffer(self, sizehint: int):
        buf = self.buf
        if buf is None:
            buf = self.buf = self.ctx.buffers.acquire()
            self.start = self.end = 0
        elif self.end == len(buf):
            self._make_room()
            buf = self.buf
        # Fast path: an empty buffer is read into whole, with no view to make.
        return memoryview(buf)[self.end:] if self.end else buf

    def _make_room(self) -> None:
        # Reading is blocked before the buffer fills (R_FULL) and heads are
        # limited below its size, so this is only a safety net.
        self.buf = compact(self.buf, self.start, self.end)
        self.end -= self.start
        self.start = 0

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        self.x.bytes_in += nbytes
        state = self.state
        if state == S_IDLE:
            self._read_head()
        elif state == S_BODY:
            self._read_body()
        elif state == S_TUNNEL:
            self._tunnel()
        elif state == S_LINGER:
            self.start = self.end = 0
            self.deadline.set(min(self.deadline.now() + LINGER_QUIET, self.linger_until))
        elif self.end == len(self.buf):
            self._block(R_FULL)

    # -- request head -------------------------------------------------------

    def _read_head(self) -> None:
        try:
            head_len = self.head.parse(self.buf, self.end)
        except HttpParseError as exc:
            self.ctx.counters.parse_errors += 1
            self.method = self.target = None
            self._reject(exc.status, exc.message, exc.name)
            return
        if head_len:
            self._request(head_len)
        elif self.head_since == 0.0:
            # Fast path not taken: the head came in pieces; it is now on the clock.
            self.head_since = self.deadline.now()
            self.deadline.set(self.head_since + self.ctx.client_header_timeout)

    def _request(self, head_len: int) -> None:
        """Takes a parsed request head: a new exchange, routed and sent on (or answered)."""
        ctx = self.ctx
        head = self.head
        buf = self.buf
        ctx.counters.requests += 1
        ctx.accounting.begin(self.x, self.deadline.now(), head.minor_version)
        self.head_since = 0.0
        self.deadline.clear()
        self.start = head_len
        method = head.method(buf)
        flags = head.flags
        self.method = method
        self.target = head.target(buf)
        self.client11 = head.minor_version >= 1
        self.keep_alive = bool(flags & F_KEEP_ALIVE) and not ctx.closing
        self.upgrade = bool(flags & F_UPGRADE)
        self.head_request = method == b"HEAD"
        self.resp_started = False
        self.retried = False
        self.tries = 1
        self.tried = 0
        self.replay = self.pending = None
        self.peer.request_id = None
        i = head.find(H_HOST)
        host = head.value_or(buf, i, self.host_seen) if i >= 0 else None
        self.relay.begin(head.framing, head.content_length, OUT_PASS)
        if (self.relay.framing == BODY_LENGTH and ctx.max_body_bytes
                and head.content_length > ctx.max_body_bytes):
            self._reject(413, "request body too large")
            return
        self._route(head_len, host)

    def _route(self, head_len: int, host: bytes | None) -> None:
        """Chooses the upstream server and builds the head to send it."""
        target = self.target
        authority = None
        first = target[0]
        if first == 47:  # "/": origin-form, the common case
            path = target
        elif self.method == b"CONNECT":
            self._reject(405, "CONNECT is not supported by this proxy")
            return
        elif first == 42:  # "*": OPTIONS *, routed as "/" and sent as is
            path = b"/"
        else:
            authority, path = split_absolute(target)
        ctx = self.ctx
        name = authority if authority is not None else host or b""
        if name != self.host_seen:
            # A client connection mostly names one host: its route key is kept.
            self.host_seen = name
            self.host_seen_key = host_key(name)
        route = ctx.router.match(self.host_seen_key, path, self.method, self.head, self.buf, self.peer)
        if route is None:
            self._reject(404, "no route for this host and path")
            return
        self.x.route = route.index
        if route.answer is not None:
            self._answer(route, path)
            return
        group = route.upstream
        if self.server >= 0:
            self._release_server(-1.0)  # a safety net: every ending already told the balancer
        i = group.pick(self.head, self.buf, target, self.peer)
        if i < 0:
            self._reject(503, "no upstream server is available")
            return
        group.acquire(i)
        self.group = group
        self.server = i
        self.exchange_since = self.x.start  # the clock read of _request, moments ago
        pool = group.pools[i]
        self.pool = pool
        self.resp_edits = route.resp_tls if self.peer.tls else route.resp_plain
        # No Host from the client: the rewriter names the server (_retry_to renames it).
        self.host_filled = host is None and authority is None
        ctx.req_rewriter.head(self.head, self.buf, head_len, self.method,
                              target if first == 42 else route.target(path), host, authority, self.upgrade,
                              pool.host_header, self.peer, ctx.out, route.req_edits)
        self._dispatch(head_len, pool)

    def _answer(self, route, path: bytes) -> None:
        """Answers with the route's own response (a redirect, a direct
        response: actions.py); nothing goes upstream, and a request body
        is not read (the connection closes after the answer)."""
        self.req_done = self.relay.done
        keep, data = route.answer.render(route, self.host_seen_key or None, self.target, path, self.peer.tls,
                                         self.keep_alive and self.req_done, self.client11, self.head_request)
        self.keep_alive = keep
        self.x.status = route.answer.status
        self.x.bytes_out += len(data)
        self.transport.write(data)
        self.response_done()

    def _dispatch(self, head_len: int, pool) -> None:
        """Adds the body bytes at hand to the head and sends both on one connection.

        The body bytes are checked first (chunked syntax, size limit), so
        that a bad request is refused before anything of it goes upstream.
        The request is taken out of the shared ctx.out as bytes when it must
        wait for its connection, or be kept for a retry.
        """
        relay = self.relay
        out = self.ctx.out
        if not relay.done and self.end > head_len:
            try:
                self.start = head_len + relay.frame(self.buf, head_len, self.end, out)
            except HttpParseError as exc:
                out.clear()
                self._reject(exc.status, exc.message, exc.name)
                return
            max_body = self.ctx.max_body_bytes
            if max_body and relay.total > max_body:
                out.clear()
                self._reject(413, "request body too large")
                return
        self.req_done = relay.done
        if self.req_done and _idempotent(self.method) and out.size < REPLAY_BELOW:
            self.replay = self.pending = out.take()
            if self.group.key_kind != KEY_NONE and self.group.health.tries > 1:
                # Taken now: the head's bytes may be gone by the time of a retry.
                self.retry_key = self.group.key(self.head, self.buf, self.target, self.peer)
        self._to_pool(pool)

    def _to_pool(self, pool) -> None:
        """Sends the request on an idle connection of ``pool``, else opens
        one; the request then waits as bytes in ``pending``."""
        self.state = S_CONNECT
        conn = pool.acquire()
        if conn is None:
            if self.pending is None:
                self.pending = self.ctx.out.take()
            self._block(R_CONNECT)
            self.upstream = pool.connect(self)
        else:
            # exchange_since: the clock read that started this try, in this
            # same callback (_request or _retry_to).
            self._send_head(conn, self.exchange_since)

    def _send_head(self, conn, now: float = -1.0) -> None:
        """First write on ``conn``: the head and the body bytes at hand
        (``pending``, else what ctx.out holds).  ``now``: the time, when
        the caller has just read it."""
        self.upstream = conn
        conn.begin(self, REQ_HEAD if self.head_request else 0)
        # Flow control carries over: transports signal only when they cross
        # their high-water mark, not that they are still above it.
        if self.write_paused:
            conn.pause_reading()
        if conn.write_paused:
            self._block(R_UPSTREAM)
        data = self.pending
        if data is not None:
            self.pending = None
            sent = conn.sink.send_bytes(data)
            lent = False
        else:
            sent = self.ctx.out.send_to(conn.sink)
            lent = self.ctx.out.lent
        if not sent:
            # The connection died under us; its connection_lost decides
            # (a retry, or a 502).  Until then, read nothing more.
            self._block(R_UPSTREAM)
            return
        self._unblock(R_CONNECT)
        if self.req_done:
            self.state = S_WAIT
            self._after_write(conn.transport, lent)
            conn.request_sent(now)
        else:
            self.state = S_BODY
            self._after_write(conn.transport, lent)
            if self.end > self.start:
                self._read_body()
            elif self.relay.left >= SPLICE_MIN_BYTES and self._may_splice(conn) and self._splice_body(conn):
                return
            elif not self.blocked:
                self.deadline.set_in(self.ctx.client_idle_timeout)

    def _after_write(self, transport, lent: bool) -> None:
        """After a write to ``transport``; ``lent``: it may hold slices of our buffer."""
        # Fast path: nothing of our buffer was lent, or the upstream took
        # everything: our buffer is ours again.
        if lent and transport.get_write_buffer_size():
            self._replace_buffer()
        elif self.start == self.end:
            self.start = self.end = 0

    def _replace_buffer(self) -> None:
        """The transport still holds slices of our buffer: move to a new one."""
        old = self.buf
        n = self.end - self.start
        self.buf = self.ctx.buffers.acquire()
        if n:
            self.buf[0:n] = old[self.start:self.end]
        self.start = 0
        self.end = n

    # -- request body -------------------------------------------------------

    def _read_body(self) -> None:
        relay = self.relay
        out = self.ctx.out
        conn = self.upstream
        try:
            n = relay.frame(self.buf, self.start, self.end, out)
        except HttpParseError as exc:
            out.clear()
            self._body_failed(exc.status, exc.message, exc.name)
            return
        max_body = self.ctx.max_body_bytes
        if max_body and relay.total > max_body:
            out.clear()
            self._body_failed(413, "request body too large")
            return
        self.start += n
        if not out.send_to(conn.sink):
            self._block(R_UPSTREAM)  # the upstream is going: its connection_lost ends this
            return
        if relay.done:
            self.req_done = True
            self.state = S_WAIT
            self.deadline.clear()
            self._after_write(conn.transport, out.lent)
            if self.end == len(self.buf):
                self._block(R_FULL)
            conn.request_sent()
        else:
            self._after_write(conn.transport, out.lent)
            if relay.left >= SPLICE_MIN_BYTES and self._may_splice(conn) and self._splice_body(conn):
                return
            if not self.blocked:
                self.deadline.set_in(self.ctx.client_idle_timeout)

    def _may_splice(self, conn) -> bool:
        """True when the rest of the request body may move by splice: counted,
        between plain TCP sockets, every byte at hand already taken by the
        upstream transport (the spliced bytes follow them)."""
        return (self.relay.framing == BODY_LENGTH and not self.blocked and self.start == self.end
                and conn.splice_possible() and not conn.transport.get_write_buffer_size()
                and not conn.transport.is_closing())

    def _splice_body(self, conn) -> bool:
        self._block(R_SPLICE)
        self.deadline.clear()
        if conn.splice_request(self):
            return True
        self._unblock(R_SPLICE)
        return False

    # The events of a request splice (splice.BodySplice).  Waiting for the
    # upstream is its write timeout, as when its transport is full (its
    # pause_writing); waiting for the client is the client's body timeout.

    def splice_moved(self, n: int) -> None:
        self.x.bytes_in += n
        self.relay.bypassed(n)

    def splice_waiting(self, client: bool) -> None:
        if client:
            self._splice_upstream_takes()
            self.deadline.set_in(self.ctx.client_idle_timeout)
        else:
            self.splice_on_upstream = True
            self.upstream.pause_writing()

    def _splice_upstream_takes(self) -> None:
        if self.splice_on_upstream:
            self.splice_on_upstream = False
            self.upstream.resume_writing()

    def splice_done(self) -> None:
        conn = self.upstream
        conn.splice_ended()
        self._splice_upstream_takes()
        self.req_done = True
        self.state = S_WAIT
        self.deadline.clear()
        self._unblock(R_SPLICE)
        conn.request_sent()

    def splice_failed(self, client: bool, error) -> None:
        conn = self.upstream
        conn.splice_ended()
        if client:
            self.ctx.counters.client_aborts += 1
            self._abort()
            return
        # The upstream refused the rest: its transport sees the reset and
        # ends the exchange, within its write timeout at the latest.
        self.splice_on_upstream = False
        conn.pause_writing()
        self._unblock(R_SPLICE)

    def _body_failed(self, status: int, message: str, detail: str = "") -> None:
        conn = self.upstream
        if conn is not None:
            self.upstream = None
            conn.abort()
        self._release_server(-1.0)
        if self.resp_started:
            respond.log_failure(0, message, self.peer.client, self.method, self.target, detail)
            self._abort()
        else:
            self._reject(status, message, detail)

    # -- events from the upstream connection --------------------------------

    def upstream_ready(self, conn) -> None:
        if self.state != S_CONNECT or self.upstream is not conn:
            conn.pool.release(conn)
            return
        self._send_head(conn)

    def upstream_failed(self, conn, kind: int, detail: str) -> None:
        """The exchange failed before any response byte reached the client."""
        if self.upstream is not conn:
            return
        self.upstream = None
        if (kind == FAIL_CLOSED and conn.reused and self.replay is not None and not self.retried
                and not self.resp_started):
            # A kept-alive connection the upstream had already closed: send
            # the request once more on a fresh one.
            self.retried = True
            self.pending = self.replay
            self.ctx.counters.upstream_retries += 1
            self.state = S_CONNECT
            self._block(R_CONNECT)
            self.upstream = self.pool.connect(self)
            return
        if kind == FAIL_STATUS:
            self._retry_to(self.next_server)  # status_failed chose it
            return
        health = self.group.health
        health.failed(self.server, kind, conn.reused, self.tries)
        if (self.replay is None and self.req_done and self.pending is not None
                and (kind == FAIL_CONNECT or kind == FAIL_CONNECT_TIMEOUT)):
            # Not a byte of the request left: any method may go to another
            # server (what nginx and HAProxy do), once (see _retry_to).
            self.replay = self.pending
            if self.group.key_kind != KEY_NONE:
                # Reading waited for the connect: the head is still in buf.
                self.retry_key = self.group.key(self.head, self.buf, self.target, self.peer)
        if self._retry_elsewhere(kind):
            return
        self._release_server(-1.0)
        status, message = _FAILURES[kind]
        if self.resp_started:
            respond.log_failure(0, message, self.peer.client, self.method, self.target, detail)
            self._abort()
        else:
            self._reject(status, message, detail)

    def status_failed(self, status: int) -> bool:
        """A final response head with ``status`` came from the server; True
        when the request goes to another server instead (the connection then
        drops this response and reports FAIL_STATUS)."""
        health = self.group.health
        if not health.response(self.server, status, self.tries):
            return False  # Fast path: a status that no retry follows
        i = self._other_server()
        if i < 0 or not health.spend_retry(self.server):
            return False
        self.next_server = i
        return True

    def _retry_elsewhere(self, kind: int) -> bool:
        """After a failure of ``kind`` (FAIL_*) on the current server: sends
        the request to another one when the retry policy allows; True if so."""
        health = self.group.health
        if not health.retries_on(kind):
            return False
        i = self._other_server()
        if i < 0 or not health.spend_retry(self.server):
            return False
        self._retry_to(i)
        return True

    def _other_server(self) -> int:
        """The server for another try of this request, or -1 when none may
        be made: the request is not held whole or is not idempotent, the
        response has started, no tries are left, or every server is tried
        or down.  (The budget is asked last, by the caller.)"""
        health = self.group.health
        if self.replay is None or self.resp_started or self.tries >= health.tries:
            return -1
        bit = 1  # a Python int (see the .pxd): any number of servers
        self.tried |= bit << self.server
        return self.group.pick_other(self.retry_key, self.tried)

    def _retry_to(self, i: int) -> None:
        """Sends the request held in ``replay`` again, to server ``i`` of the group."""
        group = self.group
        self._release_server(-1.0)
        group.acquire(i)
        self.server = i
        self.tries += 1
        self.retried = False  # a stale pooled connection of the new server may be retried too
        self.exchange_since = self.deadline.now()
        self.ctx.counters.upstream_retries += 1
        pool = group.pools[i]
        if self.host_filled and pool is not self.pool:
            # The only Host field is ours, first of its kind in the head.
            self.replay = self.replay.replace(b"\r\nHost: " + self.pool.host_header + b"\r\n",
                                              b"\r\nHost: " + pool.host_header + b"\r\n", 1)
        self.pool = pool
        self.pending = self.replay
        if not _idempotent(self.method):
            self.replay = None  # once sent, never again: the server may have acted on it
        self._to_pool(pool)

    def upstream_aborted(self, detail: str) -> None:
        """The upstream failed mid-response: cut the client off, never a clean end."""
        self.upstream = None
        self._release_server(-1.0)
        respond.log_failure(0, "response cut", self.peer.client, self.method, self.target, detail)
        self._abort()

    def response_started(self, status: int) -> None:
        self.resp_started = True
        self.x.status = status

    def response_done(self, now: float = -1.0) -> None:
        """The response is complete (the upstream connection is already released).
        ``now``: the time, when the caller has just read it."""
        self.upstream = None
        if now < 0.0:
            now = self.deadline.now()  # one clock read for the latency, the count and the idle deadline
        if self.server >= 0:
            self._release_server(now - self.exchange_since)
        self._count_exchange(0, now)
        self.served += 1
        self.ctx.counters.responses += 1
        if self.state == S_CLOSED:
            return
        if not self.keep_alive or not self.req_done or self.client_eof:
            self._close()
            return
        self.state = S_IDLE
        self.head.reset()
        self.resp_started = False
        self.replay = None
        self.method = self.target = None
        self.peer.request_id = None
        if self.blocked:
            self.blocked = 0
            self.transport.resume_reading()
        if self.start < self.end:
            # Pipelined bytes: move them to the front and parse them on the
            # next loop turn, outside the upstream's call chain.
            n = self.end - self.start
            self.buf[0:n] = self.buf[self.start:self.end]
            self.start = 0
            self.end = n
            self.loop.call_soon(self._next_request)
        else:
            self._let_go_buffer()
        self.deadline.set(now + self.ctx.client_idle_timeout)

    def _next_request(self) -> None:
        if self.state == S_IDLE and self.end > 0:
            self._read_head()

    def upstream_full(self) -> None:
        self._block(R_UPSTREAM)
        if self.state == S_BODY:
            self.deadline.clear()  # the upstream's write timeout runs instead

    def upstream_drained(self) -> None:
        self._unblock(R_UPSTREAM)
        if self.state == S_BODY and not self.blocked:
            self.deadline.set_in(self.ctx.client_idle_timeout)

    # -- tunnel ---------------------------------------------------------------

    def tunnel_started(self) -> None:
        self.state = S_TUNNEL
        self.keep_alive = False
        # The tunnel stays in flight on its server until it closes; its
        # latency is that of the 101.
        self.tunnel_latency = self.deadline.now() - self.exchange_since
        self.deadline.clear()
        self.ctx.counters.tunnels += 1
        self._unblock(R_FULL)
        if self.end > self.start:
            self._tunnel()

    def _tunnel(self) -> None:
        conn = self.upstream
        if conn.transport.is_closing():
            self._block(R_UPSTREAM)
            return
        conn.transport.write(memoryview(self.buf)[self.start:self.end])
        self.start = self.end
        conn.touch()
        self._after_write(conn.transport, True)

    def tunnel_closed(self, exc) -> None:
        self.upstream = None
        self._release_server(self.tunnel_latency if exc is None else -1.0)
        self._count_exchange(0)
        if exc is None:
            self.state = S_CLOSED
            self.transport.close()
        else:
            self._abort()

    # -- flow control ---------------------------------------------------------

    def _block(self, reason: int) -> None:
        if not self.blocked:
            self.transport.pause_reading()
        self.blocked |= reason

    def _unblock(self, reason: int) -> None:
        if self.blocked & reason:
            self.blocked &= ~reason
            if not self.blocked:
                self.transport.resume_reading()

    def pause_writing(self) -> None:
        """The client is not reading fast enough: stop reading the upstream."""
        self.write_paused = True
        if self.upstream is not None:
            self.upstream.pause_reading()
        self.deadline.set_in(self.ctx.client_idle_timeout)

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.upstream is not None:
            self.upstream.resume_reading()
        if self.state == S_BODY and not self.blocked:
            self.deadline.set_in(self.ctx.client_idle_timeout)
        elif self.state != S_IDLE and self.state != S_LINGER:
            self.deadline.clear()

    # -- endings --------------------------------------------------------------

    def _reject(self, status: int, message: str, detail: str = "") -> None:
        """Answers the current request with an error and closes (lingering)."""
        ctx = self.ctx
        ctx.counters.error_responses += 1
        respond.log_failure(status, message, self.peer.client, self.method, self.target, detail)
        conn = self.upstream
        if conn is not None:
            self.upstream = None
            conn.abort()
        self._release_server(-1.0)
        if self.resp_started:
            self._abort()
            return
        self.keep_alive = False
        self.pending = None
        self.ctx.out.clear()
        if self.transport.is_closing():
            self.state = S_CLOSED
            self._count_exchange(status)
            return
        answer = respond.error_response(status, message, self.peer.request_id, self.head_request)
        self.x.bytes_out += len(answer)
        self.transport.write(answer)
        self._count_exchange(status)
        self._linger()

    def _close(self) -> None:
        """Closes after a complete response."""
        if self.req_done and self.start == self.end:
            self.state = S_CLOSED
            self.transport.close()
        else:
            self._linger()

    def _linger(self) -> None:
        """Half-closes and discards input for a while, so that the client reads
        our last answer rather than a reset caused by its unread bytes."""
        self.state = S_LINGER
        self.start = self.end = 0
        self._let_go_buffer()
        transport = self.transport
        if transport.is_closing():
            return
        if self.blocked:
            self.blocked = 0
            transport.resume_reading()
        if self.client_eof:
            transport.close()
            return
        if transport.can_write_eof():
            transport.write_eof()
        now = self.deadline.now()
        self.linger_until = now + LINGER_TOTAL
        self.deadline.set(now + LINGER_QUIET)

    def _abort(self) -> None:
        """Cuts the client connection with a reset: what it got is incomplete."""
        self.state = S_CLOSED
        conn = self.upstream
        if conn is not None:
            self.upstream = None
            conn.abort()
        self._release_server(-1.0)
        self._count_exchange(0)
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
            except OSError:
                pass
        transport.abort()

    def _on_deadline(self) -> None:
        state = self.state
        counters = self.ctx.counters
        if self.write_paused and state != S_LINGER and state != S_CLOSED:
            counters.client_timeouts += 1
            respond.log_failure(0, "client not reading", self.peer.client, self.method, self.target)
            self._abort()
        elif state == S_IDLE:
            if self.end > 0:
                counters.client_timeouts += 1
                self.method = self.target = None
                self._reject(408, "request head not received in time")
            else:
                self.state = S_CLOSED
                self.transport.close()
        elif state == S_BODY:
            counters.client_timeouts += 1
            self._body_failed(408, "request body not received in time")
        elif state == S_LINGER:
            self.state = S_CLOSED
            self.transport.close()

    def eof_received(self):
        # A client that stops sending while its request is in flight has
        # gone (as nginx reads it; TCP cannot tell a half-close from a close):
        # the upstream exchange is abandoned.
        self.client_eof = True
        state = self.state
        conn = self.upstream
        if conn is not None:
            self.upstream = None
            if state != S_TUNNEL:
                self.ctx.counters.client_aborts += 1
                conn.abort()
            elif conn.transport is not None:
                conn.transport.close()
        self._release_server(-1.0)
        self._count_exchange(0)
        self.state = S_CLOSED
        return False

    def connection_lost(self, exc) -> None:
        state = self.state
        self.state = S_CLOSED
        self.deadline.close()
        ctx = self.ctx
        ctx.clients.discard(self)
        ctx.counters.connections_active -= 1
        conn = self.upstream
        if conn is not None:
            self.upstream = None
            if state != S_LINGER:
                ctx.counters.client_aborts += 1
            conn.abort()
        self._release_server(-1.0)
        self._count_exchange(0)
        self._let_go_buffer()
        ctx.connection_gone()

    def _release_server(self, latency: float) -> None:
        """Tells the balancer that the exchange with its pick has ended
        (``latency`` in seconds, < 0: it failed or was cut); once per pick."""
        i = self.server
        if i >= 0:
            self.server = -1
            self.group.release(i, latency)
            self.x.server = self.pool.index
            self.x.upstream_time = latency

    def _count_exchange(self, status: int, now: float = -1.0) -> None:
        """Counts the exchange (accounting.py); once, however often called.
        ``now``: the time, when the caller has just read it."""
        if now < 0.0:
            now = self.deadline.now()
        self.ctx.accounting.end(self.x, status, now, self.peer, self.method, self.target)

    def _let_go_buffer(self) -> None:
        # Our buffer is never lent at rest: _after_write replaces it as soon
        # as a transport keeps a slice of it.
        if self.buf is not None:
            self.ctx.buffers.release(self.buf)
            self.buf = None
        self.start = self.end = 0

    def drain(self) -> None:
        """Closes when idle, for a graceful stop (server.Proxy.drain): an idle
        connection at once, a busy one after its response."""
        if self.state == S_IDLE and self.end == 0 or self.state == S_LINGER:
            self.state = S_CLOSED
            self.transport.close()
        else:
            # (The response then says close, unless its head has gone already.)
            self.keep_alive = False

    def shutdown(self) -> None:
        """Closes for proxy shutdown: idle connections quietly, busy ones cut."""
        if self.state == S_IDLE and self.end == 0 or self.state == S_LINGER:
            self.state = S_CLOSED
            self.transport.close()
        elif self.state != S_CLOSED:
            self._abort()


class DownstreamProtocol(Downstream, asyncio.BufferedProtocol):
    """What the event loop sees: a BufferedProtocol.  uvloop only looks for
    the methods, the stdlib loop checks the class, and a compiled (cdef)
    class cannot have a Python base: this thin subclass gives it one."""

    __slots__ = ()
