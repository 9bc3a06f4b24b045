"""Limits and client timeouts: each answered with its status and Connection: close,
and nothing of the refused request reaching the upstream."""

from __future__ import annotations

import pytest

from tests.integration.rawhttp import Closed, build_request

LIMITS = {"max_header_bytes": "2KiB", "max_header_count": 10, "max_uri_bytes": 512, "max_body_bytes": "4KiB"}


@pytest.fixture
def limited(proxy_factory, origin):
    return proxy_factory({"default": [origin]}, server={"limits": LIMITS})


def refused(proxy, origin, data: bytes, status: int) -> None:
    """Sends ``data``, expects ``status`` and a close, then checks with a sentinel
    request that the upstream saw nothing of ``data``."""
    with proxy.client() as c:
        c.send(data)
        r = c.read_response()
        assert r.status == status, r
        assert r.closes and r.header("content-type").startswith("text/plain")
        assert c.at_eof()
    with proxy.client() as c:
        assert c.request("GET", "/echo?sentinel").status == 200
    reqs = origin.wait_for_requests(1)
    assert [r.target for r in reqs] == ["/echo?sentinel"]
    assert origin.heads_received == 1
    assert proxy.counters()["error_responses"] == 1


def test_header_too_large(limited, origin):
    refused(limited, origin, build_request("GET", "/", {"X-Big": "a" * 3000}), 431)


def test_too_many_headers(limited, origin):
    refused(limited, origin, build_request("GET", "/", [(f"X-H{i}", "v") for i in range(11)]), 431)


def test_uri_too_long(limited, origin):
    refused(limited, origin, build_request("GET", "/" + "a" * 600), 414)


def test_uri_too_long_proven_before_the_line_ends(limited, origin):
    refused(limited, origin, b"GET /" + b"a" * 1500, 414)


def test_body_too_large_by_content_length(limited, origin):
    refused(limited, origin, build_request("POST", "/echo", body=b"x" * 5000), 413)


def test_body_too_large_announced_only(limited, origin):
    # The client waits for 100-continue: it must get its answer without sending the body.
    refused(limited, origin, build_request("POST", "/echo", {"Content-Length": "1000000000",
                                                             "Expect": "100-continue"}), 413)


def test_chunked_body_too_large_at_once(limited, origin):
    body = b"1000\r\n" + b"x" * 4096 + b"\r\n1\r\nx\r\n0\r\n\r\n"
    refused(limited, origin, build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + body, 413)


def test_chunked_body_too_large_while_streaming(limited, origin):
    with limited.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + b"800\r\n" + b"x" * 2048 + b"\r\n")
        origin.wait_for_heads(1)
        c.send(b"900\r\n" + b"y" * 2304 + b"\r\n")
        r = c.read_response()
        assert r.status == 413 and r.closes
    origin.wait_for_closed(1)  # the upstream connection is dropped, never reused
    assert origin.requests == []


@pytest.mark.parametrize("data, status", [
    (b"GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked, br\r\n\r\n", 501),
    (b"GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
], ids=["no-colon", "http2", "no-host", "unknown-coding", "bad-method"])
def test_parser_errors(proxy, origin, data, status):
    refused(proxy, origin, data, status)


def test_connect_method_is_refused(proxy, origin):
    refused(proxy, origin, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405)


def test_slow_head_gets_408(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_header": 0.3}})
    with proxy.client() as c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: a\r\n")
        r = c.read_response()
        assert r.status == 408 and r.closes
        assert c.at_eof()
    assert proxy.counters()["client_timeouts"] == 1
    assert origin.heads_received == 0


def test_trickled_head_does_not_extend_the_deadline(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_header": 0.3}})
    with proxy.client() as c:
        c.send(b"GET /echo HTTP/1.1\r\n")
        c.sock.settimeout(0.05)
        got = None
        for _ in range(200):  # at most 10 s of one byte every 50 ms
            try:
                c.send(b"X")
            except OSError:
                break
            try:
                data = c.sock.recv(4096)
            except TimeoutError:
                continue
            got = data
            break
        assert got is not None and got.startswith(b"HTTP/1.1 408 ")


def test_silent_new_connection_is_closed(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_header": 0.2}})
    with proxy.client() as c:
        assert c.at_eof()  # closed without an answer: there was no request


def test_idle_keep_alive_connection_is_closed(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_idle": 0.2}})
    with proxy.client() as c:
        assert c.request("GET", "/bytes/1").status == 200
        assert c.at_eof()
    proxy.wait_until(lambda: proxy.open_connections()[0] == 0, what="client closed")


def test_silent_request_body_gets_408(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"timeouts": {"client_idle": 0.3}})
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Content-Length": "100"}) + b"only ten..")
        r = c.read_response()
        assert r.status == 408 and r.closes
    origin.wait_for_closed(1)
    assert origin.requests == []


def test_error_answer_arrives_despite_unread_body(limited, origin):
    # The client sends a big body after the head the proxy refuses: the answer
    # must still be readable (no reset), thanks to the lingering close.
    with limited.client() as c:
        c.send(build_request("POST", "/echo", {"Content-Length": str(2 * 1024 * 1024)}))
        c.send(b"z" * (2 * 1024 * 1024))
        try:
            r = c.read_response()
        except Closed:
            pytest.fail("the 413 was lost")
        assert r.status == 413
