"""Parser micro-benchmarks through the Python API: ours (each scan level and
the pure-Python twin) against httptools (llhttp), h11 and pycohttpparser
(picohttpparser over CFFI).

    python3 -m pytest bench/test_parser_bench.py --benchmark-columns=median,ops --benchmark-sort=name

Every contender delivers what a proxy needs from a head: method, target and
the header fields located.  ``ours-*`` rows read method and target; header
spans are already in C structs, which is what the hot path uses.  The
``*-headers`` rows also build a Python list of (name, value) pairs, for a
like-for-like comparison with parsers that can only hand fields to Python.
"""

import pytest

from corpus import REQUESTS

from fastproxy.parser import implementations

IMPLS = implementations()
CPARSER = IMPLS.get("c")


def _scan_levels():
    if CPARSER is None:
        return []
    best = CPARSER.detect_scan_level()
    order = ["scalar", "sse4.2", "avx2"]
    return order[: order.index(best) + 1]


@pytest.fixture(params=list(REQUESTS), ids=list(REQUESTS))
def request_bytes(request):
    return REQUESTS[request.param]


def _ours(module, data, with_headers):
    parser = module.RequestParser()
    parse = parser.parse
    reset = parser.reset

    def run():
        reset()
        parse(data)
        if with_headers:
            return parser.method, parser.target, parser.headers
        return parser.method, parser.target

    return run


@pytest.mark.parametrize("level", _scan_levels())
@pytest.mark.parametrize("with_headers", [False, True], ids=["spans", "headers"])
def test_ours_c(benchmark, request_bytes, level, with_headers):
    best = CPARSER.detect_scan_level()
    CPARSER.select_scan_level(level)
    try:
        benchmark.group = f"{len(request_bytes)}B"
        result = benchmark(_ours(CPARSER, request_bytes, with_headers))
    finally:
        CPARSER.select_scan_level(best)
    assert result[0] == b"GET"


@pytest.mark.parametrize("with_headers", [False, True], ids=["spans", "headers"])
def test_ours_python(benchmark, request_bytes, with_headers):
    benchmark.group = f"{len(request_bytes)}B"
    result = benchmark(_ours(IMPLS["python"], request_bytes, with_headers))
    assert result[0] == b"GET"


def test_httptools(benchmark, request_bytes):
    httptools = pytest.importorskip("httptools")

    class Proto:
        __slots__ = ("url", "headers")

        def __init__(self):
            self.url = b""
            self.headers = []

        def on_url(self, url):
            self.url += url

        def on_header(self, name, value):
            self.headers.append((name, value))

    # One parser for a stream of keep-alive requests, as a server uses it.
    proto = Proto()
    parser = httptools.HttpRequestParser(proto)

    def run():
        proto.url = b""
        proto.headers = []
        parser.feed_data(request_bytes)
        return parser.get_method(), proto.url, proto.headers

    benchmark.group = f"{len(request_bytes)}B"
    assert benchmark(run)[0] == b"GET"


def test_h11(benchmark, request_bytes):
    h11 = pytest.importorskip("h11")

    def run():
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(request_bytes)
        event = conn.next_event()
        return event.method, event.target, event.headers

    benchmark.group = f"{len(request_bytes)}B"
    assert benchmark(run)[0] == b"GET"


def test_pycohttpparser(benchmark, request_bytes):
    api = pytest.importorskip("pycohttpparser.api")
    parser = api.Parser()
    view = memoryview(request_bytes)

    def run():
        req = parser.parse_request(view)
        return req.method, req.path, req.headers

    benchmark.group = f"{len(request_bytes)}B"
    assert bytes(benchmark(run)[0]) == b"GET"
