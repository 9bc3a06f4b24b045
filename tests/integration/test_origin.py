"""The scriptable test origin itself, over raw sockets: each behaviour, the strict parser, the records."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct

import pytest

# The origin and origin_factory fixtures come from conftest.py, which imports them from origin.py.
from tests.integration.origin import BadMessage, _framing, expected_body, expected_sha256, parse_request_head

TIMEOUT = 5.0


class Client:
    """A blocking socket with a read buffer and a strict-enough response reader."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def read_until(self, sep: bytes) -> bytes:
        while (i := self.buf.find(sep)) < 0:
            if not self._fill():
                raise EOFError(f"closed before {sep!r}; have {self.buf[:200]!r}")
        out, self.buf = self.buf[: i + len(sep)], self.buf[i + len(sep):]
        return out

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"closed after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out

    def at_eof(self) -> bool:
        return not self.buf and not self._fill()

    def read_head(self) -> tuple[int, dict[str, str], bytes]:
        head = self.read_until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            assert name.decode().lower() not in fields, f"repeated field {name!r}"
            fields[name.decode().lower()] = value.strip().decode()
        return status, fields, head

    def read_chunked(self) -> tuple[bytes, list[int]]:
        body, sizes = b"", []
        while True:
            size = int(self.read_until(b"\r\n")[:-2], 16)
            if size == 0:
                assert self.read_until(b"\r\n") == b"\r\n"
                return body, sizes
            sizes.append(size)
            body += self.read_exact(size)
            assert self.read_exact(2) == b"\r\n"

    def response(self, head_request: bool = False) -> tuple[int, dict[str, str], bytes]:
        """One final response (1xx skipped would hide bugs: they are returned as they come)."""
        status, fields, _ = self.read_head()
        if head_request or status in (204, 304) or status < 200:
            return status, fields, b""
        if "content-length" in fields:
            return status, fields, self.read_exact(int(fields["content-length"]))
        if fields.get("transfer-encoding") == "chunked":
            return status, fields, self.read_chunked()[0]
        return status, fields, self.read_to_eof()


@pytest.fixture
def connect(origin):
    clients = []

    def make() -> Client:
        c = Client(origin.address)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def get(path: str, *fields: str, method: str = "GET", version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} {version}", "Host: test", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- records, keep-alive, pipelining ------------------------------------------


def test_echo_records_the_request_as_received(origin, connect):
    c = connect()
    c.send(get("/echo?x=1", "X-Mixed-Case:  spaced value ", "x-dup: 1", "X-Dup: 2",
               "Content-Length: 5", method="POST", body=b"hello"))
    status, fields, body = c.response()
    assert status == 200 and fields["x-origin"] == "origin"
    assert fields["content-type"] == "application/json"
    echoed = json.loads(body)
    assert echoed["method"] == "POST" and echoed["target"] == "/echo?x=1"
    assert echoed["headers"][1] == ["X-Mixed-Case", "spaced value"]
    assert echoed["body_length"] == 5
    assert echoed["body_sha256"] == hashlib.sha256(b"hello").hexdigest()
    [req] = origin.wait_for_requests(1)
    assert req.headers[:2] == [(b"Host", b"test"), (b"X-Mixed-Case", b"spaced value")]
    assert req.header("x-dup") == b"1" and req.header_all(b"X-DUP") == [b"1", b"2"]
    assert req.body == b"hello" and not req.chunked
    assert (req.connection_id, req.index) == (1, 0)


def test_keep_alive_and_connection_ids(origin, connect):
    a = connect()
    for _ in range(2):
        a.send(get("/echo"))
        assert a.response()[0] == 200
    b = connect()
    b.send(get("/echo", "Connection: close"))
    status, fields, _ = b.response()
    assert status == 200
    assert fields["connection"] == "close" and b.at_eof()
    reqs = origin.wait_for_requests(3)
    assert [(r.connection_id, r.index) for r in reqs] == [(1, 0), (1, 1), (2, 0)]
    assert origin.wait_for_connections(2) == 2
    assert origin.wait_for_closed(1) == [2]
    assert origin.connections_open == 1


def test_pipelined_requests_are_answered_in_order(connect):
    c = connect()
    c.send(get("/bytes/3") + get("/status/404") + get("/echo", "Content-Length: 2", method="PUT", body=b"ab")
           + get("/chunked/5"))
    assert c.response()[2] == expected_body(3)
    assert c.response()[:1] == (404,)
    assert json.loads(c.response()[2])["method"] == "PUT"
    assert c.response()[2] == expected_body(5)


