"""A scriptable HTTP/1.1 origin server for the proxy's integration tests.

Use it from ``tests/integration/conftest.py`` with::

    from tests.integration.origin import Origin, origin, origin_factory  # noqa: F401

(``tests.integration.origin`` imports when the repository root is on
``sys.path``: ``PYTHONPATH=.``, or ``pythonpath = ["."]`` in the pytest
options, or ``__init__.py`` files in ``tests/`` and ``tests/integration/``.)

It parses requests with its own small, strict parser, never the proxy's, so
a bug in the proxy's parser cannot hide itself: anything the proxy lets
through that breaks RFC 9112 shows up in ``origin.parse_failures``.  The
parser, the server and the behaviours stay in this one file (past the usual
size) so that a test author finds every behaviour next to what it records.

The server
----------
``Origin(name="origin", keep_body_limit=1 MiB, hash_bodies=True)`` starts an
asyncio server on 127.0.0.1, port 0, on its own event loop in a background
thread.  ``.address`` (host, port), ``.port``, ``.url``; ``close()`` stops it
and closes every connection (``.thread`` has stopped after it returns).

What it records (all read safely from the test thread)
------------------------------------------------------
``.requests``              list of :class:`Request`, appended when a request's body
                           is complete (before it is answered)
``.heads_received``        requests whose head was read (counted before the body)
``.connections_accepted``  connections accepted so far; connection ids are 1, 2, ...
``.connections_closed``    connections ended so far; ``.closed_ids`` in order
``.parse_failures``        list of :class:`ParseFailure`: requests it refused
``.errors``                unexpected exceptions in its handlers (a bug here);
                           the fixtures assert that it is empty at teardown

``wait_for_requests(n, timeout=5)``, ``wait_for_heads(n)``,
``wait_for_connections(n)``, ``wait_for_closed(n)``, ``wait_for_parse_failures(n)``
block on a condition variable (no polling) until the count reaches ``n``;
they return the list or count and raise TimeoutError (with the state) when
``timeout`` passes.  ``wait_until(predicate, timeout)`` is the general form.

A :class:`Request` has ``method``, ``target``, ``version`` (str),
``headers`` (list of (name, value) bytes pairs as received: case and order
kept, values without surrounding whitespace), ``header(name)``,
``header_all(name)``, ``body`` (bytes, or None when longer than
``keep_body_limit``), ``body_length``, ``body_sha256`` (hex, None when
``hash_bodies`` is False), ``chunked``, ``trailers``, ``connection_id`` and
``index`` (0-based position on its connection: equal connection ids mean
the proxy reused an upstream connection).

Behaviours, chosen by the request path (the query string gives options)
----------------------------------------------------------------------
Every response carries ``X-Origin: NAME``.  Keep-alive follows the request
(HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only with
``Connection: keep-alive``, answered with ``Connection: keep-alive``).  HEAD
gets the head alone.  Every request body is read (Content-Length or
chunked) before the response, except where said.  ``Expect: 100-continue``
is honoured on ``/expect`` only: elsewhere the client must send its body
unasked, which lets a test see who answers the expectation.

``/echo``                  200, JSON: method, target, version, headers (list of
                           [name, value] latin-1 strings), body_length,
                           body_sha256, connection_id, index
``/bytes/N``               N bytes of :func:`expected_body`, Content-Length
``/chunked/N``             the same N bytes in chunked coding, several chunks
``/until-close/N``         the same N bytes, no length: the end is the close
``/status/N``              status N with body ``status N\\n``; 204 and 304
                           without body or length; a 1xx other than 101 is sent
                           as an interim response, followed by a 200
``/hang``                  reads the request, never answers (until the client or
                           close() ends the connection)
``/close-mid-body/N``      announces N bytes, sends N//2, closes (FIN)
``/reset``, ``/reset/N``   resets the connection (SO_LINGER 0, close): at once,
                           or after announcing N bytes and sending N//2
``/malformed``             a garbage status line, then close
``/slow/N/MS``             N chunks (``chunk 000000\\n``, 13 bytes each), MS ms
                           apart, chunked coding (``?length``: Content-Length);
                           ``chunk_event(i, key)`` is set once chunk i was
                           written and drained (``?key=K``, default "slow")
``/ws-echo``               with ``Upgrade: websocket`` and ``Connection:
                           upgrade``: 101 (with Sec-WebSocket-Accept when a key
                           was sent), then echoes every byte until EOF; without
                           them: 426
``/expect``                with ``Expect: 100-continue``, sends ``100 Continue``
                           before reading the body; answers like /echo
                           (``expect_continue_sent`` counts the 100s)
``/expect/reject``         417 at once, without reading the body, then close
``/gate/NAME``             sends the head and ``gate NAME part 1\\n`` (chunked;
                           ``?length``: Content-Length), sets
                           ``gate_reached(NAME)``, waits for
                           ``origin.release(NAME)`` (which may come first), then
                           sends ``gate NAME part 2\\n`` and ends
``/headers``               200 with ``Server: TestOrigin/1.0``,
                           ``X-Powered-By: TestFramework/2.0``,
                           ``X-Backend-Server: NAME``, plus one field per
                           ``?set=Name:Value``
anything else              404

The strict parser refuses (400, 431, 501 or 505, ``Connection: close``,
and a ParseFailure): an empty line before the request line, a bare CR or LF,
a method that is not a token, a target with spaces or controls, a version
other than HTTP/1.0 and HTTP/1.1, a field without a colon or with space
before it, obs-fold, controls in a value, a Content-Length that is not
digits, several different Content-Length values, Transfer-Encoding with
Content-Length, Transfer-Encoding on HTTP/1.0, a transfer coding other than
chunked, HTTP/1.1 without exactly one Host, a bad chunk-size line, chunk
data not followed by CRLF, a head over 64 KiB.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = [
    "Origin",
    "ParseFailure",
    "Request",
    "expected_body",
    "expected_sha256",
    "origin",
    "origin_factory",
    "parse_request_head",
]

MAX_HEAD = 64 * 1024
KEEP_BODY_LIMIT = 1024 * 1024
BLOCK = 64 * 1024
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- the body every sized behaviour sends -----------------------------------

# Each 64 KiB block starts with its own index, so a lost, repeated or
# reordered block changes the digest even when the length is right.
_FILLER = bytes(range(32, 127)) * (BLOCK // 95 + 1)


def _block(i: int) -> bytes:
    return b"%015x\n" % i + _FILLER[: BLOCK - 16]


def _body_blocks(n: int):
    """Yields the body of length ``n`` in blocks of at most 64 KiB."""
    i = 0
    while n > 0:
        b = _block(i)
        yield b if n >= BLOCK else b[:n]
        n -= BLOCK
        i += 1


def expected_body(n: int) -> bytes:
    """The N bytes that /bytes/N, /chunked/N, /until-close/N send (and /close-mid-body/N starts)."""
    return b"".join(_body_blocks(n))


@lru_cache(maxsize=64)
def expected_sha256(n: int) -> str:
    """sha256 (hex) of :func:`expected_body`; cheap in memory for any ``n``."""
    h = hashlib.sha256()
    for b in _body_blocks(n):
        h.update(b)
    return h.hexdigest()


# -- the strict parser -------------------------------------------------------


class BadMessage(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# RFC 9110 5.6.2: token = 1*tchar
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9112 3: request-line = method SP request-target SP HTTP-version
_REQUEST_LINE = re.compile(rb"([^ ]+) ([^ ]+) (HTTP/[0-9]\.[0-9])\Z")
# RFC 9112 3.2: the target is visible ASCII only
_TARGET = re.compile(rb"[\x21-\x7e]+\Z")
# RFC 9110 5.5: field-value = *field-content; no CTL but HTAB
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS name [ "=" value ] )
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
                         rb"(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|\"[^\"\r\n]*\"))?)*)\Z")


def _split_lines(head: bytes) -> list[bytes]:
    """The lines of a head that ends with CRLF CRLF; BadMessage on a bare CR or LF."""
    lines = head[:-4].split(b"\r\n")
    for line in lines:
        if b"\r" in line or b"\n" in line:
            raise BadMessage(400, "bare CR or LF in the head")
    return lines


def _parse_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    """RFC 9112 5: field-line = field-name ":" OWS field-value OWS."""
    fields = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise BadMessage(400, "obs-fold (a line starting with whitespace)")
        name, colon, value = line.partition(b":")
        if not colon:
            raise BadMessage(400, f"field line without a colon: {line[:80]!r}")
        if not _TOKEN.match(name):
            raise BadMessage(400, f"bad field name (or space before the colon): {name[:80]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise BadMessage(400, f"control character in field {name.decode()}")
        fields.append((name, value))
    return fields


def parse_request_head(head: bytes) -> tuple[str, str, str, list[tuple[bytes, bytes]]]:
    """Parses a request head ending with CRLF CRLF: (method, target, version, fields).

    Raises BadMessage (with the status to answer) on anything RFC 9112 does
    not allow.  Framing is checked separately by :func:`_framing`.
    """
    lines = _split_lines(head)
    if not lines[0]:
        raise BadMessage(400, "empty line before the request line")
    m = _REQUEST_LINE.match(lines[0])
    if not m:
        raise BadMessage(400, f"bad request line: {lines[0][:80]!r}")
    method, target, version = m.groups()
    if not _TOKEN.match(method):
        raise BadMessage(400, f"method is not a token: {method[:40]!r}")
    if not _TARGET.match(target):
        raise BadMessage(400, "target with controls or non-ASCII bytes")
    if version not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise BadMessage(505, f"unsupported version {version.decode()}")
    return method.decode(), target.decode(), version.decode(), _parse_fields(lines[1:])


def _values(fields: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for n, v in fields if n.lower() == name]


def _tokens(fields: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [t.strip().lower() for v in _values(fields, name) for t in v.split(b",") if t.strip()]


def _framing(version: str, fields: list[tuple[bytes, bytes]]) -> tuple[bool, int]:
    """RFC 9112 6: (chunked, content length) of a request body; BadMessage if ambiguous."""
    hosts = _values(fields, b"host")
    if version == "HTTP/1.1" and len(hosts) != 1:
        raise BadMessage(400, f"HTTP/1.1 request with {len(hosts)} Host fields")
    te = _tokens(fields, b"transfer-encoding")
    lengths = _values(fields, b"content-length")
    if te or _values(fields, b"transfer-encoding"):
        if lengths:
            raise BadMessage(400, "both Transfer-Encoding and Content-Length")
        if version == "HTTP/1.0":
            raise BadMessage(400, "Transfer-Encoding in an HTTP/1.0 request")
        if te != [b"chunked"]:
            raise BadMessage(501, f"unsupported transfer coding {b', '.join(te).decode()!r}")
        return True, 0
    if not lengths:
        return False, 0
    for value in lengths:
        if not value.isdigit() or not value.isascii():
            raise BadMessage(400, f"bad Content-Length {value[:40]!r}")
    if len({int(v) for v in lengths}) != 1:
        raise BadMessage(400, "different Content-Length values")
    return False, int(lengths[0])


def _keep_alive(version: str, fields: list[tuple[bytes, bytes]]) -> bool:
    tokens = _tokens(fields, b"connection")
    if version == "HTTP/1.1":
        return b"close" not in tokens
    return b"keep-alive" in tokens and b"close" not in tokens


# -- records -----------------------------------------------------------------


@dataclass
class Request:
    """One request as the origin received it; see the module docstring."""

    method: str
    target: str
    version: str
    headers: list[tuple[bytes, bytes]]
    body: bytes | None
    body_length: int
    body_sha256: str | None
    chunked: bool
    trailers: list[tuple[bytes, bytes]]
    connection_id: int
    index: int

    def header(self, name: str | bytes) -> bytes | None:
        """The first field called ``name`` (any case), or None."""
        found = self.header_all(name)
        return found[0] if found else None

    def header_all(self, name: str | bytes) -> list[bytes]:
        key = (name.encode() if isinstance(name, str) else name).lower()
        return [v for n, v in self.headers if n.lower() == key]


@dataclass
class ParseFailure:
    connection_id: int
    status: int
    reason: str
    head: bytes  # the head (or its first 4 KiB) that was refused


@dataclass
class _Conn:
    id: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    index: int = 0
    task: asyncio.Task | None = field(default=None, repr=False)


class _Close(Exception):
    """A behaviour ended the connection on purpose."""


# -- the server ---------------------------------------------------------------


class Origin:
    """The scriptable origin; see the module docstring for the whole surface."""

    def __init__(self, name: str = "origin", keep_body_limit: int = KEEP_BODY_LIMIT,
                 hash_bodies: bool = True) -> None:
        self.name = name
        self.keep_body_limit = keep_body_limit
        self.hash_bodies = hash_bodies
        self._cond = threading.Condition()
        self._requests: list[Request] = []
        self._failures: list[ParseFailure] = []
        self._errors: list[BaseException] = []
        self._closed_ids: list[int] = []
        self.heads_received = 0
        self.connections_accepted = 0
        self.expect_continue_sent = 0
        self._chunk_events: dict[tuple[str, int], threading.Event] = {}
        self._gate_reached: dict[str, threading.Event] = {}
        self._gates: dict[str, asyncio.Event] = {}  # touched in the loop thread only
        self._conns: dict[int, _Conn] = {}  # idem
        self._server: asyncio.AbstractServer | None = None
        self._closed = False
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._start_error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(started,), name=f"origin-{name}", daemon=True)
        self.thread.start()
        started.wait()
        if self._start_error is not None:
            self.thread.join()
            raise self._start_error
        self.address: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        self.port = self.address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        return f"<Origin {self.name} {self.url}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- thread and loop -----------------------------------------------------

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._accept, "127.0.0.1", 0, limit=MAX_HEAD))
        except BaseException as exc:  # noqa: BLE001  (re-raised by the constructor)
            self._start_error = exc
            started.set()
            self._loop.close()
            return
        started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def close(self, timeout: float = 10.0) -> None:
        """Stops listening, closes every connection, stops the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self.thread.join(timeout)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = []
        for conn in list(self._conns.values()):
            conn.writer.transport.abort()
            if conn.task is not None:
                conn.task.cancel()
                tasks.append(conn.task)
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    # -- what tests read and wait for -----------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._cond:
            return list(self._requests)

    @property
    def parse_failures(self) -> list[ParseFailure]:
        with self._cond:
            return list(self._failures)

    @property
    def errors(self) -> list[BaseException]:
        with self._cond:
            return list(self._errors)

    @property
    def closed_ids(self) -> list[int]:
        with self._cond:
            return list(self._closed_ids)

    @property
    def connections_closed(self) -> int:
        with self._cond:
            return len(self._closed_ids)

    @property
    def connections_open(self) -> int:
        with self._cond:
            return self.connections_accepted - len(self._closed_ids)

    def clear(self) -> None:
        """Forgets the recorded requests and failures (counters stay)."""
        with self._cond:
            self._requests.clear()
            self._failures.clear()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        """Blocks until ``predicate()`` (called under the lock) is true; TimeoutError after ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(
                    f"{self.name}: no {what} within {timeout}s (requests={len(self._requests)}, "
                    f"heads={self.heads_received}, accepted={self.connections_accepted}, "
                    f"closed={len(self._closed_ids)}, parse_failures={self._failures!r}, "
                    f"errors={self._errors!r})")

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[Request]:
        self.wait_until(lambda: len(self._requests) >= n, timeout, f"{n} requests")
        return self.requests

    def wait_for_heads(self, n: int, timeout: float = 5.0) -> int:
        self.wait_until(lambda: self.heads_received >= n, timeout, f"{n} request heads")
        return self.heads_received

    def wait_for_connections(self, n: int, timeout: float = 5.0) -> int:
        self.wait_until(lambda: self.connections_accepted >= n, timeout, f"{n} connections")
        return self.connections_accepted

    def wait_for_closed(self, n: int, timeout: float = 5.0) -> list[int]:
        self.wait_until(lambda: len(self._closed_ids) >= n, timeout, f"{n} closed connections")
        return self.closed_ids

    def wait_for_parse_failures(self, n: int, timeout: float = 5.0) -> list[ParseFailure]:
        self.wait_until(lambda: len(self._failures) >= n, timeout, f"{n} parse failures")
        return self.parse_failures

    def chunk_event(self, index: int, key: str = "slow") -> threading.Event:
        """Set once chunk ``index`` of the /slow response with ``?key=key`` was sent."""
        with self._cond:
            return self._chunk_events.setdefault((key, index), threading.Event())

    def gate_reached(self, name: str) -> threading.Event:
        """Set once /gate/NAME has sent its first part."""
        with self._cond:
            return self._gate_reached.setdefault(name, threading.Event())

    def release(self, name: str) -> None:
        """Lets /gate/NAME send the rest (now, or as soon as it gets there)."""
        self._loop.call_soon_threadsafe(lambda: self._gate(name).set())

    def _gate(self, name: str) -> asyncio.Event:
        return self._gates.setdefault(name, asyncio.Event())

    # -- per connection ----------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._cond:
            self.connections_accepted += 1
            conn = _Conn(self.connections_accepted, reader, writer, task=asyncio.current_task())
            self._cond.notify_all()
        self._conns[conn.id] = conn
        try:
            while await self._one_request(conn):
                conn.index += 1
        except (_Close, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except BaseException as exc:  # noqa: BLE001  (a bug in this file: the fixtures report it)
            with self._cond:
                self._errors.append(exc)
        finally:
            del self._conns[conn.id]
            writer.close()
            with self._cond:
                self._closed_ids.append(conn.id)
                self._cond.notify_all()

    async def _one_request(self, conn: _Conn) -> bool:
        """Reads and answers one request; False when the connection is to end."""
        try:
            head = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self._refuse(conn, BadMessage(400, "connection closed inside a head"), exc.partial, answer=False)
            return False
        except asyncio.LimitOverrunError:
            self._refuse(conn, BadMessage(431, "head over 64 KiB"), b"", answer=True)
            return False
        try:
            method, target, version, fields = parse_request_head(head)
            chunked, length = _framing(version, fields)
        except BadMessage as exc:
            self._refuse(conn, exc, head, answer=True)
            return False
        with self._cond:
            self.heads_received += 1
            self._cond.notify_all()
        keep = _keep_alive(version, fields)
        ex = _Exchange(self, conn, method, target, version, fields, chunked, length, keep)
        await ex.run()
        return ex.keep_alive

    def _refuse(self, conn: _Conn, exc: BadMessage, head: bytes, answer: bool) -> None:
        with self._cond:
            self._failures.append(ParseFailure(conn.id, exc.status, exc.reason, head[:4096]))
            self._cond.notify_all()
        if answer:
            body = exc.reason.encode("ascii", "replace") + b"\n"
            conn.writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n"
                              b"X-Origin: %s\r\n\r\n%s" % (exc.status, _reason(exc.status), len(body),
                                                           self.name.encode(), body))

    def _record(self, request: Request) -> None:
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


class _Exchange:
    """One request and its answer; ``run`` dispatches on the path."""

    def __init__(self, origin: Origin, conn: _Conn, method: str, target: str, version: str,
                 fields: list[tuple[bytes, bytes]], chunked: bool, length: int, keep: bool) -> None:
        self.origin = origin
        self.conn = conn
        self.reader = conn.reader
        self.writer = conn.writer
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
        self.chunked = chunked
        self.length = length
        self.keep_alive = keep
        split = urlsplit(target)
        self.parts = [p for p in split.path.split("/") if p]
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.head_only = method == "HEAD"

    async def run(self) -> None:
        name = self.parts[0] if self.parts else ""
        handler = _BEHAVIOURS.get(name)
        if handler is None:
            await self.read_body()
            await self.respond(404, b"no such behaviour\n")
            return
        try:
            await handler(self)
        except (ValueError, IndexError):  # a bad number in the path
            self.keep_alive = False  # the body, if any, was not read
            await self.respond(400, b"bad path arguments\n")

    def number(self, i: int) -> int:
        text = self.parts[i]
        if not text.isdigit():
            raise ValueError(text)
        return int(text)

    # -- request body -------------------------------------------------------------

    async def read_body(self) -> Request:
        """Reads the body the head announced, records the request, returns it."""
        keep = self.origin.keep_body_limit
        sha = hashlib.sha256() if self.origin.hash_bodies else None
        kept: list[bytes] | None = []
        total = 0
        trailers: list[tuple[bytes, bytes]] = []
        async for piece in (self._chunked_pieces(trailers) if self.chunked else self._length_pieces()):
            total += len(piece)
            if sha is not None:
                sha.update(piece)
            if kept is not None:
                if total <= keep:
                    kept.append(piece)
                else:
                    kept = None
        request = Request(self.method, self.target, self.version, self.fields,
                          b"".join(kept) if kept is not None else None, total,
                          sha.hexdigest() if sha is not None else None, self.chunked, trailers,
                          self.conn.id, self.conn.index)
        self.origin._record(request)
        return request

    async def _length_pieces(self):
        left = self.length
        while left:
            piece = await self.reader.read(min(left, BLOCK))
            if not piece:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(piece)
            yield piece

    async def _chunked_pieces(self, trailers: list[tuple[bytes, bytes]]):
        while True:
            line = await self._line()
            m = _CHUNK_LINE.match(line)
            if not m:
                self._bad_body(f"bad chunk-size line {line[:80]!r}")
            size = int(m.group(1), 16)
            if size == 0:
                break
            while size:
                piece = await self.reader.read(min(size, BLOCK))
                if not piece:
                    raise asyncio.IncompleteReadError(b"", size)
                size -= len(piece)
                yield piece
            if await self.reader.readexactly(2) != b"\r\n":
                self._bad_body("chunk data not followed by CRLF")
        lines = []
        while line := await self._line():
            lines.append(line)
        try:
            trailers.extend(_parse_fields(lines))
        except BadMessage as exc:
            self._bad_body(f"trailer: {exc.reason}")

    async def _line(self) -> bytes:
        try:
            line = await self.reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            self._bad_body("chunk-size or trailer line over 64 KiB")
        if b"\r" in line[:-2] or b"\n" in line[:-2]:
            self._bad_body("bare CR or LF in chunked coding")
        return line[:-2]

    def _bad_body(self, reason: str) -> None:
        self.origin._refuse(self.conn, BadMessage(400, reason), b"", answer=True)
        raise _Close(reason)

    # -- response ---------------------------------------------------------------

    def head(self, status: int, fields: list[tuple[str, str | int]] = (), length: int | None = None,
             chunked: bool = False) -> bytes:
        out = [b"HTTP/1.1 %d %s\r\n" % (status, _reason(status))]
        if length is not None:
            out.append(b"Content-Length: %d\r\n" % length)
        if chunked:
            out.append(b"Transfer-Encoding: chunked\r\n")
        for name, value in fields:
            out.append(f"{name}: {value}\r\n".encode("latin-1"))
        if not self.keep_alive:
            out.append(b"Connection: close\r\n")
        elif self.version == "HTTP/1.0":
            out.append(b"Connection: keep-alive\r\n")
        out.append(b"X-Origin: %s\r\n\r\n" % self.origin.name.encode())
        return b"".join(out)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def respond(self, status: int, body: bytes, fields: list[tuple[str, str | int]] = (),
                      ctype: str = "text/plain") -> None:
        """A complete response with Content-Length (none for 204 and 304)."""
        if status in (204, 304):
            await self.send(self.head(status, fields))
            return
        head = self.head(status, [("Content-Type", ctype), *fields], length=len(body))
        await self.send(head if self.head_only else head + body)

    async def send_body(self, n: int) -> None:
        for block in _body_blocks(n):
            await self.send(block)

    def close_now(self) -> None:
        self.keep_alive = False
        raise _Close()

    def reset_now(self) -> None:
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()
        raise _Close()


# -- behaviours: one coroutine per first path segment --------------------------


async def _echo(ex: _Exchange) -> None:
    req = await ex.read_body()
    await ex.respond(200, _echo_json(req), ctype="application/json")


def _echo_json(req: Request) -> bytes:
    return json.dumps({
        "method": req.method, "target": req.target, "version": req.version,
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in req.headers],
        "body_length": req.body_length, "body_sha256": req.body_sha256,
        "connection_id": req.connection_id, "index": req.index,
    }).encode()


async def _bytes(ex: _Exchange) -> None:
    n = ex.number(1)
    await ex.read_body()
    await ex.send(ex.head(200, [("Content-Type", "application/octet-stream")], length=n))
    if not ex.head_only:
        await ex.send_body(n)


def _chunk_sizes(n: int) -> list[int]:
    size = min(BLOCK, max(1, -(-n // 4)))
    return [min(size, n - off) for off in range(0, n, size)]


async def _chunked(ex: _Exchange) -> None:
    n = ex.number(1)
    await ex.read_body()
    await ex.send(ex.head(200, [("Content-Type", "application/octet-stream")], chunked=True))
    if ex.head_only:
        return
    body = b"".join(_body_blocks(n)) if n <= 4 * BLOCK else None
    blocks = _body_blocks(n)
    pending = b""
    for size in _chunk_sizes(n):
        if body is not None:
            data, body = body[:size], body[size:]
        else:
            while len(pending) < size:
                pending += next(blocks)
            data, pending = pending[:size], pending[size:]
        await ex.send(b"%x\r\n%s\r\n" % (size, data))
    await ex.send(b"0\r\n\r\n")


async def _until_close(ex: _Exchange) -> None:
    n = ex.number(1)
    await ex.read_body()
    ex.keep_alive = False
    await ex.send(ex.head(200, [("Content-Type", "application/octet-stream")]))
    if not ex.head_only:
        await ex.send_body(n)
    ex.close_now()


async def _status(ex: _Exchange) -> None:
    status = ex.number(1)
    if not 100 <= status <= 599 or status == 101:
        raise ValueError(status)
    await ex.read_body()
    if status < 200:
        await ex.send(b"HTTP/1.1 %d %s\r\n\r\n" % (status, _reason(status)))
        await ex.respond(200, b"after %d\n" % status)
        return
    await ex.respond(status, b"status %d\n" % status)


async def _hang(ex: _Exchange) -> None:
    await ex.read_body()
    while await ex.reader.read(BLOCK):
        pass
    ex.close_now()


async def _close_mid_body(ex: _Exchange) -> None:
    n = ex.number(1)
    await ex.read_body()
    await ex.send(ex.head(200, [("Content-Type", "application/octet-stream")], length=n))
    await ex.send(expected_body(n)[: n // 2])
    ex.close_now()


async def _reset(ex: _Exchange) -> None:
    await ex.read_body()
    if len(ex.parts) > 1:
        n = ex.number(1)
        await ex.send(ex.head(200, [("Content-Type", "application/octet-stream")], length=n))
        await ex.send(expected_body(n)[: n // 2])
    ex.reset_now()


async def _malformed(ex: _Exchange) -> None:
    await ex.read_body()
    await ex.send(b"HTTP/1.1 OK two hundred\r\nContent-Length: 2\r\n\r\nok")
    ex.close_now()


async def _slow(ex: _Exchange) -> None:
    count, delay = ex.number(1), ex.number(2) / 1000
    key = ex.query.get("key", ["slow"])[0]
    by_length = "length" in ex.query
    await ex.read_body()
    fields = [("Content-Type", "text/plain")]
    await ex.send(ex.head(200, fields, length=13 * count) if by_length else ex.head(200, fields, chunked=True))
    if ex.head_only:
        return
    for i in range(count):
        if i:
            await asyncio.sleep(delay)
        data = b"chunk %06d\n" % i
        await ex.send(data if by_length else b"d\r\n%s\r\n" % data)
        ex.origin.chunk_event(i, key).set()
    if not by_length:
        await ex.send(b"0\r\n\r\n")


async def _ws_echo(ex: _Exchange) -> None:
    await ex.read_body()
    upgrade = _tokens(ex.fields, b"upgrade")
    if b"websocket" not in upgrade or b"upgrade" not in _tokens(ex.fields, b"connection"):
        await ex.respond(426, b"upgrade to websocket required\n", [("Upgrade", "websocket")])
        return
    fields = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    key = _values(ex.fields, b"sec-websocket-key")
    if key:
        accept = base64.b64encode(hashlib.sha1(key[0] + WS_GUID).digest()).decode()
        fields.append(("Sec-WebSocket-Accept", accept))
    ex.keep_alive = True  # the head must not say close: the tunnel ends the connection
    await ex.send(ex.head(101, fields))
    while data := await ex.reader.read(BLOCK):
        await ex.send(data)
    ex.close_now()


async def _expect(ex: _Exchange) -> None:
    if ex.parts[1:] == ["reject"]:
        ex.keep_alive = False
        await ex.respond(417, b"expectation refused\n")
        ex.close_now()
    if [v.lower() for v in _values(ex.fields, b"expect")] == [b"100-continue"]:
        await ex.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        with ex.origin._cond:
            ex.origin.expect_continue_sent += 1
    req = await ex.read_body()
    await ex.respond(200, _echo_json(req), ctype="application/json")


async def _gate(ex: _Exchange) -> None:
    name = ex.parts[1]
    await ex.read_body()
    parts = [b"gate %s part 1\n" % name.encode(), b"gate %s part 2\n" % name.encode()]
    fields = [("Content-Type", "text/plain")]
    if "length" in ex.query:
        await ex.send(ex.head(200, fields, length=sum(map(len, parts))) + parts[0])
    else:
        await ex.send(ex.head(200, fields, chunked=True) + b"%x\r\n%s\r\n" % (len(parts[0]), parts[0]))
    ex.origin.gate_reached(name).set()
    await ex.origin._gate(name).wait()
    if "length" in ex.query:
        await ex.send(parts[1])
    else:
        await ex.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(parts[1]), parts[1]))


async def _headers(ex: _Exchange) -> None:
    await ex.read_body()
    fields = [("Server", "TestOrigin/1.0"), ("X-Powered-By", "TestFramework/2.0"),
              ("X-Backend-Server", ex.origin.name)]
    for item in ex.query.get("set", []):
        name, _, value = item.partition(":")
        fields.append((name, value.strip()))
    await ex.respond(200, b"headers\n", fields)


_BEHAVIOURS = {
    "echo": _echo, "bytes": _bytes, "chunked": _chunked, "until-close": _until_close,
    "status": _status, "hang": _hang, "close-mid-body": _close_mid_body, "reset": _reset,
    "malformed": _malformed, "slow": _slow, "ws-echo": _ws_echo, "expect": _expect,
    "gate": _gate, "headers": _headers,
}


# -- pytest fixtures ------------------------------------------------------------


def _check_stopped(made: list[Origin]) -> None:
    for o in made:
        assert not o.thread.is_alive(), f"{o!r}: its thread did not stop"
        assert not o.errors, f"{o!r}: handler errors: {o.errors!r}"


@pytest.fixture
def origin():
    """One Origin named "origin", closed at teardown (its thread checked stopped)."""
    o = Origin()
    try:
        yield o
    finally:
        o.close()
    _check_stopped([o])


@pytest.fixture
def origin_factory():
    """``make(name=..., **kwargs) -> Origin``; every Origin made is closed at teardown."""
    made: list[Origin] = []

    def make(name: str | None = None, **kwargs) -> Origin:
        o = Origin(name or f"origin-{len(made) + 1}", **kwargs)
        made.append(o)
        return o

    try:
        yield make
    finally:
        for o in made:
            o.close()
    _check_stopped(made)
