"""Upstream and client failures: a clear status before the response starts,
a cut connection after (never a clean-looking truncated response)."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from tests.integration.rawhttp import Closed, build_request
from tests.integration.scripted import ScriptedUpstream, read_head


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_502(proxy_factory):
    proxy = proxy_factory({"default": [f"127.0.0.1:{_closed_port()}"]})
    with proxy.client() as c:
        r = c.request("GET", "/")
        assert r.status == 502 and r.closes
    assert proxy.counters()["upstream_connect_failures"] == 1


class _Blackhole:
    """A listener whose accept queue is full: new connects hang in SYN_SENT."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=0)
        self.port = self.listener.getsockname()[1]
        self.fill = []
        while True:
            s = socket.socket()
            s.settimeout(0.5)
            self.fill.append(s)
            try:
                s.connect(("127.0.0.1", self.port))
            except (TimeoutError, OSError):
                break

    def close(self) -> None:
        for s in self.fill:
            s.close()
        self.listener.close()


def test_connect_timeout_is_504(proxy_factory):
    hole = _Blackhole()
    try:
        proxy = proxy_factory({"default": [f"127.0.0.1:{hole.port}"]},
                              server={"timeouts": {"upstream_connect": 0.3}})
        with proxy.client() as c:
            r = c.request("GET", "/")
            assert r.status == 504 and r.closes
        assert proxy.counters()["upstream_timeouts"] == 1
    finally:
        hole.close()


def test_read_timeout_is_504(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"upstream_read": 0.3}})
    with proxy.client() as c:
        r = c.request("GET", "/hang")
        assert r.status == 504 and r.closes
    origin.wait_for_closed(1)


def test_read_timeout_mid_body_cuts_the_client(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"upstream_read": 0.3}})
    with proxy.client() as c:
        c.send(build_request("GET", "/gate/never"))
        head = c.read_head()
        assert head.status == 200
        with pytest.raises(Closed):
            c._chunked_body()
    origin.release("never")


@pytest.mark.parametrize("spliced", [True, False], ids=["splice", "copy"])
def test_write_timeout_is_504(proxy_factory, spliced):
    release = threading.Event()

    def never_reads(conn, index):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        release.wait(10)

    upstream = ScriptedUpstream(never_reads)
    try:
        proxy = proxy_factory({"default": [upstream.address]},
                              server={"timeouts": {"upstream_write": 0.3}, "splice": spliced})
        with proxy.client() as c:
            body = b"w" * (16 * 1024 * 1024)
            sender = threading.Thread(target=c.send, args=(build_request("POST", "/", body=body),), daemon=True)
            sender.start()
            r = c.read_response()
            assert r.status == 504 and r.closes
            sender.join(10)
    finally:
        release.set()
        upstream.close()


def test_malformed_response_is_502(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/malformed")
        assert r.status == 502 and r.closes
    assert proxy.counters()["upstream_bad_responses"] == 1


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
], ids=["cl-and-te", "two-lengths", "bad-chunk", "bare-lf", "cut-head"])
def test_hostile_responses_are_502(proxy_factory, reply):
    def handler(conn, index):
        read_head(conn, bytearray())
        conn.sendall(reply)

    upstream = ScriptedUpstream(handler)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            r = c.request("GET", "/")
            assert r.status == 502 and r.closes
    finally:
        upstream.close()


def test_upstream_closing_mid_body_cuts_the_client(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/close-mid-body/200000"))
        with pytest.raises(Closed):
            c.read_response()
    assert proxy.counters()["upstream_aborts"] == 1


def test_upstream_reset_mid_body_cuts_the_client(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/reset/200000"))
        with pytest.raises(Closed):
            c.read_response()


def test_upstream_reset_before_response_is_502(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/reset")
        assert r.status == 502


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nsome bytes of an until-close body",
], ids=["chunked", "until-close-reset"])
def test_cut_chunked_or_reframed_body_is_never_completed(proxy_factory, reply):
    def handler(conn, index):
        read_head(conn, bytearray())
        conn.sendall(reply)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    upstream = ScriptedUpstream(handler)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            c.send(build_request("GET", "/"))
            head = c.read_head()
            assert head.header("transfer-encoding") == "chunked"
            with pytest.raises(Closed):
                c._chunked_body()
    finally:
        upstream.close()


def test_client_leaving_mid_response_closes_the_upstream(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/slow/200/20?key=leave"))
        assert c.read_head().status == 200
        assert origin.chunk_event(0, "leave").wait(5)
    origin.wait_for_closed(1)
    proxy.wait_until(lambda: proxy.counters()["client_aborts"] == 1, what="client abort counted")
    assert proxy.idle_upstreams() == 0


def test_client_leaving_while_waiting_closes_the_upstream(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/hang"))
        origin.wait_for_requests(1)
    origin.wait_for_closed(1)
    assert proxy.idle_upstreams() == 0


def test_client_leaving_mid_upload_closes_the_upstream(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Content-Length": "100000"}) + b"x" * 1000)
        origin.wait_for_heads(1)
    origin.wait_for_closed(1)
    assert origin.requests == []
