"""Bodies both ways: framings, re-framing, streaming, backpressure."""

from __future__ import annotations

import hashlib
import json
import socket
import threading

import pytest

from fastproxy import splice
from tests.integration.origin import expected_body, expected_sha256
from tests.integration.rawhttp import build_request, chunked
from tests.integration.scripted import ScriptedUpstream, read_head

MIB = 1024 * 1024


def _payload(n: int) -> bytes:
    return hashlib.sha256(b"seed").digest() * (n // 32) + b"x" * (n % 32)


def test_upload_content_length(proxy, origin):
    body = _payload(3 * MIB + 7)
    with proxy.client() as c:
        r = c.request("POST", "/echo", body=body)
    echo = json.loads(r.body)
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_upload_chunked_passes_through(proxy, origin):
    body = _payload(3 * MIB + 5)
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + chunked(body, 100_003))
        r = c.read_response()
    echo = json.loads(r.body)
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    req = origin.wait_for_requests(1)[0]
    assert req.chunked


def test_upload_chunked_with_trailers_and_extensions(proxy, origin):
    coded = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + coded)
        r = c.read_response()
        assert json.loads(r.body)["body_length"] == 11
        assert c.request("GET", "/bytes/3").status == 200  # still in step
    assert origin.wait_for_requests(2)[0].trailers == [(b"X-Trailer", b"yes")]


@pytest.mark.parametrize("n", [0, 1, 65536, 3 * MIB + 1])
def test_download_content_length(proxy, origin, n):
    with proxy.client() as c:
        r = c.request("GET", f"/bytes/{n}")
        assert r.header("content-length") == str(n)
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(n)
        assert c.request("GET", "/bytes/1").status == 200


def test_download_chunked_passes_through(proxy, origin):
    n = 3 * MIB + 3
    with proxy.client() as c:
        r = c.request("GET", f"/chunked/{n}")
        assert r.chunked
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(n)
        assert c.request("GET", "/bytes/1").status == 200


def test_download_until_close_is_chunked_for_http11(proxy, origin):
    n = 2 * MIB + 11
    with proxy.client() as c:
        r = c.request("GET", f"/until-close/{n}")
        assert r.chunked and not r.closes
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(n)
        # The client connection survives the upstream's close.
        assert c.request("GET", "/bytes/5").body == expected_body(5)


def test_download_until_close_for_http10(proxy, origin):
    n = MIB + 1
    with proxy.client() as c:
        r = c.request("GET", f"/until-close/{n}", version="HTTP/1.0",
                      headers={"Connection": "keep-alive"})
        assert r.header("content-length") is None and not r.chunked
        assert r.closes
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(n)


def test_chunked_response_is_decoded_for_http10(proxy, origin):
    n = MIB + 17
    with proxy.client() as c:
        r = c.request("GET", f"/chunked/{n}", version="HTTP/1.0", headers={"Connection": "keep-alive"})
        assert r.header("transfer-encoding") is None and r.closes
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(n)
        assert c.at_eof()


def test_both_directions_at_once(proxy, origin):
    body = _payload(2 * MIB)
    with proxy.client() as c:
        r = c.request("PUT", "/echo", body=body)
        assert json.loads(r.body)["body_sha256"] == hashlib.sha256(body).hexdigest()
        r = c.request("POST", f"/bytes/{2 * MIB}", body=body)
        assert hashlib.sha256(r.body).hexdigest() == expected_sha256(2 * MIB)


@pytest.mark.parametrize("by_length", [False, True], ids=["chunked", "length"])
def test_response_streams_before_the_origin_finishes(proxy, origin, by_length):
    query = "?length" if by_length else ""
    with proxy.client() as c:
        c.send(build_request("GET", f"/gate/g{query}"))
        head = c.read_head()
        assert head.status == 200
        # The first part arrives while the origin is still held at its gate.
        while b"part 1\n" not in c.buf:
            c._fill()
        assert b"part 2" not in c.buf
        origin.release("g")
        if by_length:
            body = c._take(int(head.header("content-length")))
        else:
            body = c._chunked_body()
        assert body == b"gate g part 1\ngate g part 2\n"