def test_http10_closes_unless_keep_alive(connect):
    c = connect()
    c.send(get("/bytes/1", "Connection: keep-alive", version="HTTP/1.0"))
    status, fields, body = c.response()
    assert status == 200
    assert fields["connection"] == "keep-alive" and body == expected_body(1)
    c.send(get("/bytes/1", version="HTTP/1.0"))
    assert c.response()[1]["connection"] == "close"
    assert c.at_eof()


def test_chunked_request_body_with_trailers(origin, connect):
    c = connect()
    c.send(get("/echo", "Transfer-Encoding: chunked", method="POST")
           + b"3;ext=1\r\nabc\r\n1\r\nd\r\n0\r\nX-Trailer: t\r\n\r\n")
    assert json.loads(c.response()[2])["body_length"] == 4
    [req] = origin.wait_for_requests(1)
    assert req.chunked and req.body == b"abcd" and req.trailers == [(b"X-Trailer", b"t")]


def test_large_bodies_keep_digest_not_content(origin_factory):
    o = origin_factory(keep_body_limit=10)
    c = Client(o.address)
    body = expected_body(100_000)
    c.send(get("/echo", "Content-Length: 100000", method="POST", body=body))
    assert c.response()[0] == 200
    [req] = o.wait_for_requests(1)
    assert req.body is None and req.body_length == 100_000
    assert req.body_sha256 == hashlib.sha256(body).hexdigest() == expected_sha256(100_000)
    c.close()


# -- sized bodies -------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 65_536, 200_003])
def test_bytes_chunked_and_until_close_send_the_same_body(connect, n):
    c = connect()
    c.send(get(f"/bytes/{n}"))
    status, fields, body = c.response()
    assert fields["content-length"] == str(n) and body == expected_body(n)
    c.send(get(f"/chunked/{n}"))
    status, fields, _ = c.read_head()
    assert status == 200
    assert fields["transfer-encoding"] == "chunked" and "content-length" not in fields
    body, sizes = c.read_chunked()
    assert body == expected_body(n)
    assert n < 2 or len(sizes) >= 2, "several chunks"
    c.send(get(f"/until-close/{n}"))
    status, fields, body = c.response()
    assert status == 200
    assert "content-length" not in fields and "transfer-encoding" not in fields
    assert fields["connection"] == "close" and body == expected_body(n)


def test_expected_body_blocks_are_numbered():
    body = expected_body(3 * 65536)
    assert body[:16] == b"000000000000000\n" and body[65536:65552] == b"000000000000001\n"
    assert expected_sha256(3 * 65536) == hashlib.sha256(body).hexdigest()


def test_head_gets_no_body(connect):
    c = connect()
    c.send(get("/bytes/10", method="HEAD") + get("/bytes/2"))
    status, fields, _ = c.response(head_request=True)
    assert status == 200
    assert fields["content-length"] == "10"
    assert c.response()[2] == expected_body(2)


# -- statuses -----------------------------------------------------------------


def test_status_codes(connect):
    c = connect()
    c.send(get("/status/204") + get("/status/304") + get("/status/503") + get("/status/103")
           + get("/status/101") + get("/bytes/1"))
    for expected in (204, 304):
        status, fields, _ = c.response()
        assert status == expected and "content-length" not in fields and "transfer-encoding" not in fields
    assert c.response()[::2] == (503, b"status 503\n")
    status, fields, _ = c.read_head()
    assert status == 103 and list(fields) == []
    assert c.response()[::2] == (200, b"after 103\n")
    assert c.response()[0] == 400
    assert c.at_eof(), "a refused path argument closes the connection"


# -- failures -------------------------------------------------------------------


def test_hang_never_answers(origin, connect):
    c = connect()
    c.send(get("/hang"))
    origin.wait_for_requests(1)
    origin.close()
    assert c.read_to_eof() == b""


def test_hang_ends_when_the_client_goes(origin, connect):
    c = connect()
    c.send(get("/hang"))
    origin.wait_for_requests(1)
    c.close()
    assert origin.wait_for_closed(1) == [1]


def test_close_mid_body(connect):
    c = connect()
    c.send(get("/close-mid-body/1000"))
    status, fields, _ = c.read_head()
    assert status == 200
    assert fields["content-length"] == "1000"
    assert c.read_to_eof() == expected_body(1000)[:500]


@pytest.mark.parametrize("path, head", [("/reset", False), ("/reset/1000", True)])
def test_reset(connect, path, head):
    c = connect()
    c.send(get(path))
    if head:
        assert c.read_head()[1]["content-length"] == "1000"
    with pytest.raises(ConnectionResetError):
        while c._fill():
            pass


