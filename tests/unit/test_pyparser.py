"""API details of the parser surface that the conformance vectors do not
reach: lazy results, get(), reset(), ids and spans, buffer types, the
``length`` argument, and the chunked decoder's windows.  Run against every
implementation; the few tests about the pure-Python twin alone say so."""

import array

import pytest

from fastproxy.errors import HttpParseError
from fastproxy.parser import _pyparser, codes

REQUEST = (
    b"POST /upload?x=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"X-Trace: a\r\n"
    b"content-length:  5 \r\n"
    b"x-trace: b\r\n"
    b"Empty:\r\n"
    b"\r\n"
)
BODY = b"hello"


def test_results_and_spans_agree(parser_impl):
    p = parser_impl.RequestParser()
    buf = REQUEST + BODY
    assert p.parse(buf) == len(REQUEST)
    assert (p.method, p.target, p.minor_version) == (b"POST", b"/upload?x=1", 1)
    assert p.headers == [
        (b"Host", b"example.com"),
        (b"X-Trace", b"a"),
        (b"content-length", b"5"),
        (b"x-trace", b"b"),
        (b"Empty", b""),
    ]
    assert p.header_ids == [codes.H_HOST, codes.H_OTHER, codes.H_CONTENT_LENGTH, codes.H_OTHER,
                            codes.H_OTHER]
    spans = p.header_spans
    assert len(spans) == len(p.headers)
    for (name_off, name_len, value_off, value_len), (name, value) in zip(spans, p.headers):
        assert buf[name_off:name_off + name_len] == name
        assert buf[value_off:value_off + value_len] == value
    assert (p.framing, p.content_length) == (codes.BODY_LENGTH, 5)
    assert p.flags == codes.F_KEEP_ALIVE | codes.F_HAS_CONTENT_LENGTH
    assert p.error == codes.E_NONE


def test_every_field_id_is_recognised_case_insensitively(parser_impl):
    names = list(codes.FIELD_IDS)
    fields = b"".join(name.upper() + b": 1\r\n" for name in names if name not in (
        b"host", b"content-length", b"transfer-encoding"))
    p = parser_impl.RequestParser()
    assert p.parse(b"GET / HTTP/1.1\r\nhOST: a\r\n" + fields + b"\r\n") > 0
    expected = [codes.H_HOST] + [codes.FIELD_IDS[n] for n in names if n not in (
        b"host", b"content-length", b"transfer-encoding")]
    assert p.header_ids == expected


def test_get(parser_impl):
    p = parser_impl.RequestParser()
    p.parse(REQUEST)
    assert p.get(b"host") == b"example.com"
    assert p.get(b"HOST") == b"example.com"
    assert p.get(b"X-TRACE") == b"a"  # the first of two
    assert p.get(bytearray(b"Content-Length")) == b"5"
    assert p.get(b"empty") == b""
    assert p.get(b"missing") is None
    assert p.get(b"Transfer-Encoding") is None


def test_results_wait_for_a_complete_head(parser_impl):
    p = parser_impl.RequestParser()
    assert p.parse(REQUEST[:40]) == 0
    assert (p.method, p.target, p.headers, p.header_ids, p.header_spans) == (None, None, [], [], [])
    assert p.get(b"host") is None
    r = parser_impl.ResponseParser()
    assert r.parse(b"HTTP/1.1 200 OK\r\n") == 0
    assert (r.reason, r.headers) == (None, [])


def test_reset_starts_a_new_message(parser_impl):
    p = parser_impl.RequestParser()
    assert p.parse(REQUEST) == len(REQUEST)
    p.reset()
    second = b"GET /two HTTP/1.0\r\n\r\n"
    assert p.parse(second) == len(second)
    assert (p.method, p.target, p.minor_version) == (b"GET", b"/two", 0)
    assert p.headers == [] and p.header_ids == [] and p.header_spans == []
    assert (p.framing, p.content_length, p.keep_alive) == (codes.BODY_NONE, 0, False)


