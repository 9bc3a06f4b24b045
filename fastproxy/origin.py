"""A small, fast HTTP/1.1 origin server: the demo's backends and the benchmark origin.

It must never be the bottleneck of a benchmark, so it does the least work an
honest server can: responses are built once and cached as whole byte strings,
a request head is found with ``bytes.find`` and only the request line and the
``Connection``, ``Content-Length``, ``Transfer-Encoding`` and ``Expect``
fields are looked at.  Request bodies are read and dropped.  Pipelined
requests are answered in order, and the answers to the requests of one read
go out in one write.

Paths (a query string is ignored):
  ``/``            200, ``hello world\\n`` (12 bytes)
  ``/bytes/N``     200, N bytes of :func:`body_bytes` (N <= 64 MiB); bodies
                   past 1 MiB are streamed in blocks, with backpressure
  ``/status/N``    status N (200..599), empty body
  anything else    404
Every response names the instance in ``X-Origin``.

From Python: ``server = await start_origin(port=0, name="a")``, then
``server.address`` and ``await server.close()``.  For benchmarks:
``python -m fastproxy.origin --port 9000 --name a [--workers N]``, which
prints ``origin a listening on http://HOST:PORT`` once it accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys

__all__ = ["OriginServer", "body_bytes", "main", "start_origin"]

HELLO = b"hello world\n"
MAX_BYTES = 64 * 1024 * 1024
# Bodies up to this size are cached whole; larger ones are streamed.
STREAM_THRESHOLD = 1024 * 1024
BLOCK = 256 * 1024
MAX_HEAD = 64 * 1024
# Beyond these the response cache stops growing (targets are client-chosen).
MAX_CACHED_ENTRIES = 4096
MAX_CACHED_BYTES = 64 * 1024 * 1024

# Period of the /bytes pattern; BLOCK is a multiple of it, so streamed blocks
# join seamlessly.
_PATTERN = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n"
assert BLOCK % len(_PATTERN) == 0
_BLOCK = _PATTERN * (BLOCK // len(_PATTERN))

# Connection modes, which decide the Connection field of a response.
KEEP_11 = 0  # HTTP/1.1 keep-alive: no field needed
KEEP_10 = 1  # HTTP/1.0 keep-alive: must be said
CLOSE = 2
_CONNECTION_FIELD = (b"", b"Connection: keep-alive\r\n", b"Connection: close\r\n")

_REASONS = {
    200: b"OK", 201: b"Created", 202: b"Accepted", 204: b"No Content", 206: b"Partial Content",
    301: b"Moved Permanently", 302: b"Found", 304: b"Not Modified", 307: b"Temporary Redirect",
    308: b"Permanent Redirect", 400: b"Bad Request", 401: b"Unauthorized", 403: b"Forbidden",
    404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout", 413: b"Content Too Large",
    429: b"Too Many Requests", 431: b"Request Header Fields Too Large", 500: b"Internal Server Error",
    501: b"Not Implemented", 502: b"Bad Gateway", 503: b"Service Unavailable", 504: b"Gateway Timeout",
}

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def body_bytes(n: int) -> bytes:
    """The body of ``/bytes/n``: a 64-byte pattern repeated, cut at ``n``."""
    reps, rest = divmod(n, len(_PATTERN))
    return _PATTERN * reps + _PATTERN[:rest]


class _Big:
    """A response too large to cache whole: its head, then ``length`` bytes of the pattern."""

    __slots__ = ("head", "length")

    def __init__(self, head: bytes, length: int) -> None:
        self.head = head
        self.length = length


class _Responses:
    """Builds and caches responses by (HEAD or not, connection mode, target)."""

    def __init__(self, name: str) -> None:
        self._origin_field = b"X-Origin: " + name.encode("ascii") + b"\r\n"
        # [head_only][mode] -> {target: bytes | _Big}
        self.tables = [[{}, {}, {}], [{}, {}, {}]]
        self._entries = 0
        self._bytes = 0

    def get(self, target: bytes, head_only: int, mode: int) -> bytes | _Big:
        table = self.tables[head_only][mode]
        resp = table.get(target)
        if resp is None:
            resp = self._build(target, head_only, mode)
            size = len(resp) if type(resp) is bytes else len(resp.head)
            if self._entries < MAX_CACHED_ENTRIES and self._bytes + size <= MAX_CACHED_BYTES:
                table[target] = resp
                self._entries += 1
                self._bytes += size
        return resp

    def error(self, status: int, message: bytes) -> bytes:
        """An uncached error response that closes the connection."""
        return self._make(status, b"text/plain", message, 0, CLOSE)

    def _build(self, target: bytes, head_only: int, mode: int) -> bytes | _Big:
        path = target.split(b"?", 1)[0]
        if path == b"/":
            return self._make(200, b"text/plain", HELLO, head_only, mode)
        if path.startswith(b"/bytes/"):
            digits = path[7:]
            if not digits.isdigit() or len(digits) > 12:
                return self._make(400, b"text/plain", b"bad length\n", head_only, mode)
            n = int(digits)
            if n > MAX_BYTES:
                return self._make(400, b"text/plain", b"length over 64 MiB\n", head_only, mode)
            if n > STREAM_THRESHOLD and not head_only:
                return _Big(self._head(200, b"application/octet-stream", n, mode), n)
            if head_only:
                return self._head(200, b"application/octet-stream", n, mode)
            return self._make(200, b"application/octet-stream", body_bytes(n), 0, mode)
        if path.startswith(b"/status/"):
            digits = path[8:]
            if digits.isdigit() and len(digits) == 3 and 200 <= int(digits) <= 599:
                return self._make(int(digits), b"text/plain", b"", head_only, mode)
            return self._make(400, b"text/plain", b"status must be 200..599\n", head_only, mode)
        return self._make(404, b"text/plain", b"not found\n", head_only, mode)

    def _head(self, status: int, ctype: bytes, length: int, mode: int) -> bytes:
        reason = _REASONS.get(status, b"Status")
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        # 204 and 304 carry no body and, here, no length (RFC 9110 8.6).
        if status not in (204, 304):
            parts.append(b"Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, length))
        parts += [_CONNECTION_FIELD[mode], self._origin_field, b"\r\n"]
        return b"".join(parts)

    def _make(self, status: int, ctype: bytes, body: bytes, head_only: int, mode: int) -> bytes:
        head = self._head(status, ctype, len(body), mode)
        if head_only or status in (204, 304):
            return head
        return head + body


def _field(lower_head: bytes, name: bytes) -> bytes | None:
    """The value of the first field ``name`` (lowercase, ``\\r\\n`` + name + ``:``)."""
    i = lower_head.find(name)
    if i < 0:
        return None
    start = i + len(name)
    end = lower_head.find(b"\r\n", start)
    return lower_head[start:end].strip() if end >= 0 else lower_head[start:].strip()


class _BadRequest(Exception):
    def __init__(self, status: int, message: bytes) -> None:
        self.status = status
        self.message = message


class _OriginProtocol(asyncio.Protocol):
    """One client connection.

    Theory of operation: bytes are consumed from the front of each read.
    Between messages the protocol looks for the end of a head; inside a body
    it drops ``_body_left`` bytes (Content-Length) or runs the chunked
    skipper.  The response to a request with a body waits in ``_resp`` until
    the body is in.  While a large response streams out, further input is
    held in ``_held`` (reading paused past MAX_HEAD) and consumed when the
    stream ends.
    """

    __slots__ = (
        "_body_left", "_chunk_left", "_chunk_state", "_close_after", "_held", "_pending",
        "_read_paused", "_resp", "_responses", "_server", "_stream_left", "_transport",
        "_write_paused",
    )

    def __init__(self, server: OriginServer) -> None:
        self._server = server
        self._responses = server._responses
        self._transport: asyncio.Transport | None = None
        self._pending = b""  # the unconsumed tail of the last read
        self._body_left = 0
        self._chunk_state = 0  # 0: not in a chunked body; else _CH_*
        self._chunk_left = 0
        self._resp: bytes | _Big | None = None
        self._close_after = False
        self._stream_left = 0
        self._write_paused = False
        self._held = b""
        self._read_paused = False

    # -- asyncio callbacks --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._server._conns.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self._server._conns.discard(self)
        self._stream_left = 0
        self._held = b""
        self._transport = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._stream_left and self._pump():
            self._stream_done()

    def data_received(self, data: bytes) -> None:
        if self._transport is None:  # closing: the rest is of no interest
            return
        if self._stream_left:
            self._held += data
            if not self._read_paused and len(self._held) > MAX_HEAD:
                self._read_paused = True
                self._transport.pause_reading()
            return
        if self._pending:
            data = self._pending + data
            self._pending = b""
        out: list[bytes] = []
        try:
            self._consume(data, out)
        except _BadRequest as exc:
            out.append(self._responses.error(exc.status, exc.message))
            self._close_after = True
        if self._transport is None:
            return
        if out:
            if len(out) == 1:
                self._transport.write(out[0])
            else:
                self._transport.writelines(out)
        if self._close_after and not self._stream_left:
            self._transport.close()
            self._transport = None

    def eof_received(self) -> bool:
        if self._stream_left:  # a half-closed client still gets the whole body
            self._close_after = True
            return True
        return False  # the client is done: close our side too

    # -- request side -------------------------------------------------------

    def _consume(self, data: bytes, out: list[bytes]) -> None:
        """Consumes ``data``, queueing responses in ``out``.

        Returns with ``_close_after`` set when the connection must close after
        ``out``, and with the incomplete tail in ``_pending`` (or, when a
        large response is streaming, the unread rest in ``_held``).
        Raises _BadRequest.
        """
        off = 0
        n = len(data)
        while off < n:
            if self._body_left:
                take = n - off
                if take < self._body_left:
                    self._body_left -= take
                    return
                off += self._body_left
                self._body_left = 0
            elif self._chunk_state:
                off = self._skip_chunked(data, off, n)
                if self._chunk_state:
                    return
            else:
                end = data.find(b"\r\n\r\n", off)
                if end < 0:
                    if n - off > MAX_HEAD:
                        raise _BadRequest(431, b"request head too large\n")
                    self._pending = data[off:]
                    return
                self._resp = self._request(data, off, end, out)
                off = end + 4
                if self._body_left or self._chunk_state:
                    continue
            # A request is complete: answer it.
            resp = self._resp
            self._resp = None
            self._server.served += 1
            if type(resp) is bytes:
                out.append(resp)
                if self._close_after:
                    return
                continue
            if self._start_stream(resp, out):
                continue
            self._held = data[off:]
            return

    def _request(self, data: bytes, off: int, end: int, out: list[bytes]) -> bytes | _Big:
        """Reads the head ``data[off:end]``, sets the body state, returns the response."""
        line_end = data.find(b"\r\n", off, end + 2)
        sp1 = data.find(b" ", off, line_end)
        sp2 = data.find(b" ", sp1 + 1, line_end)
        if sp1 <= off or sp2 < 0:
            raise _BadRequest(400, b"bad request line\n")
        version = data[sp2 + 1:line_end]
        if version == b"HTTP/1.1":
            mode = KEEP_11
        elif version == b"HTTP/1.0":
            mode = CLOSE
        else:
            raise _BadRequest(400, b"unsupported version\n")
        head_only = 1 if sp1 - off == 4 and data.startswith(b"HEAD", off) else 0
        target = data[sp1 + 1:sp2]
        if line_end < end:
            fields = data[line_end:end + 2].lower()
            conn = _field(fields, b"\r\nconnection:")
            if conn is not None:
                if b"close" in conn:
                    mode = CLOSE
                elif mode == CLOSE and b"keep-alive" in conn:
                    mode = KEEP_10
            te = _field(fields, b"\r\ntransfer-encoding:")
            if te is not None:
                if not te.endswith(b"chunked"):
                    raise _BadRequest(400, b"unsupported transfer-encoding\n")
                self._chunk_state = _CH_SIZE
            else:
                cl = _field(fields, b"\r\ncontent-length:")
                if cl is not None:
                    if not cl.isdigit() or len(cl) > 18:
                        raise _BadRequest(400, b"bad content-length\n")
                    self._body_left = int(cl)
            if (self._body_left or self._chunk_state) and _field(fields, b"\r\nexpect:") == b"100-continue":
                out.append(_CONTINUE)
        self._close_after = mode == CLOSE
        return self._responses.get(target, head_only, mode)

    def _skip_chunked(self, data: bytes, off: int, n: int) -> int:
        """Drops chunked-coded body bytes from ``data[off:n]``; returns the new offset.

        Leaves ``_chunk_state`` 0 when the body (trailers included) is over.
        Raises _BadRequest.
        """
        while off < n:
            state = self._chunk_state
            if state == _CH_DATA:
                take = min(self._chunk_left, n - off)
                off += take
                self._chunk_left -= take
                if self._chunk_left:
                    return off
                self._chunk_state = _CH_DATA_END
                continue
            # The other states read one line.
            eol = data.find(b"\r\n", off)
            if eol < 0:
                if n - off > 4096:
                    raise _BadRequest(400, b"chunk line too long\n")
                self._pending = data[off:]
                return n
            line = data[off:eol]
            off = eol + 2
            if state == _CH_SIZE:
                size = line.split(b";", 1)[0].strip()
                try:
                    self._chunk_left = int(size, 16)
                except ValueError:
                    raise _BadRequest(400, b"bad chunk size\n") from None
                self._chunk_state = _CH_DATA if self._chunk_left else _CH_TRAILER
            elif state == _CH_DATA_END:
                if line:
                    raise _BadRequest(400, b"chunk data overrun\n")
                self._chunk_state = _CH_SIZE
            elif not line:  # _CH_TRAILER: the empty line ends the body
                self._chunk_state = 0
                return off
        return off

    # -- streamed responses -------------------------------------------------

    def _start_stream(self, resp: _Big, out: list[bytes]) -> bool:
        """Sends ``out`` and ``resp``; True when it all went out at once."""
        out.append(resp.head)
        self._transport.writelines(out)
        out.clear()
        self._stream_left = resp.length
        if self._pump():
            self._stream_left = 0
            return not self._close_after
        return False

    def _pump(self) -> bool:
        """Writes the body until the transport asks us to pause; True when it is all written."""
        transport = self._transport
        left = self._stream_left
        while left and not self._write_paused:
            if transport is None or transport.is_closing():
                self._stream_left = 0
                return False
            k = min(BLOCK, left)
            transport.write(_BLOCK if k == BLOCK else _BLOCK[:k])
            left -= k
        self._stream_left = left
        return left == 0

    def _stream_done(self) -> None:
        """Called from resume_writing when a stream ended: close, or go on with held input."""
        if self._close_after:
            self._transport.close()
            self._transport = None
            return
        held, self._held = self._held, b""
        if self._read_paused:
            self._read_paused = False
            self._transport.resume_reading()
        if held:
            self.data_received(held)


_CH_SIZE = 1
_CH_DATA = 2
_CH_DATA_END = 3
_CH_TRAILER = 4


class OriginServer:
    """A listening origin; ``address`` is the bound (host, port)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.served = 0  # responses started
        self._responses = _Responses(name)
        self._conns: set[_OriginProtocol] = set()
        self._server: asyncio.AbstractServer | None = None
        self.address: tuple[str, int] = ("", 0)

    def _protocol(self) -> _OriginProtocol:
        return _OriginProtocol(self)

    async def close(self) -> None:
        """Stops listening and closes every open connection."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._conns):
            if conn._transport is not None:
                conn._transport.abort()
        await self._server.wait_closed()
        self._server = None


async def start_origin(
    host: str = "127.0.0.1",
    port: int = 0,
    name: str = "origin",
    *,
    sock: socket.socket | None = None,
    backlog: int = 1024,
) -> OriginServer:
    """Starts an origin in the running loop; ``sock`` (already bound) overrides host and port."""
    if not name.isascii() or not name.isprintable() or ":" in name or not name:
        raise ValueError(f"origin name must be printable ASCII without ':': {name!r}")
    origin = OriginServer(name)
    loop = asyncio.get_running_loop()
    if sock is not None:
        server = await loop.create_server(origin._protocol, sock=sock, backlog=backlog)
    else:
        server = await loop.create_server(origin._protocol, host, port, backlog=backlog, reuse_address=True)
    origin._server = server
    origin.address = server.sockets[0].getsockname()[:2]
    return origin


# -- command line -----------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m fastproxy.origin", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (default 8000)")
    p.add_argument("--name", default="origin", help="the X-Origin value (default: origin)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the socket (default 1)")
    return p.parse_args(argv)


async def _serve(sock: socket.socket, name: str, announce: bool) -> None:
    origin = await start_origin(name=name, sock=sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if announce:
        host, port = origin.address
        print(f"origin {name} listening on http://{host}:{port}", flush=True)
    await stop.wait()
    await origin.close()


def _run(coro) -> None:
    try:
        import uvloop
    except ImportError:  # the package depends on uvloop; a bare checkout may lack it
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main(argv: list[str] | None = None) -> int:
    """``python -m fastproxy.origin``: serve until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    sock.listen(1024)
    sock.setblocking(False)
    # Workers share the one listening socket; each forks before any loop exists.
    children = []
    for _ in range(args.workers - 1):
        pid = os.fork()
        if pid == 0:
            try:
                _run(_serve(sock, args.name, announce=False))
            finally:
                os._exit(0)
        children.append(pid)
    try:
        _run(_serve(sock, args.name, announce=True))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
