"""codes.py mirrors src_c/fp_http.h: the extension must report the same table."""

import pytest

from fastproxy.errors import HttpParseError
from fastproxy.parser import codes, implementations

c_only = pytest.mark.skipif("c" not in implementations(), reason="C extension not in use")


def test_table_is_dense_and_unique():
    assert [e.code for e in codes.ERRORS] == list(range(len(codes.ERRORS)))
    assert len({e.name for e in codes.ERRORS}) == len(codes.ERRORS)
    for e in codes.ERRORS:
        assert getattr(codes, "E_" + e.name.upper()) == e.code
        assert e.status in (200, 400, 414, 431, 501, 502, 505)


@c_only
def test_c_error_table_matches():
    cparser = implementations()["c"]
    assert cparser.error_count() == len(codes.ERRORS)
    for e in codes.ERRORS:
        assert cparser.error_name(e.code) == e.name
        assert cparser.error_status(e.code) == e.status
        assert cparser.error_message(e.code) == e.message
    assert cparser.error_name(len(codes.ERRORS)) == "unknown"


@c_only
def test_c_scan_levels_can_be_forced_and_restored():
    cparser = implementations()["c"]
    best = cparser.detect_scan_level()
    assert best in codes.SCAN_LEVEL_NAMES
    try:
        assert cparser.select_scan_level("scalar") == "scalar"
        assert cparser.scan_level() == "scalar"
        # asking for more than the CPU has is lowered, never refused
        assert cparser.select_scan_level("avx2") == best
    finally:
        cparser.select_scan_level(best)
    with pytest.raises(ValueError):
        cparser.select_scan_level("neon")


def test_error_carries_status(parser_impl):
    p = parser_impl.RequestParser()
    with pytest.raises(HttpParseError) as info:
        p.parse(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n")
    assert info.value.name == "version_not_supported"
    assert info.value.status == 505
    assert info.value.code == codes.E_VERSION_NOT_SUPPORTED
    assert info.value.source == "downstream"


def test_response_errors_are_upstream_502(parser_impl):
    p = parser_impl.ResponseParser()
    with pytest.raises(HttpParseError) as info:
        p.parse(b"HTTP/1.1 2000 OK\r\n\r\n")
    assert info.value.name == "bad_status_line"
    assert info.value.status == 502
    assert info.value.source == "upstream"
    # the same code in a request keeps its own status and source
    with pytest.raises(HttpParseError) as info:
        parser_impl.RequestParser().parse(b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n")
    assert (info.value.status, info.value.source) == (400, "downstream")
