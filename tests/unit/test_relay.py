"""Body framing and re-framing."""

import pytest

from fastproxy.errors import HttpParseError
from fastproxy.outgoing import Outgoing
from fastproxy.parser.codes import BODY_CHUNKED, BODY_LENGTH, BODY_NONE, BODY_UNTIL_CLOSE
from fastproxy.relay import OUT_CHUNK, OUT_DECHUNK, OUT_PASS, BodyRelay


def _frame(relay, data: bytes, start: int = 0):
    out = Outgoing()
    n = relay.frame(bytearray(data), start, len(data), out)
    return n, out.take()


def test_length_counts_down_across_reads(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_LENGTH, 10, OUT_PASS)
    assert _frame(relay, b"12345") == (5, b"12345") and not relay.done
    assert _frame(relay, b"67890NEXT") == (5, b"67890") and relay.done
    assert relay.total == 10


def test_empty_bodies_are_done_at_once(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_NONE, 0, OUT_PASS)
    assert relay.done
    relay.begin(BODY_LENGTH, 0, OUT_PASS)
    assert relay.done


def test_chunked_pass_through_stops_at_the_end(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_CHUNKED, 0, OUT_PASS)
    coded = b"3\r\nabc\r\n0\r\n\r\n"
    assert _frame(relay, b"xx" + coded + b"GET", start=2) == (len(coded), coded)
    assert relay.done and relay.total == 3


def test_chunked_is_decoded_for_http10(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_CHUNKED, 0, OUT_DECHUNK)
    _, d1 = _frame(relay, b"3\r\nabc\r\n2\r\n")
    _, d2 = _frame(relay, b"de\r\n0\r\n\r\n")
    assert d1 + d2 == b"abcde" and relay.done


def test_bad_chunked_raises(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_CHUNKED, 0, OUT_PASS)
    with pytest.raises(HttpParseError):
        _frame(relay, b"zz\r\n")


def test_until_close_is_chunked_for_http11(parser_impl):
    relay = BodyRelay(parser_impl.ChunkedDecoder())
    relay.begin(BODY_UNTIL_CLOSE, 0, OUT_CHUNK)
    assert _frame(relay, b"hello") == (5, b"5\r\nhello\r\n")
    out = Outgoing()
    relay.finish(out)
    assert out.take() == b"0\r\n\r\n" and relay.done