def test_reset_after_an_error(parser_impl):
    p = parser_impl.RequestParser()
    with pytest.raises(HttpParseError) as info:
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n")
    assert info.value.code == codes.E_BAD_FIELD_NAME == p.error
    p.reset()
    assert p.error == codes.E_NONE
    assert p.parse(REQUEST) == len(REQUEST)


def test_error_attributes(parser_impl):
    p = parser_impl.ResponseParser()
    with pytest.raises(HttpParseError) as info:
        p.parse(b"HTTP/2 200 OK\r\n\r\n")
    exc = info.value
    assert (exc.code, exc.name, exc.status) == (codes.E_BAD_STATUS_LINE, "bad_status_line", 502)
    assert exc.message == codes.ERRORS[codes.E_BAD_STATUS_LINE].message
    assert p.error == codes.E_BAD_STATUS_LINE


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "memoryview-slice", "array"])
def test_buffer_types(parser_impl, kind):
    data = REQUEST + BODY
    if kind == "bytes":
        buf = data
    elif kind == "bytearray":
        buf = bytearray(data)
    elif kind == "memoryview":
        buf = memoryview(data)
    elif kind == "memoryview-slice":
        buf = memoryview(b"~~~~" + data)[4:]
    else:
        buf = array.array("B", data)
    p = parser_impl.RequestParser()
    assert p.parse(buf) == len(REQUEST)
    assert p.target == b"/upload?x=1"
    assert p.get(b"host") == b"example.com"
    assert all(type(n) is bytes and type(v) is bytes for n, v in p.headers)


def test_length_limits_the_bytes_looked_at(parser_impl):
    buf = bytearray(len(REQUEST) + 64)
    buf[: len(REQUEST)] = REQUEST
    buf[len(REQUEST):] = b"\x00" * 64  # garbage past the valid bytes
    p = parser_impl.RequestParser()
    assert p.parse(buf, 30) == 0
    assert p.parse(buf, len(REQUEST) - 1) == 0
    assert p.parse(buf, len(REQUEST)) == len(REQUEST)
    assert p.get(b"x-trace") == b"a"


def test_length_hides_an_error_past_it(parser_impl):
    buf = b"GET / HTTP/1.1\r\nHost: a\r\nX\x00\r\n"
    p = parser_impl.RequestParser()
    assert p.parse(buf, len(buf) - 4) == 0
    with pytest.raises(HttpParseError) as info:
        p.parse(buf)
    assert info.value.name == "bad_field_name"


def test_complete_lines_are_not_read_again(parser_impl):
    # The contract lets the parser skip lines it has seen: proved by changing
    # one (which a caller must never do) and seeing no error.
    p = parser_impl.RequestParser()
    assert p.parse(b"GET / HTTP/1.1\r\nHost: a\r\nX") == 0
    assert p.parse(b"G@T / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n") > 0


def test_growing_bytearray(parser_impl):
    buf = bytearray()
    p = parser_impl.RequestParser()
    results = []
    for i in range(0, len(REQUEST), 7):
        buf += REQUEST[i:i + 7]
        results.append(p.parse(buf))
    assert results[-1] == len(REQUEST) and not any(results[:-1])
    assert p.headers[2] == (b"content-length", b"5")


def test_limits_by_keyword(parser_impl):
    p = parser_impl.RequestParser(max_uri_bytes=4, max_header_bytes=1000, max_header_count=10)
    with pytest.raises(HttpParseError) as info:
        p.parse(b"GET /12345 HTTP/1.1\r\n")
    assert info.value.status == 414


def test_response_results(parser_impl):
    p = parser_impl.ResponseParser()
    head = b"HTTP/1.1 200 Connection Established\r\nServer: x\r\n\r\n"
    assert p.parse(head, req_flags=codes.REQ_CONNECT) == len(head)
    assert (p.status, p.reason, p.minor_version) == (200, b"Connection Established", 1)
    assert p.tunnel and p.framing == codes.BODY_NONE
    assert p.header_ids == [codes.H_SERVER]
    p.reset()
    assert p.parse(head, -1, codes.REQ_HEAD) == len(head)
    assert not p.tunnel and p.framing == codes.BODY_NONE
    p.reset()
    assert p.parse(head) == len(head)
    assert not p.tunnel and p.framing == codes.BODY_UNTIL_CLOSE and not p.keep_alive


