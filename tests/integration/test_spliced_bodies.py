"""Large bodies moved by splice(2) (fastproxy/splice.py), both ways: the
receiver gets exactly what was sent, in order with what came before and
after it, both connections go on as after a copied body, and every early
end is handled as for a copied body (a cut, a 408, a 504).  Slow readers
on either side: test_bodies.py's backpressure tests, run spliced and not."""

from __future__ import annotations

import hashlib
import json
import socket
import threading

import pytest

from fastproxy import splice
from tests.integration.origin import expected_body, expected_sha256
from tests.integration.rawhttp import Closed, build_request
from tests.integration.scripted import ScriptedUpstream, read_head

pytestmark = pytest.mark.skipif(not splice.available(), reason="no splice(2) on this system")

MIB = 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_large_body_is_spliced_whole_and_the_connections_go_on(proxy, origin):
    n = 3 * MIB + 1
    with proxy.client() as c:
        for _ in range(2):
            r = c.request("GET", f"/bytes/{n}")
            assert r.header("content-length") == str(n)
            assert _sha(r.body) == expected_sha256(n)
        assert c.request("GET", "/bytes/5").body == expected_body(5)
    counters = proxy.counters()
    assert counters["splices"] == 2
    # Back to the pool after each body: one upstream connection for the three.
    assert counters["upstream_connects"] == 1
    assert proxy.idle_upstreams() == 1


def test_small_bodies_are_not_spliced(proxy, origin):
    with proxy.client() as c:
        for n in (0, 1000, splice.MIN_BYTES // 2):
            assert _sha(c.request("GET", f"/bytes/{n}").body) == expected_sha256(n)
    assert proxy.counters()["splices"] == 0


def test_splice_off_copies_the_body(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"splice": False})
    n = 3 * MIB + 1
    with proxy.client() as c:
        assert _sha(c.request("GET", f"/bytes/{n}").body) == expected_sha256(n)
    assert proxy.counters()["splices"] == 0


def test_pipelined_requests_around_a_spliced_body_keep_their_order(proxy, origin):
    n = 2 * MIB
    with proxy.client() as c:
        c.send(build_request("GET", "/bytes/7") + build_request("GET", f"/bytes/{n}")
               + build_request("GET", "/bytes/9"))
        assert c.read_response().body == expected_body(7)
        assert _sha(c.read_response().body) == expected_sha256(n)
        assert c.read_response().body == expected_body(9)
    assert proxy.counters()["splices"] == 1


def _upstream_sending(first: bytes, then=None):
    """A ScriptedUpstream that answers the first request with ``first`` and
    then runs ``then(conn)``."""
    def handler(conn, index):
        read_head(conn, bytearray())
        conn.sendall(first)
        if then is not None:
            then(conn)
    return ScriptedUpstream(handler)


def test_an_upstream_closing_inside_a_spliced_body_cuts_the_client(proxy_factory):
    upstream = _upstream_sending(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" + b"a" * MIB)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            c.send(build_request("GET", "/"))
            assert c.read_head().status == 200
            with pytest.raises(Closed):
                c._take(4 * MIB)
            # The cut is a reset, which may drop bytes still queued for the
            # client; never anything the upstream did not send.
            assert len(c.buf) <= MIB and c.buf.count(b"a") == len(c.buf)
        counters = proxy.counters()
        assert counters["splices"] == 1
        assert counters["upstream_aborts"] == 1
        proxy.wait_until(lambda: proxy.open_connections() == (0, 0), what="connections closed")
    finally:
        upstream.close()


def test_a_silent_upstream_inside_a_spliced_body_times_out(proxy_factory):
    release = threading.Event()
    upstream = _upstream_sending(b"HTTP/1.1 200 OK\r\nContent-Length: 4194304\r\n\r\n" + b"a" * MIB,
                                 lambda conn: release.wait(10))
    try:
        proxy = proxy_factory({"default": [upstream.address]}, server={"timeouts": {"upstream_read": 0.3}})
        with proxy.client() as c:
            c.send(build_request("GET", "/"))
            assert c.read_head().status == 200
            with pytest.raises(Closed):
                c._take(4 * MIB)
        counters = proxy.counters()
        assert counters["splices"] == 1
        assert counters["upstream_timeouts"] == 1
    finally:
        release.set()
        upstream.close()


def test_a_client_leaving_inside_a_spliced_body_closes_the_upstream(proxy_factory):
    upstream_saw_close = threading.Event()

    def send_forever(conn):
        # Stops only when the proxy closes the connection: a descriptor of it
        # left open anywhere in the proxy would keep it open.
        try:
            while True:
                conn.sendall(b"b" * 65536)
        except OSError:
            upstream_saw_close.set()

    upstream = _upstream_sending(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n", send_forever)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        c = proxy.client()
        c.send(build_request("GET", "/"))
        assert c.read_head().status == 200
        c._take(MIB)
        proxy.wait_until(lambda: proxy.counters()["splices"] == 1, what="splice")
        c.close()
        assert upstream_saw_close.wait(5), "the upstream connection stayed open"
        proxy.wait_until(lambda: proxy.open_connections() == (0, 0), what="connections closed")
        assert proxy.counters()["client_aborts"] == 1
    finally:
        upstream.close()


def test_a_client_not_reading_a_spliced_body_is_cut_after_client_idle(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_idle": 0.3}})
    sock = socket.create_connection(proxy.address, timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        sock.sendall(build_request("GET", f"/bytes/{64 * MIB}"))
        proxy.wait_until(lambda: proxy.counters()["client_timeouts"] == 1, what="client timeout")
        received = 0
        with pytest.raises((ConnectionResetError, AssertionError)):
            while True:
                data = sock.recv(MIB)
                assert data, "closed"
                received += len(data)
        assert received < 64 * MIB
        assert proxy.counters()["splices"] == 1
    finally:
        sock.close()


def test_a_large_upload_is_spliced_whole_and_the_connections_go_on(proxy, origin):
    body = hashlib.sha256(b"up").digest() * (96 * 1024) + b"tail"
    with proxy.client() as c:
        echo = json.loads(c.request("POST", "/echo", body=body).body)
        assert echo["body_length"] == len(body)
        assert echo["body_sha256"] == _sha(body)
        assert c.request("GET", "/bytes/5").body == expected_body(5)
    counters = proxy.counters()
    assert counters["splices"] == 1
    assert counters["upstream_connects"] == 1


def test_a_chunked_upload_is_not_spliced(proxy, origin):
    body = b"c" * (2 * MIB)
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"})
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        assert json.loads(c.read_response().body)["body_length"] == len(body)
    assert proxy.counters()["splices"] == 0


def test_a_client_silent_inside_a_spliced_upload_gets_408(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_idle": 0.3}})
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Content-Length": str(4 * MIB)}) + b"u" * MIB)
        r = c.read_response()
        assert r.status == 408 and r.closes
    counters = proxy.counters()
    assert counters["splices"] == 1
    assert counters["client_timeouts"] == 1
    origin.wait_for_closed(1)
    assert origin.requests == []  # the upstream never saw a whole request


def test_a_client_leaving_inside_a_spliced_upload_closes_the_upstream(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Content-Length": str(4 * MIB)}) + b"u" * MIB)
        proxy.wait_until(lambda: proxy.counters()["splices"] == 1, what="splice")
    origin.wait_for_closed(1)
    assert origin.requests == []
    proxy.wait_until(lambda: proxy.open_connections() == (0, 0), what="connections closed")
    assert proxy.counters()["client_aborts"] == 1