def test_malformed_status_line(connect):
    c = connect()
    c.send(get("/malformed"))
    data = c.read_to_eof()
    assert data.startswith(b"HTTP/1.1 OK two hundred\r\n")


# -- streaming and synchronisation ------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_slow_chunks_come_one_by_one(origin, connect, framing):
    c = connect()
    query = "?key=k&length" if framing == "length" else "?key=k"
    c.send(get(f"/slow/3/50{query}"))
    status, fields, _ = c.read_head()
    assert status == 200
    if framing == "chunked":
        assert c.read_until(b"\r\n") == b"d\r\n"
    first = c.read_exact(13)
    assert first == b"chunk 000000\n"
    assert origin.chunk_event(0, "k").wait(TIMEOUT)
    assert not origin.chunk_event(2, "k").is_set(), "the last chunk waits 100 ms"
    assert origin.chunk_event(2, "k").wait(TIMEOUT)
    if framing == "chunked":
        c.read_exact(2)
        rest, _ = c.read_chunked()
    else:
        assert fields["content-length"] == "39"
        rest = c.read_exact(26)
    assert rest == b"chunk 000001\nchunk 000002\n"


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_gate_holds_the_rest_until_released(origin, connect, framing):
    c = connect()
    c.send(get("/gate/g1?length" if framing == "length" else "/gate/g1"))
    status, fields, _ = c.read_head()
    assert status == 200
    if framing == "chunked":
        c.read_until(b"\r\n")
    assert c.read_exact(len(b"gate g1 part 1\n")) == b"gate g1 part 1\n"
    assert origin.gate_reached("g1").wait(TIMEOUT)
    if framing == "chunked":
        assert c.read_exact(2) == b"\r\n"
    c.sock.settimeout(0)
    with pytest.raises(BlockingIOError):  # nothing more is on its way
        c.sock.recv(1)
    c.sock.settimeout(TIMEOUT)
    origin.release("g1")
    if framing == "chunked":
        assert c.read_chunked()[0] == b"gate g1 part 2\n"
    else:
        assert fields["content-length"] == "30"
        assert c.read_exact(15) == b"gate g1 part 2\n"


def test_release_before_the_request(origin, connect):
    origin.release("early")
    c = connect()
    c.send(get("/gate/early?length"))
    assert c.response()[2] == b"gate early part 1\ngate early part 2\n"


# -- upgrade, expect, headers ----------------------------------------------------


def test_ws_echo(connect):
    c = connect()
    key = base64.b64encode(b"0123456789abcdef").decode()
    c.send(get("/ws-echo", "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
               "Sec-WebSocket-Version: 13"))
    status, fields, _ = c.read_head()
    assert status == 101 and fields["upgrade"] == "websocket" and "connection" in fields
    accept = base64.b64encode(hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    assert fields["sec-websocket-accept"] == accept.decode()
    for data in (b"\x81\x05hello", b"GET / HTTP/1.1\r\n\r\n"):
        c.send(data)
        assert c.read_exact(len(data)) == data
    c.sock.shutdown(socket.SHUT_WR)
    assert c.read_to_eof() == b""


def test_ws_echo_without_upgrade(connect):
    c = connect()
    c.send(get("/ws-echo"))
    assert c.response()[0] == 426


def test_expect_continue(origin, connect):
    c = connect()
    c.send(get("/expect", "Expect: 100-continue", "Content-Length: 3", method="POST"))
    assert c.read_until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert origin.heads_received == 1 and origin.requests == []
    c.send(b"abc")
    status, _, body = c.response()
    assert status == 200 and json.loads(body)["body_length"] == 3
    assert origin.expect_continue_sent == 1
    c.send(get("/expect", "Content-Length: 1", method="POST", body=b"x"))
    assert c.response()[0] == 200, "no 100 without the expectation"
    assert origin.expect_continue_sent == 1


def test_expect_reject(origin, connect):
    c = connect()
    c.send(get("/expect/reject", "Expect: 100-continue", "Content-Length: 3", method="POST"))
    status, fields, body = c.response()
    assert status == 417 and fields["connection"] == "close" and body == b"expectation refused\n"
    assert c.at_eof()
    assert origin.requests == []


def test_headers_that_reveal_the_backend(connect):
    c = connect()
    c.send(get("/headers?set=X-AspNet-Version:4.0&set=Via:1.1%20backend"))
    status, fields, _ = c.response()
    assert status == 200
    assert fields["server"] == "TestOrigin/1.0" and fields["x-powered-by"] == "TestFramework/2.0"
    assert fields["x-aspnet-version"] == "4.0" and fields["via"] == "1.1 backend"
    assert fields["x-backend-server"] == "origin"


def test_unknown_path_is_404(connect):
    c = connect()
    c.send(get("/nothing-here"))
    assert c.response()[0] == 404


# -- the strict parser ------------------------------------------------------------

BAD_REQUESTS = [
    (b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty line"),
    (b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, "bare CR or LF"),
    (b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "request line"),
    (b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "not a token"),
    (b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "controls"),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "version"),
    (b"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "without a colon"),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before the colon"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400, "obs-fold"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\x00c\r\n\r\n", 400, "control character"),
    (b"GET / HTTP/1.1\r\n\r\n", 400, "0 Host"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "2 Host"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "different"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "both"),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "transfer coding"),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501, "transfer coding"),
]