def test_request_body_streams_before_the_client_finishes(proxy_factory):
    got_first = threading.Event()

    def upstream_handler(conn, index):
        buf = bytearray()
        read_head(conn, buf)
        while len(buf) < 5:
            buf += conn.recv(65536)
        got_first.set()
        while len(buf) < 10:
            buf += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + bytes(buf[:10]))

    upstream = ScriptedUpstream(upstream_handler)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            c.send(build_request("POST", "/", {"Content-Length": "10"}) + b"first")
            assert got_first.wait(5), "the upstream did not get the first body bytes"
            c.send(b"later")
            assert c.read_response().body == b"firstlater"
    finally:
        upstream.close()


def _client_buffered(proxy) -> int:
    return proxy.call(lambda: sum(d.transport.get_write_buffer_size() for d in proxy.proxy.ctx.clients))


@pytest.mark.parametrize("spliced", [True, False], ids=["splice", "copy"])
def test_backpressure_slow_client(proxy_factory, origin, spliced):
    proxy = proxy_factory({"default": [origin]}, server={"splice": spliced})
    n = 24 * MIB
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.settimeout(10)
    sock.connect(proxy.address)
    try:
        sock.sendall(build_request("GET", f"/bytes/{n}"))
        # The client reads nothing: the proxy must stop reading the upstream...
        proxy.wait_until(lambda: proxy.call(lambda: any(u.read_paused for u in proxy.proxy.ctx.upstreams)),
                         what="upstream reading paused")
        # ...holding only about a high-water mark of data for the client.
        assert _client_buffered(proxy) < 2 * MIB
        # The upstream's silence is now the proxy's doing: no upstream read
        # timeout may run, while the client's send timeout does.
        ctx = proxy.proxy.ctx
        assert proxy.call(lambda: [u.deadline.when for u in ctx.upstreams]) == [0.0]
        assert proxy.call(lambda: [d.deadline.when > 0 for d in ctx.clients]) == [True]
        received = bytearray()
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head_end = received.index(b"\r\n\r\n") + 4
        while len(received) - head_end < n:
            data = sock.recv(1024 * 1024)
            assert data, "connection closed early"
            received += data
        body = bytes(received[head_end:head_end + n])
        assert hashlib.sha256(body).hexdigest() == expected_sha256(n)
        assert proxy.counters()["splices"] == (1 if spliced and splice.available() else 0)
    finally:
        sock.close()


@pytest.mark.parametrize("spliced", [True, False], ids=["splice", "copy"])
def test_backpressure_slow_upstream(proxy_factory, spliced):
    n = 24 * MIB
    may_read = threading.Event()

    def upstream_handler(conn, index):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        buf = bytearray()
        read_head(conn, buf)
        assert may_read.wait(10)
        got = len(buf)
        sha = hashlib.sha256(bytes(buf))
        while got < n:
            data = conn.recv(1024 * 1024)
            assert data
            got += len(data)
            sha.update(data)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + sha.hexdigest().encode())

    upstream = ScriptedUpstream(upstream_handler)
    body = _payload(n)
    try:
        proxy = proxy_factory({"default": [upstream.address]}, server={"splice": spliced})
        with proxy.client() as c:
            sender = threading.Thread(target=c.send, args=(build_request("POST", "/", body=body),), daemon=True)
            sender.start()

            def blocked():
                return proxy.call(lambda: any(d.blocked for d in proxy.proxy.ctx.clients))

            proxy.wait_until(blocked, what="client reading paused")
            buffered = proxy.call(lambda: sum(u.transport.get_write_buffer_size()
                                              for u in proxy.proxy.ctx.upstreams))
            assert buffered < 2 * MIB
            may_read.set()
            sender.join(20)
            assert c.read_response().body == hashlib.sha256(body).hexdigest().encode()
        assert proxy.counters()["splices"] == (1 if spliced and splice.available() else 0)
    finally:
        may_read.set()
        upstream.close()
