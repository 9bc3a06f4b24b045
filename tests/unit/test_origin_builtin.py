"""The built-in origin (fastproxy.origin) over real sockets: paths, keep-alive, pipelining, bodies."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading

import pytest
import uvloop

from fastproxy.origin import HELLO, MAX_BYTES, STREAM_THRESHOLD, body_bytes, start_origin

TIMEOUT = 5.0


class _Running:
    """A built-in origin on its own uvloop loop in a thread."""

    def __init__(self, name: str) -> None:
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(start_origin(name=name), self.loop).result(TIMEOUT)
        self.address = self.server.address

    def close(self) -> None:
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def builtin():
    running = _Running("b1")
    yield running
    running.close()
    assert not running.thread.is_alive()


class Conn:
    def __init__(self, address) -> None:
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 20)
        self.buf += data
        return bool(data)

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError(f"closed with {self.buf[:100]!r}")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def response(self, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if not self._fill():
                raise EOFError(f"closed with {self.buf[:100]!r}")
        lines = self._take(end + 4)[:-4].split(b"\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.decode().lower()] = value.strip().decode()
        status = int(lines[0].split()[1])
        length = 0 if head_only else int(fields.get("content-length", 0))
        return status, fields, self._take(length)

    def at_eof(self) -> bool:
        return not self.buf and not self._fill()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conn(builtin):
    c = Conn(builtin.address)
    yield c
    c.close()


def req(path: str, *fields: str, method: str = "GET", version: str = "HTTP/1.1", body: bytes = b"") -> bytes:
    return ("\r\n".join([f"{method} {path} {version}", "Host: t", *fields]) + "\r\n\r\n").encode() + body


def test_root_keep_alive(conn, builtin):
    for _ in range(3):
        conn.send(req("/"))
        status, fields, body = conn.response()
        assert (status, body) == (200, HELLO) and len(body) == 12
        assert fields["x-origin"] == "b1" and "connection" not in fields
    assert builtin.server.served == 3


def test_pipelined_requests_answered_in_order(conn):
    conn.send(req("/") + req("/bytes/5") + req("/status/404") + req("/bytes/70000?q=1") + req("/"))
    assert conn.response()[2] == HELLO
    assert conn.response()[2] == body_bytes(5) == b"01234"
    assert conn.response()[0] == 404
    assert conn.response()[2] == body_bytes(70000)
    assert conn.response()[2] == HELLO


@pytest.mark.parametrize("n", [0, 63, 64, 65, STREAM_THRESHOLD + 1, 3 * 1024 * 1024 + 7])
def test_bytes(conn, n):
    conn.send(req(f"/bytes/{n}") + req("/"))
    status, fields, body = conn.response()
    assert status == 200
    assert fields["content-length"] == str(n) and fields["content-type"] == "application/octet-stream"
    assert body == body_bytes(n)
    assert conn.response()[2] == HELLO, "pipelined after a streamed body"


def test_streamed_body_with_backpressure(conn):
    # Twice a large body, read slowly enough that the origin must pause.
    n = 8 * 1024 * 1024
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    conn.send(req(f"/bytes/{n}") * 2 + req("/", "Connection: close"))
    for _ in range(2):
        assert conn.response()[2] == body_bytes(n)
    status, fields, body = conn.response()
    assert status == 200
    assert fields["connection"] == "close" and body == HELLO
    assert conn.at_eof()


def test_half_closed_client_gets_the_whole_stream(conn):
    n = 6 * 1024 * 1024
    conn.send(req(f"/bytes/{n}"))
    conn.sock.shutdown(socket.SHUT_WR)
    assert conn.response()[2] == body_bytes(n)
    assert conn.at_eof()


def test_bytes_limits(conn):
    conn.send(req(f"/bytes/{MAX_BYTES + 1}") + req("/bytes/12x") + req("/bytes/-1"))
    assert [conn.response()[0] for _ in range(3)] == [400, 400, 400]


@pytest.mark.parametrize("status", [200, 201, 302, 404, 500, 503, 599])
def test_status(conn, status):
    conn.send(req(f"/status/{status}"))
    got, fields, body = conn.response()
    assert (got, body, fields["content-length"]) == (status, b"", "0")


@pytest.mark.parametrize("status", [204, 304])
def test_status_without_body(conn, status):
    conn.send(req(f"/status/{status}") + req("/"))
    got, fields, _ = conn.response(head_only=True)
    assert got == status and "content-length" not in fields
    assert conn.response()[2] == HELLO


@pytest.mark.parametrize("path", ["/status/100", "/status/600", "/status/20", "/status/abc"])
def test_status_out_of_range(conn, path):
    conn.send(req(path))
    assert conn.response()[0] == 400


def test_unknown_path(conn):
    conn.send(req("/nope"))
    assert conn.response()[:1] == (404,)


def test_head(conn):
    conn.send(req("/bytes/5000000", method="HEAD") + req("/", method="HEAD") + req("/"))
    assert conn.response(head_only=True)[1]["content-length"] == "5000000"
    assert conn.response(head_only=True)[1]["content-length"] == "12"
    assert conn.response()[2] == HELLO


def test_http10(conn):
    conn.send(req("/", "Connection: keep-alive", version="HTTP/1.0"))
    assert conn.response()[1]["connection"] == "keep-alive"
    conn.send(req("/", version="HTTP/1.0"))
    assert conn.response()[1]["connection"] == "close"
    assert conn.at_eof()


def test_connection_close(conn):
    conn.send(req("/", "Connection: close") + req("/"))
    assert conn.response()[1]["connection"] == "close"
    assert conn.at_eof(), "nothing after a close"


def test_request_bodies_are_skipped(conn):
    conn.send(req("/", "Content-Length: 5", method="POST", body=b"hello")
              + req("/bytes/1", "Transfer-Encoding: chunked", method="POST", body=b"3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n")
              + req("/status/201", "content-length: 0", method="PUT"))
    assert conn.response()[2] == HELLO
    assert conn.response()[2] == b"0"
    assert conn.response()[0] == 201


def test_bodies_split_across_reads(conn):
    data = (req("/", "Content-Length: 10", method="POST", body=b"0123456789")
            + req("/", "Transfer-Encoding: chunked", method="POST", body=b"a\r\n0123456789\r\n0\r\n\r\n")
            + req("/bytes/2"))
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        conn.send(data[i:i + 1])
    assert [conn.response()[2] for _ in range(3)] == [HELLO, HELLO, b"01"]


def test_expect_continue(conn):
    conn.send(req("/", "Content-Length: 3", "Expect: 100-continue", method="POST"))
    assert conn.response(head_only=True)[0] == 100
    conn.send(b"abc")
    assert conn.response()[2] == HELLO


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n", b"GET / HTTP/2.0\r\n\r\n",
                                 b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                                 b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"])
def test_bad_requests_get_400_and_close(conn, raw):
    conn.send(raw)
    status, fields, _ = conn.response()
    assert status == 400 and fields["connection"] == "close"
    assert conn.at_eof()


def test_oversized_head(conn):
    conn.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 70_000)
    status = conn.response()[0]
    assert status == 431 and conn.at_eof()


def test_close_ends_open_connections(builtin):
    c = Conn(builtin.address)
    c.send(req("/"))
    assert c.response()[2] == HELLO
    builtin.close()
    assert c.at_eof()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(builtin.address, timeout=TIMEOUT)


def test_names_must_be_header_safe():
    with pytest.raises(ValueError):
        asyncio.run(start_origin(name="a\r\nb"))


def test_command_line():
    proc = subprocess.Popen([sys.executable, "-m", "fastproxy.origin", "--port", "0", "--name", "cli"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("origin cli listening on http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        c = Conn(("127.0.0.1", port))
        c.send(req("/"))
        status, fields, body = c.response()
        assert status == 200
        assert fields["x-origin"] == "cli" and body == HELLO
        c.close()
    finally:
        proc.terminate()
        assert proc.wait(TIMEOUT) == 0
