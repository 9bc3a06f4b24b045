"""Parse results as the data path reads them, the same from both parsers."""

import pytest

from fastproxy.errors import HttpParseError
from fastproxy.heads import ParsedHead
from fastproxy.parser import codes

REQUEST = (b"POST /up?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nX-Thing: v  \r\n"
           b"Connection: keep-alive\r\n\r\nabc")


def test_request_results(parser_impl):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(REQUEST)
    assert head.parse(buf, 10) == 0
    n = head.parse(buf, len(buf))
    assert n == len(REQUEST) - 3
    assert head.method(buf) == b"POST" and head.target(buf) == b"/up?x=1"
    assert (head.framing, head.content_length, head.minor_version) == (codes.BODY_LENGTH, 3, 1)
    assert head.flags & codes.F_KEEP_ALIVE
    assert head.count == 4
    assert [head.field_id(i) for i in range(4)] == [codes.H_HOST, codes.H_CONTENT_LENGTH, codes.H_OTHER,
                                                      codes.H_CONNECTION]
    assert head.find(codes.H_HOST) == 0 and head.find(codes.H_UPGRADE) == -1
    assert head.value(buf, 2) == b"v" and head.name(buf, 2) == b"x-thing"
    assert bytes(buf[head.line_start(1):head.line_start(2)]) == b"Content-Length: 3\r\n"


def test_value_or_gives_the_known_bytes_for_an_equal_value(parser_impl):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(REQUEST)
    head.parse(buf, len(buf))
    known = b"a.example"
    assert head.value_or(buf, 0, known) is known
    for other in (b"b.example", b"a.exampl", b"a.example.", None):
        value = head.value_or(buf, 0, other)
        assert value == b"a.example" and value is not other
    assert head.value_or(buf, 2, b"v") == b"v"


def test_reset_readies_the_next_message(parser_impl):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(REQUEST)
    head.parse(buf, len(buf))
    head.reset()
    assert head.count == 0
    buf = bytearray(b"GET / HTTP/1.0\r\n\r\n")
    assert head.parse(buf, len(buf)) == len(buf)
    assert head.method(buf) == b"GET" and head.count == 0 and head.minor_version == 0


def test_response_results_and_request_flags(parser_impl):
    head = ParsedHead(parser_impl.ResponseParser(), True)
    buf = bytearray(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n")
    assert head.parse(buf, len(buf)) == len(buf)
    assert (head.status, head.framing, head.content_length) == (404, codes.BODY_LENGTH, 9)
    head.reset()
    assert head.parse(buf, len(buf), codes.REQ_HEAD) == len(buf)
    assert head.framing == codes.BODY_NONE


def test_errors_are_the_parsers(parser_impl):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n")
    with pytest.raises(HttpParseError) as err:
        head.parse(buf, len(buf))
    assert err.value.status == 400


def test_a_field_past_the_last_is_an_index_error(parser_impl):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(REQUEST)
    head.parse(buf, len(buf))
    for read in (head.field_id, head.line_start, lambda i: head.value(buf, i), lambda i: head.name(buf, i)):
        with pytest.raises(IndexError):
            read(head.count)