CHUNKED = b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n"
NEXT = b"GET / HTTP/1.1\r\n"


def test_chunked_decode_and_scan_windows(parser_impl):
    buf = b"HEAD" + CHUNKED + NEXT
    d = parser_impl.ChunkedDecoder()
    assert d.decode(buf, 4, 10) == (b"", 6)
    assert d.decode(buf, 10) == (b"hello world", len(CHUNKED) - 6)
    assert d.done and d.data_bytes == 11 and d.error == codes.E_NONE
    d.reset()
    assert not d.done and d.data_bytes == 0
    assert d.scan(buf, 4) == len(CHUNKED)
    assert d.done and d.data_bytes == 11


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "memoryview-slice"])
def test_chunked_buffer_types(parser_impl, kind):
    data = CHUNKED + NEXT
    if kind == "bytearray":
        buf = bytearray(data)
    elif kind == "memoryview":
        buf = memoryview(data)
    else:
        buf = memoryview(b"~~" + data)[2:]
    d = parser_impl.ChunkedDecoder()
    out, consumed = d.decode(buf)
    assert (out, consumed, d.done) == (b"hello world", len(CHUNKED), True)
    assert type(out) is bytes


def test_chunked_error_is_reported_and_reset(parser_impl):
    d = parser_impl.ChunkedDecoder(max_trailer_bytes=100, max_trailer_count=1)
    with pytest.raises(HttpParseError) as info:
        d.scan(b"0\r\nA: 1\r\nB: 2\r\n\r\n")
    assert info.value.name == "trailers_too_large"
    assert d.error == codes.E_TRAILERS_TOO_LARGE
    d.reset()
    assert d.scan(b"0\r\nA: 1\r\n\r\n") == 11 and d.done


def test_chunked_large_chunk_across_calls(parser_impl):
    payload = bytes(range(256)) * 64
    body = b"%x\r\n" % len(payload) + payload + b"\r\n0\r\n\r\n"
    d = parser_impl.ChunkedDecoder()
    out = []
    for i in range(0, len(body), 1000):
        chunk, _ = d.decode(body, i, min(i + 1000, len(body)))
        out.append(chunk)
    assert b"".join(out) == payload and d.done and d.data_bytes == len(payload)


@pytest.mark.parametrize("value", [0, -1, 1 << 32])
def test_limits_are_checked(parser_impl, value):
    for name in ("max_uri_bytes", "max_header_bytes", "max_header_count"):
        with pytest.raises(ValueError):
            parser_impl.RequestParser(**{name: value})
        with pytest.raises(ValueError):
            parser_impl.ResponseParser(**{name: value})
    for name in ("max_trailer_bytes", "max_trailer_count"):
        with pytest.raises(ValueError):
            parser_impl.ChunkedDecoder(**{name: value})


def test_length_past_the_buffer_is_refused(parser_impl):
    with pytest.raises(ValueError):
        parser_impl.RequestParser().parse(b"GET", 4)
    with pytest.raises(ValueError):
        parser_impl.ResponseParser().parse(b"HTTP", 5)
    with pytest.raises(ValueError):
        parser_impl.ChunkedDecoder().scan(b"0\r\n", 2, 1)
    with pytest.raises(ValueError):
        parser_impl.ChunkedDecoder().decode(b"0\r\n", 0, 4)


# -- the pure-Python twin alone -------------------------------------------------

def test_python_scan_level():
    assert _pyparser.scan_level() == "python"


def test_python_error_is_sticky_until_reset():
    p = _pyparser.RequestParser()
    with pytest.raises(HttpParseError):
        p.parse(b"GET / HTTP/9.9\r\n")
    with pytest.raises(HttpParseError) as info:
        p.parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert info.value.name == "version_not_supported"


def test_python_results_read_from_the_last_buffer():
    # Lazy results: spans are kept, bytes are cut from the last buffer on demand.
    buf = bytearray(REQUEST)
    p = _pyparser.RequestParser()
    p.parse(buf)
    buf[6:12] = b"UPLOAD"
    assert p.target == b"/UPLOAD?x=1"