@pytest.mark.parametrize("raw, status, reason", BAD_REQUESTS)
def test_parser_refuses(raw, status, reason):
    with pytest.raises(BadMessage) as info:
        _method, _target, version, fields = parse_request_head(raw)
        _framing(version, fields)
    assert info.value.status == status and reason in info.value.reason


def test_parser_accepts_a_clean_request():
    method, target, version, fields = parse_request_head(
        b"PATCH /a?b=c HTTP/1.1\r\nHost: a\r\nX-Tab:\tv\t\r\nTransfer-Encoding: Chunked\r\n\r\n")
    assert (method, target, version) == ("PATCH", "/a?b=c", "HTTP/1.1")
    assert fields == [(b"Host", b"a"), (b"X-Tab", b"v"), (b"Transfer-Encoding", b"Chunked")]
    assert _framing(version, fields) == (True, 0)


@pytest.mark.parametrize("raw, status, reason", BAD_REQUESTS[:3] + BAD_REQUESTS[-4:-2])
def test_refused_requests_are_answered_and_recorded(origin, connect, raw, status, reason):
    c = connect()
    c.send(raw)
    got, fields, _ = c.response()
    assert got == status and fields["connection"] == "close"
    assert c.at_eof()
    [failure] = origin.wait_for_parse_failures(1)
    assert failure.status == status and reason in failure.reason and failure.connection_id == 1
    assert origin.requests == [] and origin.heads_received == 0


@pytest.mark.parametrize("body, reason", [
    (b"zz\r\nab\r\n0\r\n\r\n", "chunk-size"),
    (b"2\r\nabc\r\n0\r\n\r\n", "not followed by CRLF"),
    (b"1\r\na\r\n0\r\nBad Trailer: x\r\n\r\n", "trailer"),
])
def test_bad_chunked_bodies_are_refused(origin, connect, body, reason):
    c = connect()
    c.send(get("/echo", "Transfer-Encoding: chunked", method="POST") + body)
    assert c.response()[0] == 400
    [failure] = origin.wait_for_parse_failures(1)
    assert reason in failure.reason
    assert origin.requests == []


def test_head_over_64k_is_431(origin, connect):
    c = connect()
    c.send(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 70_000 + b"\r\n\r\n")
    assert c.response()[0] == 431
    assert origin.wait_for_parse_failures(1)[0].status == 431


# -- lifecycle ---------------------------------------------------------------------


def test_wait_raises_with_the_state(origin):
    with pytest.raises(TimeoutError, match="requests=0"):
        origin.wait_for_requests(1, timeout=0.01)


def test_close_stops_the_thread_and_connections(origin_factory):
    o = origin_factory()
    c = Client(o.address)
    c.send(get("/bytes/1"))
    assert c.response()[0] == 200
    o.close()
    assert not o.thread.is_alive()
    assert c.at_eof()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(o.address, timeout=TIMEOUT)
    o.close()  # idempotent


def test_factory_names_and_spreads(origin_factory):
    origins = [origin_factory() for _ in range(3)]
    assert [o.name for o in origins] == ["origin-1", "origin-2", "origin-3"]
    assert len({o.port for o in origins}) == 3
    for o in origins:
        c = Client(o.address)
        c.send(get("/bytes/0"))
        assert c.response()[1]["x-origin"] == o.name
        c.close()


def test_many_concurrent_connections_do_not_cross(origin):
    clients = [Client(origin.address) for _ in range(100)]
    for i, c in enumerate(clients):
        c.send(get(f"/echo?n={i}", "Content-Length: 4", method="POST", body=struct.pack("!I", i)))
    for i, c in enumerate(clients):
        assert json.loads(c.response()[2])["target"] == f"/echo?n={i}"
        c.close()
    assert len({r.connection_id for r in origin.wait_for_requests(100)}) == 100
