"""Keep-alive on both sides, pipelining, the upstream pool and its retry rule."""

from __future__ import annotations

import json

import pytest

from tests.integration.origin import expected_body
from tests.integration.rawhttp import build_request
from tests.integration.scripted import ScriptedUpstream, read_head


def test_client_connection_is_reused(proxy, origin):
    with proxy.client() as c:
        for i in range(5):
            r = c.request("GET", f"/echo?i={i}")
            assert r.status == 200
            assert json.loads(r.body)["target"] == f"/echo?i={i}"
            assert not r.closes
    assert proxy.counters()["connections_accepted"] == 1


def test_upstream_connection_is_reused_across_clients(proxy, origin):
    for i in range(3):
        with proxy.client() as c:
            assert c.request("GET", "/bytes/10").status == 200
    reqs = origin.wait_for_requests(3)
    assert {r.connection_id for r in reqs} == {1}
    assert [r.index for r in reqs] == [0, 1, 2]
    assert proxy.counters()["upstream_connects"] == 1


def test_pipelined_requests_are_answered_in_order(proxy, origin):
    sizes = [10, 70000, 0, 5, 300000, 1]
    with proxy.client() as c:
        c.send(b"".join(build_request("GET", f"/bytes/{n}") for n in sizes))
        for n in sizes:
            r = c.read_response()
            assert r.status == 200
            assert r.body == expected_body(n)
    assert [r.target for r in origin.wait_for_requests(len(sizes))] == [f"/bytes/{n}" for n in sizes]


def test_pipelined_requests_with_bodies(proxy, origin):
    bodies = [b"a" * 10, b"", b"b" * 100000, b"c"]
    with proxy.client() as c:
        c.send(b"".join(build_request("POST", f"/echo?{i}", body=b) for i, b in enumerate(bodies)))
        for i, b in enumerate(bodies):
            r = c.read_response()
            echo = json.loads(r.body)
            assert echo["target"] == f"/echo?{i}"
            assert echo["body_length"] == len(b)


def test_http10_without_keep_alive_closes(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/bytes/100", version="HTTP/1.0", host=None)
        assert r.status == 200 and r.body == expected_body(100)
        assert r.closes
        assert c.at_eof()
    # The upstream side still uses keep-alive (HTTP/1.1) and a Host.
    req = origin.wait_for_requests(1)[0]
    assert req.version == "HTTP/1.1"
    assert req.header("host") == f"127.0.0.1:{origin.port}".encode()


def test_http10_keep_alive(proxy, origin):
    with proxy.client() as c:
        for _ in range(3):
            r = c.request("GET", "/bytes/100", headers={"Connection": "keep-alive"}, version="HTTP/1.0")
            assert r.status == 200 and r.body == expected_body(100)
            assert r.header("connection").lower() == "keep-alive"
    assert proxy.counters()["connections_accepted"] == 1


def test_connection_close_from_client(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/bytes/10", headers={"Connection": "close"})
        assert r.status == 200 and r.closes
        assert c.at_eof()
    # The client's Connection: close is hop-by-hop: the upstream connection stays pooled.
    proxy.wait_until(lambda: proxy.idle_upstreams() == 1, what="pooled upstream")
    assert origin.wait_for_requests(1)[0].header("connection") is None


def test_upstream_connection_close_is_not_pooled_but_client_stays(proxy_factory):
    def answer_and_close(conn, index):
        buf = bytearray()
        read_head(conn, buf)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    upstream = ScriptedUpstream(answer_and_close)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            for _ in range(2):
                r = c.request("GET", "/")
                assert r.status == 200 and r.body == b"ok"
                assert not r.closes  # hop-by-hop: the client connection is ours to keep
        assert upstream.accepted == 2
        assert proxy.counters()["connections_accepted"] == 1
    finally:
        upstream.close()


def test_max_requests_per_upstream_connection(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, pool={"max_requests": 2})
    with proxy.client() as c:
        for _ in range(5):
            assert c.request("GET", "/bytes/1").status == 200
    reqs = origin.wait_for_requests(5)
    assert [r.connection_id for r in reqs] == [1, 1, 2, 2, 3]


def test_max_idle_zero_disables_pooling(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, pool={"max_idle": 0})
    with proxy.client() as c:
        for _ in range(3):
            assert c.request("GET", "/bytes/1").status == 200
    assert len({r.connection_id for r in origin.wait_for_requests(3)}) == 3


def test_idle_upstream_connection_expires(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, pool={"idle_timeout": 0.2})
    with proxy.client() as c:
        assert c.request("GET", "/bytes/1").status == 200
        origin.wait_for_closed(1)  # closed by the proxy once idle for 0.2 s
        assert proxy.idle_upstreams() == 0
        assert c.request("GET", "/bytes/1").status == 200
    assert [r.connection_id for r in origin.wait_for_requests(2)] == [1, 2]


def test_upstream_closing_idle_connection_is_dropped_from_pool(proxy, origin):
    with proxy.client() as c:
        assert c.request("GET", "/bytes/1").status == 200
        proxy.wait_until(lambda: proxy.idle_upstreams() == 1, what="pooled upstream")
        origin.close()
        proxy.wait_until(lambda: proxy.idle_upstreams() == 0, what="dropped upstream")


def _answer_once_then_drop(conn, index):
    """Answers the first request of each connection, then closes on the next
    one without a byte, as a server whose keep-alive timer just fired."""
    buf = bytearray()
    if read_head(conn, buf) is None:
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Conn: %d\r\n\r\nok" % index)
    read_head(conn, buf)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_idempotent_request_is_retried_once_on_a_fresh_connection(proxy_factory, method):
    upstream = ScriptedUpstream(_answer_once_then_drop)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            assert c.request(method, "/").header("x-conn") == "0"
            r = c.request(method, "/")
            assert r.status == 200 and r.header("x-conn") == "1"
        assert proxy.counters()["upstream_retries"] == 1
    finally:
        upstream.close()


def test_non_idempotent_request_is_not_retried(proxy_factory):
    upstream = ScriptedUpstream(_answer_once_then_drop)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            assert c.request("POST", "/", body=b"x").status == 200
            r = c.request("POST", "/", body=b"x")
            assert r.status == 502 and r.closes
        assert proxy.counters()["upstream_retries"] == 0
        assert upstream.accepted == 1
    finally:
        upstream.close()


def test_retry_happens_once_only(proxy_factory):
    def always_drop_after_first(conn, index):
        buf = bytearray()
        if index == 0 and read_head(conn, buf) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        read_head(conn, buf)

    upstream = ScriptedUpstream(always_drop_after_first)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            assert c.request("GET", "/").status == 200
            assert c.request("GET", "/").status == 502
        assert proxy.counters()["upstream_retries"] == 1
        assert upstream.accepted == 2
    finally:
        upstream.close()
