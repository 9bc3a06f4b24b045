"""Responses without bodies, interim responses, 100-continue and upgrades (RFC 9112, 9110)."""

from __future__ import annotations

import json

from tests.integration.origin import expected_body
from tests.integration.rawhttp import build_request


def test_head_has_no_body_and_keeps_the_connection_in_step(proxy, origin):
    with proxy.client() as c:
        r = c.request("HEAD", "/bytes/1000")
        assert r.status == 200 and r.header("content-length") == "1000"
        r = c.request("HEAD", "/chunked/1000")
        assert r.status == 200 and r.header("transfer-encoding") == "chunked"
        assert c.request("GET", "/bytes/7").body == expected_body(7)
        assert c.buf == b""


def test_head_to_http10_client(proxy, origin):
    with proxy.client() as c:
        r = c.request("HEAD", "/chunked/1000", version="HTTP/1.0", headers={"Connection": "keep-alive"})
        assert r.status == 200
        assert r.header("transfer-encoding") is None  # RFC 9112 6.1: never to an HTTP/1.0 client
        assert c.request("GET", "/bytes/3", version="HTTP/1.0", headers={"Connection": "keep-alive"}).body \
            == expected_body(3)


def test_204_and_304_have_no_body(proxy, origin):
    with proxy.client() as c:
        for status in (204, 304, 204):
            r = c.request("GET", f"/status/{status}")
            assert r.status == status and r.body == b""
        assert c.request("GET", "/bytes/4").body == expected_body(4)
        assert c.buf == b""


def test_interim_response_is_forwarded(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/status/103")
        assert [i.status for i in r.interim] == [103]
        assert r.status == 200 and r.body == b"after 103\n"


def test_interim_response_is_not_sent_to_http10(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/status/102", version="HTTP/1.0")
        assert r.interim == [] and r.status == 200


def test_expect_100_continue_is_forwarded(proxy, origin):
    body = b"x" * 5000
    with proxy.client() as c:
        c.send(build_request("POST", "/expect", {"Expect": "100-continue", "Content-Length": str(len(body))}))
        interim = c.read_head()
        assert interim.status == 100
        c.send(body)
        r = c.read_response()
        assert r.status == 200 and json.loads(r.body)["body_length"] == len(body)
        assert c.request("GET", "/bytes/2").status == 200
    assert origin.expect_continue_sent == 1
    assert origin.wait_for_requests(1)[0].header("expect") == b"100-continue"


def test_expectation_refused_closes_the_connection(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/expect/reject", {"Expect": "100-continue", "Content-Length": "100000"}))
        r = c.read_response()
        assert r.status == 417 and r.closes
        # The body the client never sent cannot be told from a next request: close.
        assert c.at_eof()


def _ws_request(extra: bytes = b"") -> bytes:
    return build_request("GET", "/ws-echo", {
        "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
    }) + extra


def test_websocket_upgrade_becomes_a_tunnel(proxy, origin):
    with proxy.client() as c:
        c.send(_ws_request())
        r = c.read_head()
        assert r.status == 101
        assert r.header("upgrade") == "websocket"
        assert r.header("connection").lower() == "upgrade"
        assert r.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        for i in range(5):
            message = b"message %d " % i * (i * 1000 + 1)
            c.send(message)
            assert c._take(len(message)) == message
        big = bytes(range(256)) * 8192
        c.send(big)
        assert c._take(len(big)) == big
    origin.wait_for_closed(1)
    req = origin.wait_for_requests(1)[0]
    assert req.header("upgrade") == b"websocket"
    assert req.header("connection").lower() == b"upgrade"
    assert proxy.counters()["tunnels"] == 1


def test_bytes_sent_with_the_upgrade_request_reach_the_tunnel(proxy, origin):
    with proxy.client() as c:
        c.send(_ws_request(b"early bytes"))
        assert c.read_head().status == 101
        assert c._take(11) == b"early bytes"


def test_upstream_closing_the_tunnel_closes_the_client(proxy, origin):
    with proxy.client() as c:
        c.send(_ws_request())
        assert c.read_head().status == 101
        origin.close()
        assert c.at_eof()


def test_refused_upgrade_keeps_http(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/ws-echo")
        assert r.status == 426
        assert c.request("GET", "/bytes/3").body == expected_body(3)
