"""fastproxy.actions: the bytes of redirects and direct responses, and HSTS values."""

from __future__ import annotations

import pytest

from fastproxy.actions import compile_route, hsts_value
from fastproxy.config.schema import HeaderEdits, Hsts, Redirect, Respond
from fastproxy.config.schema import Route as RouteSpec


def _answer(route, host=b"example.com", target=b"/a/b?c=d", tls=False, keep=True, client11=True, head=False):
    return route.answer.render(route, host, target, target, tls, keep, client11, head)


def _route(**spec):
    return compile_route(0, RouteSpec(**spec), {})


@pytest.mark.parametrize("location, tls, expected", [
    ("https://{host}{uri}", False, b"https://example.com/a/b?c=d"),
    ("{scheme}://other.example{path}", True, b"https://other.example/a/b"),
    ("/x?{query}", False, b"/x?c=d"),
])
def test_redirect_location(location, tls, expected):
    keep, data = _answer(_route(redirect=Redirect(location, 301)), tls=tls)
    assert keep
    assert data == (b"HTTP/1.1 301 Moved Permanently\r\nLocation: " + expected + b"\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("host", [None, b"", b"a b", b"evil.example/path", b"x\x00"])
def test_a_redirect_needs_a_plain_host(host):
    keep, data = _answer(_route(redirect=Redirect("https://{host}{uri}", 308)), host=host)
    assert not keep
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Location" not in data
    assert data.endswith(b"Connection: close\r\n\r\nno usable Host to redirect to\n")


def test_direct_response_with_edits_and_hsts_over_tls_only():
    route = _route(respond=Respond(200, "hi", (("X-A", "1"),)), hsts=Hsts(60),
                   response_headers=HeaderEdits(add=(("X-B", "2"),)))
    _, plain = _answer(route)
    assert plain == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\n"
                     b"Content-Length: 2\r\nX-B: 2\r\n\r\nhi")
    _, secure = _answer(route, tls=True, keep=False, head=True)
    assert secure == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-A: 1\r\n"
                      b"Content-Length: 2\r\nX-B: 2\r\nStrict-Transport-Security: max-age=60\r\n"
                      b"Connection: close\r\n\r\n")
    _, old_client = _answer(route, client11=False)
    assert b"Connection: keep-alive\r\n" in old_client


def test_hsts_values():
    assert hsts_value(Hsts()) == "max-age=31536000"
    assert hsts_value(Hsts(10, True, True)) == "max-age=10; includeSubDomains; preload"


def test_edits_drop_what_they_set_and_hidden_names():
    route = compile_route(0, RouteSpec(upstream="u", response_headers=HeaderEdits(remove=("X-R",),
                                                                                  set=(("X-S", "1"),))),
                          {"u": "group"}, frozenset({b"x-hidden"}))
    assert route.resp_plain.drop == frozenset({b"x-r", b"x-s", b"x-hidden"})
    assert route.resp_plain.add == b"X-S: 1\r\n"
    assert route.resp_tls is route.resp_plain and route.req_edits is None
