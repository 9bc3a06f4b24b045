"""Property tests: the C parser and its pure-Python twin give the same answer
(return value, error code, every result) on arbitrary bytes and on mutated
valid requests, responses and chunked bodies, fed whole and split in two.

A second property holds for each implementation alone (so it also runs
without the extension): splitting the input never changes the outcome.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastproxy.errors import HttpParseError
from fastproxy.parser import codes, implementations

IMPLS = implementations()
needs_c = pytest.mark.skipif(
    "c" not in IMPLS,
    reason="the C parser extension is not importable (not built, or FASTPROXY_NO_EXTENSIONS "
    "is set): there is nothing to compare the Python twin with",
)
# A few seconds for the whole file; keep it well under 20 s.
SETTINGS = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    (b"\r\nPOST /form?a=1 HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 5, 5\r\n"
     b"Connection: keep-alive, X-A\r\nX-A: 1\r\n\r\nhello"),
    b"PUT /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n",
    b"GET http://h/x HTTP/1.0\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n\r\n",
    b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
]
RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 404\r\nServer: x\r\n\r\n",
]
CHUNKED = [
    b"5\r\nhello\r\n0\r\n\r\n",
    b"3;a=1;b=\"x y\"\r\nabc\r\n00A \r\n0123456789\r\n0\r\nT: 1\r\nU:\r\n\r\nGET",
    b"0\r\n\r\n",
]
# The bytes that decide framing and line structure.
SPECIAL = b"\r\n \t:\x00\x7f\x80,;0aF"
LIMITS = [
    {},
    {"max_uri_bytes": 6, "max_header_bytes": 60, "max_header_count": 2},
    {"max_uri_bytes": 30, "max_header_bytes": 40, "max_header_count": 1},
]


def _byte():
    return st.one_of(st.sampled_from(SPECIAL), st.integers(0, 255))


@st.composite
def mutated(draw, corpus):
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(0, len(data)))
        if op == "insert":
            data[pos:pos] = bytes([draw(_byte())]) * draw(st.integers(1, 3))
        elif pos < len(data):
            if op == "delete":
                del data[pos]
            else:
                data[pos] = draw(_byte())
    return bytes(data)


def _inputs(corpus):
    return st.one_of(mutated(corpus), st.binary(max_size=200),
                     st.lists(st.sampled_from(SPECIAL)).map(bytes))


def _head_outcome(impl, response: bool, data: bytes, split: int, limits: dict, req_flags: int):
    """Everything observable about parsing data (split in two at ``split``;
    0: whole)."""
    if response:
        p = impl.ResponseParser(**limits)

        def parse(buf):
            return p.parse(buf, -1, req_flags)
    else:
        p = impl.RequestParser(**limits)
        parse = p.parse
    try:
        n = parse(data[:split]) if split else 0
        if not n:
            n = parse(data)
    except HttpParseError as exc:
        return ("error", exc.code, p.error)
    if not n:
        return ("more",)
    common = (n, p.minor_version, p.headers, p.header_ids, p.header_spans, p.framing,
              p.content_length, p.flags, p.keep_alive, p.upgrade, p.expect_continue)
    if response:
        return ("ok",) + common + (p.status, p.reason, p.tunnel)
    return ("ok",) + common + (p.method, p.target)


def _chunked_outcome(impl, data: bytes, split: int, limits: dict, api: str):
    d = impl.ChunkedDecoder(max_trailer_bytes=limits.get("max_header_bytes", 16384),
                            max_trailer_count=limits.get("max_header_count", 100))
    windows = [(0, split), (split, len(data))] if split else [(0, len(data))]
    out, consumed = [], 0
    try:
        for start, end in windows:
            if api == "scan":
                consumed += d.scan(data, start, end)
            else:
                chunk, n = d.decode(data, start, end)
                out.append(chunk)
                consumed += n
            if d.done:
                break
    except HttpParseError as exc:
        return ("error", exc.code, d.error)
    return ("ok", consumed, b"".join(out), d.done, d.data_bytes)


def _split_of(draw, data: bytes) -> int:
    return draw(st.integers(0, max(len(data) - 1, 0)))


@needs_c
@SETTINGS
@given(data=st.data(), response=st.booleans())
def test_c_and_python_agree_on_heads(data, response):
    raw = data.draw(_inputs(RESPONSES if response else REQUESTS), label="input")
    split = _split_of(data.draw, raw)
    limits = data.draw(st.sampled_from(LIMITS), label="limits")
    req_flags = data.draw(st.sampled_from([0, codes.REQ_HEAD, codes.REQ_CONNECT]), label="req_flags")
    for cut in {0, split}:
        c = _head_outcome(IMPLS["c"], response, raw, cut, limits, req_flags)
        py = _head_outcome(IMPLS["python"], response, raw, cut, limits, req_flags)
        assert c == py, f"split at {cut}"


@needs_c
@SETTINGS
@given(data=st.data(), api=st.sampled_from(["scan", "decode"]))
def test_c_and_python_agree_on_chunked(data, api):
    raw = data.draw(_inputs(CHUNKED), label="input")
    split = _split_of(data.draw, raw)
    limits = data.draw(st.sampled_from(LIMITS), label="limits")
    for cut in {0, split}:
        c = _chunked_outcome(IMPLS["c"], raw, cut, limits, api)
        py = _chunked_outcome(IMPLS["python"], raw, cut, limits, api)
        assert c == py, f"split at {cut}"


@SETTINGS
@given(data=st.data(), response=st.booleans())
def test_split_does_not_change_head_outcome(parser_impl, data, response):
    raw = data.draw(mutated(RESPONSES if response else REQUESTS), label="input")
    split = _split_of(data.draw, raw)
    limits = data.draw(st.sampled_from(LIMITS), label="limits")
    whole = _head_outcome(parser_impl, response, raw, 0, limits, 0)
    assert _head_outcome(parser_impl, response, raw, split, limits, 0) == whole


@SETTINGS
@given(data=st.data())
def test_split_does_not_change_chunked_outcome(parser_impl, data):
    raw = data.draw(mutated(CHUNKED), label="input")
    split = _split_of(data.draw, raw)
    limits = data.draw(st.sampled_from(LIMITS), label="limits")
    whole = _chunked_outcome(parser_impl, raw, 0, limits, "decode")
    assert _chunked_outcome(parser_impl, raw, split, limits, "decode") == whole
