"""Request smuggling and desynchronisation attempts.

The rule under test: the upstream sees exactly the requests the client sent,
or none of a refused one, never two where the client sent one or the
reverse.  Each case ends with a sentinel request, so that anything the proxy
had wrongly let through would have reached the origin before it.
"""

from __future__ import annotations

import threading

import pytest

from tests.integration.rawhttp import build_request
from tests.integration.scripted import ScriptedUpstream, read_head

SMUGGLED = b"GET /echo?smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


def _sentinel(proxy, origin, expected_before: list[str], cut_heads: int = 0) -> None:
    """``cut_heads``: heads of requests whose bodies were cut off on purpose."""
    with proxy.client() as c:
        assert c.request("GET", "/echo?sentinel").status == 200
    reqs = origin.wait_for_requests(len(expected_before) + 1)
    assert [r.target for r in reqs] == [*expected_before, "/echo?sentinel"]
    assert origin.heads_received == len(expected_before) + 1 + cut_heads
    assert origin.parse_failures == []


@pytest.mark.parametrize("head", [
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nContent-Length: 60\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6, 60\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +6\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x6\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nX-Pad: 1\r\n Transfer-Encoding: chunked\r\n\r\n",
    b"POST /echo HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\rX: y\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\nContent-Length: 6\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 6\r\n\r\n",
    b"POST /echo HTTP/1.1 \r\nHost: a\r\nContent-Length: 6\r\n\r\n",
    b"POST /echo  HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n",
], ids=["cl-te", "te-cl", "two-cl", "cl-list", "cl-sign", "cl-hex", "te-space", "te-not-last",
        "te-twice", "te-folded", "te-http10", "bare-lf", "bare-cr", "nul", "two-hosts",
        "trailing-space", "double-space"])
def test_ambiguous_framing_is_refused(proxy, origin, head):
    with proxy.client() as c:
        c.send(head + b"0\r\n\r\n" + SMUGGLED)
        r = c.read_response()
        assert 400 <= r.status < 600 and r.status != 404 and r.closes
        assert c.at_eof()
    _sentinel(proxy, origin, [])


@pytest.mark.parametrize("body", [
    b"zz\r\n",                                    # not hex
    b"5\r\nhelloXX0\r\n\r\n",                     # data not followed by CRLF
    b"fffffffffffffffffff\r\n",                   # size overflow
    b"5 ; a=\x01\r\nhello\r\n0\r\n\r\n",          # control in an extension
    b"-5\r\nhello\r\n0\r\n\r\n",                  # sign
    b"0x5\r\nhello\r\n0\r\n\r\n",                 # hex prefix
    b"5\nhello\r\n0\r\n\r\n",                     # bare LF
], ids=["not-hex", "no-crlf", "overflow", "ext-control", "sign", "0x", "bare-lf"])
def test_bad_chunked_body_never_reaches_the_upstream(proxy, origin, body):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + body + SMUGGLED)
        r = c.read_response()
        assert r.status == 400 and r.closes
    _sentinel(proxy, origin, [])


def test_bad_chunk_after_streaming_started_never_completes_a_request(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + b"5\r\nhello\r\n")
        origin.wait_for_heads(1)
        c.send(b"zz\r\n" + SMUGGLED)
        r = c.read_response()
        assert r.status == 400 and r.closes
    origin.wait_for_closed(1)
    _sentinel(proxy, origin, [], cut_heads=1)


def test_request_inside_a_length_body_stays_a_body(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", body=SMUGGLED))
        r = c.read_response()
        assert r.status == 200
    reqs = origin.wait_for_requests(1)
    assert reqs[0].body == SMUGGLED
    _sentinel(proxy, origin, ["/echo"])


def test_request_inside_a_chunked_body_stays_a_body(proxy, origin):
    coded = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", {"Transfer-Encoding": "chunked"}) + coded)
        assert c.read_response().status == 200
    assert origin.wait_for_requests(1)[0].body == SMUGGLED
    _sentinel(proxy, origin, ["/echo"])


def test_bytes_after_a_body_are_the_next_request(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("POST", "/echo", body=b"abc") + SMUGGLED)
        assert c.read_response().status == 200
        assert c.read_response().status == 200
    assert [r.target for r in origin.wait_for_requests(2)] == ["/echo", "/echo?smuggled"]


def test_get_with_a_body_is_framed_by_its_length(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/echo", {"Content-Length": str(len(SMUGGLED))}) + SMUGGLED)
        assert c.read_response().status == 200
    assert origin.wait_for_requests(1)[0].body == SMUGGLED
    _sentinel(proxy, origin, ["/echo"])


def test_bad_request_after_good_ones_stops_the_connection(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "/echo?1") + b"GET /echo?2 HTTP/1.1\r\nHost: a\r\nBad\r\n\r\n" + SMUGGLED)
        assert c.read_response().status == 200
        r = c.read_response()
        assert r.status == 400 and r.closes
        assert c.at_eof()
    _sentinel(proxy, origin, ["/echo?1"])


def test_response_with_extra_bytes_is_not_passed_on(proxy_factory):
    def answer(conn, index):
        buf = bytearray()
        while read_head(conn, buf) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                         b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")

    upstream = ScriptedUpstream(answer)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            for _ in range(3):
                r = c.request("GET", "/")
                assert r.status == 200 and r.body == b"ok"
        # An upstream that sent more than its response is out of step: never reused.
        assert upstream.accepted == 3
    finally:
        upstream.close()


def test_unsolicited_bytes_from_an_idle_upstream_are_not_passed_on(proxy_factory):
    # The guarantee: bytes that reach the proxy while a pooled connection is
    # idle get it closed, never read as the next response.  The test waits
    # for that close before the next request: bytes still in flight when a
    # connection is reused cannot be told from its response without a peek
    # on every reuse, which no proxy pays for.
    dropped = threading.Event()

    def answer(conn, index):
        buf = bytearray()
        read_head(conn, buf)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if index == 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
            if read_head(conn, buf) is None:
                dropped.set()
            return
        read_head(conn, buf)

    upstream = ScriptedUpstream(answer)
    try:
        proxy = proxy_factory({"default": [upstream.address]})
        with proxy.client() as c:
            assert c.request("GET", "/").body == b"ok"
            assert dropped.wait(10), "the proxy kept a connection that sent unsolicited bytes"
            assert c.request("GET", "/").body == b"ok"
        assert upstream.accepted == 2
    finally:
        upstream.close()
