"""One connection to an upstream server, and the relay of responses over it.

Theory of operation
-------------------
The connection is a BufferedProtocol reading into a receive buffer of the
shared BufferPool.  Its owner is the client connection (downstream.py) whose
request it carries; between requests it has no owner and sits in its pool.

    CONNECTING --connected--> (owner's request) HEAD --final head--> BODY
        HEAD/BODY --response complete, clean--> IDLE (in the pool) --> HEAD ...
        HEAD --101--> TUNNEL;  BODY --large counted body, plain TCP--> SPLICE --> IDLE ...
        any --failure, or not clean--> CLOSED

In HEAD the response head is parsed (heads.py); interim 1xx heads are
passed to an HTTP/1.1 client and parsing goes on.  The final head is
rewritten for the client (rewrite.py) and leaves with the first body bytes
in one write (outgoing.py); the body then streams through BodyRelay
(relay.py), re-framed when the client needs it.  The owner is told, in this order of preference, that the response
started, that it is done (the last thing this object does in that call
chain: the owner may start its next request on this very connection), or
that the exchange failed: ``upstream_failed`` before anything reached the
client (the owner answers 502/504 or retries), ``upstream_aborted`` after
(the owner must cut the client connection).

A connection goes back to its pool only when the exchange was clean: the
whole request was sent, the whole response received, nothing extra arrived
and the upstream did not ask to close.  Backpressure: while the client's
transport is above its high-water mark, this connection stops reading; a
receive buffer that the client transport still references after a write is
replaced, never reused (buffers.py).  A large body of known length between
plain TCP sockets leaves the transports to the kernel instead (SPLICE,
splice.py): our transport stops reading until the body has passed.

Compiled (connection.pxd), this is a cdef class: the event loop sees it
through UpstreamProtocol, which adds asyncio.BufferedProtocol as a base.

Deadlines (one lazily re-armed timer): connect timeout while CONNECTING;
read timeout (silence while a response is due) once the request is sent;
write timeout while the upstream does not take our writes; idle timeout in
the pool; read timeout as tunnel idle timeout.
"""

from __future__ import annotations

import asyncio

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext
from fastproxy.buffers import compact
from fastproxy.deadline import Deadline
from fastproxy.errors import HttpParseError
from fastproxy.heads import ParsedHead
from fastproxy.outgoing import Sink
from fastproxy.parser import codes
from fastproxy.relay import OUT_CHUNK, OUT_DECHUNK, OUT_PASS, BodyRelay
from fastproxy.splice import MIN_BYTES as SPLICE_MIN_BYTES
from fastproxy.splice import BodySplice

U_CONNECTING = 0
U_IDLE = 1
U_HEAD = 2
U_BODY = 3
U_TUNNEL = 4
U_CLOSED = 5
U_SPLICE = 6

# Why an exchange failed (upstream_failed); the owner maps them to statuses.
FAIL_CONNECT = 1          # refused, unreachable, DNS
FAIL_CONNECT_TIMEOUT = 2
FAIL_CLOSED = 3           # closed before any response byte
FAIL_BAD_RESPONSE = 4     # malformed or truncated response head
FAIL_READ_TIMEOUT = 5
FAIL_WRITE_TIMEOUT = 6
FAIL_STATUS = 7           # a status the owner retries elsewhere: the response is dropped

BODY_CHUNKED = codes.BODY_CHUNKED
BODY_LENGTH = codes.BODY_LENGTH
BODY_UNTIL_CLOSE = codes.BODY_UNTIL_CLOSE
F_HAS_TRANSFER_ENCODING = codes.F_HAS_TRANSFER_ENCODING
F_KEEP_ALIVE = codes.F_KEEP_ALIVE

_ext.loaded(__name__, cython.compiled)


class UpstreamConnection:
    """The state and logic of one upstream connection (a cdef class when
    compiled); the event loop sees it as an :class:`UpstreamProtocol`."""

    __slots__ = (
        "buf",
        "connect_task",
        "ctx",
        "deadline",
        "end",
        "got_bytes",
        "head",
        "loop",
        "owner",
        "pool",
        "read_paused",
        "relay",
        "req_flags",
        "requests",
        "sent_all",
        "sink",
        "splice",
        "splice_on_client",
        "start",
        "state",
        "transport",
        "write_paused",
    )

    def __init__(self, pool) -> None:
        ctx = pool.ctx
        self.pool = pool
        self.ctx = ctx
        self.loop = ctx.loop
        self.transport = None
        self.sink = None
        self.owner = None
        self.state: int = U_CONNECTING
        self.buf = None
        self.start: int = 0
        self.end: int = 0
        self.head = ParsedHead(ctx.response_parser(max_header_bytes=ctx.max_header_bytes,
                                                   max_header_count=ctx.max_header_count), True)
        self.relay = BodyRelay(ctx.chunked_decoder(ctx.max_header_bytes, ctx.max_header_count))
        self.deadline = Deadline(self.loop, self._on_deadline)
        self.requests: int = 0
        self.got_bytes: bool = False
        self.req_flags: int = 0
        self.sent_all: bool = False
        self.read_paused: bool = False
        self.write_paused: bool = False
        self.connect_task = None
        self.splice = None
        self.splice_on_client: bool = False

    # -- connecting ---------------------------------------------------------

    def protocol_factory(self):
        return self

    def connect(self, owner) -> None:
        """Starts connecting for ``owner``, which hears ``upstream_ready(self)``
        or ``upstream_failed(self, ...)``."""
        self.owner = owner
        ctx = self.ctx
        ctx.upstreams.add(self)
        ctx.counters.upstream_connects += 1
        self.deadline.set_in(ctx.upstream_connect_timeout)
        pool = self.pool
        if pool.ssl is None:
            coro = self.loop.create_connection(self.protocol_factory, pool.host, pool.port)
        else:
            # The connect deadline covers the handshake too.
            coro = self.loop.create_connection(self.protocol_factory, pool.host, pool.port, ssl=pool.ssl,
                                               server_hostname=pool.server_hostname)
        task = self.loop.create_task(coro)
        self.connect_task = task
        task.add_done_callback(self._connected)

    def _connected(self, task) -> None:
        self.connect_task = None
        if task.cancelled():
            return  # the connect timeout fired and already told the owner
        exc = task.exception()
        if exc is not None:
            self.ctx.counters.upstream_connect_failures += 1
            self._fail(FAIL_CONNECT, f"{self.pool.address}: {exc.strerror or exc}"
                       if isinstance(exc, OSError) else f"{self.pool.address}: {exc!r}")
            return
        if self.state != U_CONNECTING:
            return
        self.deadline.clear()
        owner = self.owner
        if owner is None:
            # The client left while we connected: keep the fresh connection.
            self.pool.release(self)
            return
        owner.upstream_ready(self)

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.sink = Sink(transport)

    # -- one exchange -------------------------------------------------------

    def begin(self, owner, req_flags: int) -> None:
        """Takes the connection for ``owner``'s request (codes.REQ_* flags)."""
        self.owner = owner
        self.state = U_HEAD
        self.requests += 1
        self.got_bytes = False
        self.sent_all = False
        self.req_flags = req_flags
        self.head.reset()
        self.deadline.clear()

    @property
    def reused(self) -> bool:
        """True when an earlier exchange ran on this connection."""
        return self.requests > 1

    def park(self, idle_timeout: float, now: float = -1.0) -> None:
        """Waits in its pool, idle, for at most ``idle_timeout`` seconds.
        ``now``: the time, when the caller has just read it."""
        self.state = U_IDLE
        if now < 0.0:
            now = self.deadline.now()
        self.deadline.set(now + idle_timeout)

    def usable(self) -> bool:
        """True for an idle connection that may carry the next exchange."""
        return self.state == U_IDLE and not self.sink.is_closing()

    def request_sent(self, now: float = -1.0) -> None:
        """The owner wrote the whole request: a response is now due.
        ``now``: the time, when the caller has just read it."""
        self.sent_all = True
        if not self.write_paused and not self.read_paused:
            if now < 0.0:
                now = self.deadline.now()
            self.deadline.set(now + self.pool.head_timeout)

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
        # Unreachable in normal operation: a head never fills a buffer (the
        # parser's limit is lower) and bodies are consumed as they arrive.
        self.buf = compact(self.buf, self.start, self.end)
        self.end -= self.start
        self.start = 0

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        state = self.state
        if self.owner is not None:
            self.owner.x.bytes_out += nbytes  # accounting.py: the response's size as received
        if state == U_BODY:
            self._body()
        elif state == U_HEAD:
            self._head()
        elif state == U_TUNNEL:
            self._tunnel()
        else:
            # Bytes from an idle connection: it is out of step; drop it.
            self.close()

    def _head(self) -> None:
        self.got_bytes = True
        head = self.head
        owner = self.owner
        while True:
            if self.start > 0:
                n = self.end - self.start
                self.buf[0:n] = self.buf[self.start:self.end]
                self.start = 0
                self.end = n
            try:
                head_len = head.parse(self.buf, self.end, self.req_flags)
            except HttpParseError as exc:
                self.ctx.counters.upstream_bad_responses += 1
                self._fail(FAIL_BAD_RESPONSE, f"{self.pool.address}: {exc.name}")
                return
            if head_len == 0:
                if self.sent_all:
                    self.deadline.set_in(self.pool.head_timeout)
                return
            status = head.status
            if status >= 200 or status == 101:
                break
            # Interim response: pass it on to an HTTP/1.1 client, then read on.
            if owner.client11:
                out = self.ctx.out
                self.ctx.resp_rewriter.head(head, self.buf, head_len, status, True, True, OUT_PASS, out)
                if not out.send_to(owner.sink):
                    self._client_gone()
                    return
            self.start = head_len
            if owner.transport.get_write_buffer_size():
                self._replace_buffer()
            head.reset()
        self._final_head(head_len, status)

    def _final_head(self, head_len: int, status: int) -> None:
        head = self.head
        owner = self.owner
        buf = self.buf
        if status == 101:
            if not owner.upgrade:
                self.ctx.counters.upstream_bad_responses += 1
                self._fail(FAIL_BAD_RESPONSE, f"{self.pool.address}: 101 to a request without Upgrade")
                return
            self._start_tunnel(head_len)
            return
        if owner.status_failed(status):
            # The owner sends the request to another server: this response
            # is dropped unread, with its connection.
            self._fail(FAIL_STATUS, f"{self.pool.address}: status {status}, retried")
            return
        framing = head.framing
        flags = head.flags
        client11 = owner.client11
        keep = owner.keep_alive and owner.req_done
        out = OUT_PASS
        if framing == BODY_CHUNKED:
            if not client11:
                out = OUT_DECHUNK
                keep = False
        elif framing == BODY_UNTIL_CLOSE:
            # A body whose length only the close tells: an HTTP/1.1 client can
            # keep its connection if we chunk it, unless it carries another
            # transfer coding we would have to rewrite.
            if client11 and keep and not flags & F_HAS_TRANSFER_ENCODING:
                out = OUT_CHUNK
            else:
                keep = False
        owner.keep_alive = keep
        outgoing = self.ctx.out
        self.ctx.resp_rewriter.head(head, buf, head_len, status, keep, client11, out, outgoing, owner.resp_edits)
        relay = self.relay
        relay.begin(framing, head.content_length, out)
        self.start = head_len
        if not relay.done and self.end > head_len:
            try:
                self.start += relay.frame(buf, head_len, self.end, outgoing)
            except HttpParseError as exc:
                outgoing.clear()
                self.ctx.counters.upstream_bad_responses += 1
                self._fail(FAIL_BAD_RESPONSE, f"{self.pool.address}: {exc.name}")
                return
        owner.response_started(status)
        if not outgoing.send_to(owner.sink):
            self._client_gone()
            return
        if relay.done:
            self._finished(outgoing.lent)
            return
        self.state = U_BODY
        if relay.left >= SPLICE_MIN_BYTES and self._may_splice() and self._start_splice(outgoing.lent):
            return
        if self.sent_all and not self.read_paused:
            # (The write above may have paused us: silence is then ours.)
            self.deadline.set_in(self.ctx.upstream_read_timeout)
        self._after_write(outgoing.lent)

    def _body(self) -> None:
        out = self.ctx.out
        relay = self.relay
        try:
            self.start += relay.frame(self.buf, self.start, self.end, out)
        except HttpParseError as exc:
            out.clear()
            self.ctx.counters.upstream_bad_responses += 1
            self._abort_exchange(f"malformed response body ({exc.name})")
            return
        if not out.send_to(self.owner.sink):
            self._client_gone()
            return
        if relay.done:
            self._finished(out.lent)
            return
        if relay.left >= SPLICE_MIN_BYTES and self._may_splice() and self._start_splice(out.lent):
            return
        if self.sent_all and not self.read_paused:
            # (The write above may have paused us: silence is then ours.)
            self.deadline.set_in(self.ctx.upstream_read_timeout)
        self._after_write(out.lent)

    def _after_write(self, lent: bool) -> None:
        """After a write to the client; ``lent``: it may hold slices of our buffer."""
        # Fast path: nothing of our buffer was lent, or the client transport
        # sent everything at once: the buffer is reused from its start.
        if lent and self.owner.transport.get_write_buffer_size():
            self._replace_buffer()
        elif self.start == self.end:
            self.start = self.end = 0

    def _replace_buffer(self) -> None:
        old = self.buf
        n = self.end - self.start
        self.buf = self.ctx.buffers.acquire()
        if n:
            self.buf[0:n] = old[self.start:self.end]
        self.start = 0
        self.end = n

    def _finished(self, lent: bool) -> None:
        """The response is complete: back to the pool if the exchange was clean.
        ``lent``: the last write may hold slices of our buffer."""
        owner = self.owner
        self.owner = None
        clean = (self.head.flags & F_KEEP_ALIVE and self.sent_all and self.start == self.end
                 and self.relay.framing != BODY_UNTIL_CLOSE)
        self._let_go_buffer(owner.transport, lent)
        now = self.deadline.now()  # one clock read: our idle deadline, the owner's latency and deadline
        if clean:
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()
            self.pool.release(self, now)
        else:
            self.close()
        owner.response_done(now)

    def _let_go_buffer(self, client_transport, lent: bool = True) -> None:
        """Gives up the receive buffer: back to the shared pool when the client
        transport surely holds no slice of it, else left to the collector.
        ``lent``: the last write to ``client_transport`` may hold slices of it
        (the writes before it hold none: _after_write saw to that)."""
        buf = self.buf
        self.buf = None
        self.start = self.end = 0
        if (buf is not None and client_transport is not None
                and not (lent and client_transport.get_write_buffer_size())):
            self.ctx.buffers.release(buf)

    # -- splice (large bodies, splice.py) -----------------------------------

    def splice_possible(self) -> bool:
        """True when a body may move between this connection and its owner's
        by splice: splicing is on, both are plain TCP, none is under way.
        (The owner checks this too, for a request body.)"""
        return (self.ctx.splice_pipes is not None and self.splice is None and self.pool.ssl is None
                and self.owner.peer.proto_b == b"http")

    def _may_splice(self) -> bool:
        """True when the rest of the response body may move by splice:
        counted and passed as it came, and everything given to the client
        transport already sent (the spliced bytes follow it)."""
        relay = self.relay
        transport = self.owner.transport
        return (relay.framing == BODY_LENGTH and relay.out == OUT_PASS and not self.read_paused
                and self.start == self.end and self.splice_possible()
                and not transport.get_write_buffer_size() and not transport.is_closing())

    def _new_splice(self, src_transport, dst_transport, left: int, owner) -> bool:
        """A BodySplice for ``left`` bytes, heard by ``owner``, in ``splice``;
        False when it cannot be made (out of descriptors): the body then goes
        on through the buffers."""
        try:
            self.splice = BodySplice(self.loop, self.ctx.splice_pipes, _fileno(src_transport),
                                     _fileno(dst_transport), left, owner)
        except OSError:
            return False
        self.ctx.counters.splices += 1
        return True

    def _start_splice(self, lent: bool) -> bool:
        """Hands the rest of the response body to a splice (False: it cannot start)."""
        owner = self.owner
        if not self._new_splice(self.transport, owner.transport, self.relay.left, self):
            return False
        self.state = U_SPLICE
        self.read_paused = True  # until the body has passed: see resume_reading
        self.transport.pause_reading()
        self._let_go_buffer(owner.transport, lent)
        self.splice.run()
        return True

    def splice_request(self, owner) -> bool:
        """Moves the rest of ``owner``'s counted request body by splice, with
        ``owner`` hearing the splice's events (downstream.py); False when it
        cannot start."""
        if not self._new_splice(owner.transport, self.transport, owner.relay.left, owner):
            return False
        self.splice.run()
        return True

    def splice_ended(self) -> None:
        """The owner's request splice has ended."""
        self.splice = None

    def splice_moved(self, n: int) -> None:
        self.owner.x.bytes_out += n
        self.relay.bypassed(n)

    def splice_waiting(self, upstream: bool) -> None:
        """The splice waits for the upstream to send or the client to read.
        A client that does not read is the client's to time out, as when
        its transport is full: its pause_writing / resume_writing."""
        if upstream:
            self._splice_client_reads()
            self.deadline.set_in(self.ctx.upstream_read_timeout)
        else:
            self.splice_on_client = True
            self.deadline.clear()
            self.owner.pause_writing()

    def _splice_client_reads(self) -> None:
        if self.splice_on_client:
            self.splice_on_client = False
            self.owner.resume_writing()

    def _drop_splice(self) -> None:
        """Stops the splice under way, if any, the owner's request splice too
        (its descriptors and pipe let go): this connection is closing."""
        splice = self.splice
        if splice is not None:
            self.splice = None
            splice.cancel()

    def _end_splice(self) -> None:
        """Back from a response splice (done, failed or cancelled) to BODY."""
        self.splice = None
        self._splice_client_reads()
        self.state = U_BODY

    def splice_done(self) -> None:
        self._end_splice()
        self._finished(False)

    def splice_failed(self, upstream: bool, error) -> None:
        self._end_splice()
        if upstream:
            self._abort_exchange("upstream closed inside the body" if error is None else
                                 f"upstream connection lost inside the body: {error.strerror}")
            return
        self.ctx.counters.client_aborts += 1
        owner = self.owner
        self.owner = None
        self.close()
        owner.upstream_aborted(f"client connection lost: {error.strerror}")

    # -- tunnel (after 101) ------------------------------------------------

    def _start_tunnel(self, head_len: int) -> None:
        owner = self.owner
        out = self.ctx.out
        self.ctx.resp_rewriter.head(self.head, self.buf, head_len, 101, False, True, OUT_PASS, out)
        if self.end > head_len:
            out.add_slice(self.buf, head_len, self.end)
        self.start = self.end
        owner.response_started(101)
        if not out.send_to(owner.sink):
            self._client_gone()
            return
        self.state = U_TUNNEL
        self.sent_all = True
        self.deadline.set_in(self.ctx.upstream_read_timeout)
        self._after_write(out.lent)
        owner.tunnel_started()

    def _tunnel(self) -> None:
        self.deadline.set_in(self.ctx.upstream_read_timeout)
        owner = self.owner
        if owner.transport.is_closing():
            self._client_gone()
            return
        owner.transport.write(memoryview(self.buf)[self.start:self.end])
        self.start = self.end
        self._after_write(True)

    def touch(self) -> None:
        """Tunnel traffic from the client also counts as activity."""
        self.deadline.set_in(self.ctx.upstream_read_timeout)

    # -- flow control -------------------------------------------------------

    def pause_reading(self) -> None:
        """The client transport is full: stop reading the upstream."""
        if not self.read_paused and self.transport is not None and self.state != U_CLOSED:
            self.read_paused = True
            self.transport.pause_reading()
            # Silence is now ours, not the upstream's.
            if not self.write_paused:
                self.deadline.clear()

    def resume_reading(self) -> None:
        # A splice keeps reading paused until the body has passed.
        if self.read_paused and self.state != U_CLOSED and self.state != U_SPLICE:
            self.read_paused = False
            self.transport.resume_reading()
            if self.sent_all:
                self.deadline.set_in(self._silence_timeout())

    def pause_writing(self) -> None:
        self.write_paused = True
        self.deadline.set_in(self.ctx.upstream_write_timeout)
        if self.owner is not None:
            self.owner.upstream_full()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.sent_all and not self.read_paused:
            self.deadline.set_in(self._silence_timeout())
        else:
            self.deadline.clear()
        if self.owner is not None:
            self.owner.upstream_drained()

    def _silence_timeout(self) -> float:
        """How long the upstream may stay silent now that a response is due:
        the per-try bound while its head is awaited, then the read timeout."""
        return self.pool.head_timeout if self.state == U_HEAD else self.ctx.upstream_read_timeout

    # -- endings ------------------------------------------------------------

    def _on_deadline(self) -> None:
        state = self.state
        if state == U_IDLE:
            self.close()
        elif state == U_CONNECTING:
            if self.connect_task is not None:
                self.connect_task.cancel()
            self.ctx.counters.upstream_timeouts += 1
            self._fail(FAIL_CONNECT_TIMEOUT, f"{self.pool.address}: no connection within "
                       f"{self.ctx.upstream_connect_timeout:g}s")
        elif state == U_HEAD:
            self.ctx.counters.upstream_timeouts += 1
            if self.write_paused:
                self._fail(FAIL_WRITE_TIMEOUT, f"{self.pool.address}: request not taken within "
                           f"{self.ctx.upstream_write_timeout:g}s")
            else:
                self._fail(FAIL_READ_TIMEOUT, f"{self.pool.address}: no response within "
                           f"{self.pool.head_timeout:g}s")
        elif state == U_BODY or state == U_TUNNEL or state == U_SPLICE:
            if state == U_SPLICE:
                self.splice.cancel()
                self._end_splice()
            self.ctx.counters.upstream_timeouts += 1
            self._abort_exchange("upstream silent past its timeout")

    def _client_gone(self) -> None:
        """The client transport is closing under us: stop reading; the client's
        connection_lost (already scheduled) aborts this exchange."""
        self.start = self.end
        self.pause_reading()

    def _fail(self, kind: int, detail: str) -> None:
        """Ends the exchange before anything of the response reached the client."""
        owner = self.owner
        self.owner = None
        self.close()
        if owner is not None:
            self._let_go_buffer(owner.transport)
            owner.upstream_failed(self, kind, detail)

    def _abort_exchange(self, detail: str) -> None:
        """Ends the exchange after the response started: the client must see a cut."""
        owner = self.owner
        self.owner = None
        self.close()
        if owner is not None:
            self._let_go_buffer(owner.transport)
            self.ctx.counters.upstream_aborts += 1
            owner.upstream_aborted(detail)

    def abort(self) -> None:
        """The owner gives up on the exchange (client gone, bad request body)."""
        owner = self.owner
        self.owner = None
        if self.state == U_CONNECTING:
            return  # let the connect finish: the fresh connection goes to the pool
        self._let_go_buffer(owner.transport if owner is not None else None)
        self.close()

    def close(self) -> None:
        """Closes for good, discarding anything unsent; connection_lost follows."""
        if self.state == U_CLOSED:
            return
        self.state = U_CLOSED
        self.deadline.close()
        self._drop_splice()
        self.pool.forget(self)
        if self.transport is not None:
            self.transport.abort()
        else:
            self.ctx.upstreams.discard(self)
            if self.connect_task is not None:
                self.connect_task.cancel()

    def eof_received(self):
        owner = self.owner
        if self.state == U_TUNNEL and owner is not None:
            # One side of the tunnel is done: so is the tunnel.
            owner.transport.close()
        return False

    def connection_lost(self, exc) -> None:
        state = self.state
        self.state = U_CLOSED
        self.deadline.close()
        self._drop_splice()
        if state == U_SPLICE:
            state = U_BODY  # a body cut short, whatever its framing said
        self.pool.forget(self)
        self.ctx.upstreams.discard(self)
        self.ctx.connection_gone()
        owner = self.owner
        self.owner = None
        self._let_go_buffer(owner.transport if owner is not None else None)
        if owner is None:
            return
        if state == U_HEAD:
            if self.got_bytes:
                self.ctx.counters.upstream_bad_responses += 1
                owner.upstream_failed(self, FAIL_BAD_RESPONSE, f"{self.pool.address}: closed inside the head")
            else:
                owner.upstream_failed(self, FAIL_CLOSED, f"{self.pool.address}: closed without a response")
        elif state == U_BODY:
            if self.relay.framing == BODY_UNTIL_CLOSE and exc is None:
                out = self.ctx.out
                self.relay.finish(out)
                out.send_to(owner.sink)
                owner.response_done()
            else:
                self.ctx.counters.upstream_aborts += 1
                owner.upstream_aborted("upstream closed inside the body" if exc is None else
                                       f"upstream connection lost inside the body: {exc}")
        elif state == U_TUNNEL:
            owner.tunnel_closed(exc)


def _fileno(transport) -> int:
    return transport.get_extra_info("socket").fileno()


class UpstreamProtocol(UpstreamConnection, asyncio.BufferedProtocol):
    """What the event loop sees: a BufferedProtocol.  uvloop only looks for
    the methods, the stdlib loop checks the class, and a compiled (cdef)
    class cannot have a Python base: this thin subclass gives it one."""

    __slots__ = ()
