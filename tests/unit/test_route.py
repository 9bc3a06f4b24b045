"""The router: host matching, prefix matching on segment boundaries, strip_prefix,
the other conditions (scheme, methods, path regex, headers, query, client
certificate) and the path rewrites."""

import pytest

from fastproxy import parser as http_parser
from fastproxy.actions import compile_route
from fastproxy.config.schema import HeaderMatch
from fastproxy.config.schema import Route as RouteSpec
from fastproxy.heads import ParsedHead
from fastproxy.rewrite import Peer
from fastproxy.route import Route, Router, host_key, path_only, query_pairs, split_absolute


def _router(*specs):
    return Router(Route(i, host, prefix, strip, name) for i, (host, prefix, strip, name) in enumerate(specs))


@pytest.mark.parametrize("value, key", [
    (b"Example.COM", b"example.com"),
    (b"example.com:8080", b"example.com"),
    (b"example.com.", b"example.com"),
    (b"[::1]:443", b"[::1]"),
    (b"[::1]", b"[::1]"),
    (b"", b""),
])
def test_host_key(value, key):
    assert host_key(value) == key


def test_first_match_wins():
    router = _router((None, "/a", False, "first"), (None, None, False, "second"))
    assert router.match(b"x", b"/a/b").upstream == "first"
    assert router.match(b"x", b"/b").upstream == "second"


@pytest.mark.parametrize("path, hit", [
    (b"/api", True), (b"/api/", True), (b"/api/x", True), (b"/api?q=1", True),
    (b"/apix", False), (b"/ap", False), (b"/", False),
])
def test_prefix_without_slash_matches_segments(path, hit):
    assert (_router((None, "/api", False, "api")).match(b"h", path) is not None) is hit


def test_prefix_with_slash_is_a_plain_prefix():
    router = _router((None, "/api/", False, "api"))
    assert router.match(b"h", b"/api/x") is not None
    assert router.match(b"h", b"/api") is None


@pytest.mark.parametrize("host, hit", [
    (b"a.example.com", True), (b"a.b.example.com", True), (b"example.com", False),
    (b"aexample.com", False), (b"example.com.evil", False),
])
def test_wildcard_host(host, hit):
    assert (_router(("*.example.com", None, False, "w")).match(host, b"/") is not None) is hit


def test_exact_host():
    router = _router(("example.com", None, False, "e"))
    assert router.match(b"example.com", b"/") is not None
    assert router.match(b"www.example.com", b"/") is None


@pytest.mark.parametrize("prefix, path, target", [
    ("/api/", b"/api/users?x=1", b"/users?x=1"),
    ("/api", b"/api/users", b"/users"),
    ("/api", b"/api", b"/"),
    ("/api", b"/api?x", b"/?x"),
    ("/api/", b"/api/", b"/"),
])
def test_strip_prefix(prefix, path, target):
    route = _router((None, prefix, True, "a")).match(b"h", path)
    assert route.target(path) == target


def test_no_strip_keeps_the_target():
    route = _router((None, "/api", False, "a")).match(b"h", b"/api/x?y")
    assert route.target(b"/api/x?y") == b"/api/x?y"


@pytest.mark.parametrize("target, authority, path", [
    (b"http://example.com/a?b", b"example.com", b"/a?b"),
    (b"http://example.com:8080", b"example.com:8080", b"/"),
    (b"http://example.com?q", b"example.com", b"/?q"),
    (b"https://user@example.com/x", b"example.com", b"/x"),
])
def test_split_absolute(target, authority, path):
    assert split_absolute(target) == (authority, path)


# -- conditions and rewrites (compiled from config routes) ---------------------


def _compiled(**spec):
    spec.setdefault("upstream", "u")
    return compile_route(0, RouteSpec(**spec), {"u": "group"})


def _head(raw: bytes):
    head = ParsedHead(http_parser.RequestParser(max_uri_bytes=8192, max_header_bytes=16384, max_header_count=100))
    buf = bytearray(raw)
    assert head.parse(buf, len(buf)) == len(raw)
    return head, buf


def _failure(route, method=b"GET", path=b"/", fields=b"", peer=None):
    head, buf = _head(method + b" " + path + b" HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n")
    return route.more.first_failure(method, path, head, buf, peer)


def test_a_host_and_prefix_route_has_no_conditions():
    route = _compiled(host=("a.example",), path_prefix="/api")
    assert route.more is None and route.answer is None and route.req_edits is None
    assert Router([route]).match(b"a.example", b"/api/x") is route


def test_several_hosts_exact_and_wildcard():
    router = Router([_compiled(host=("a.example", "*.b.example"))])
    for host, hit in [(b"a.example", True), (b"x.b.example", True), (b"x.y.b.example", True),
                      (b"b.example", False), (b"c.example", False)]:
        assert (router.match(host, b"/") is not None) is hit, host


def test_methods_and_path_regex():
    route = _compiled(methods=("GET", "HEAD"), path_regex="^/items/[0-9]+$")
    assert _failure(route, b"GET", b"/items/1?x=y") is None
    assert _failure(route, b"POST", b"/items/1") == "methods"
    assert _failure(route, b"HEAD", b"/items/x") == "path_regex"


@pytest.mark.parametrize("match, fields, held", [
    (HeaderMatch("X-A"), b"X-A: \r\n", True),
    (HeaderMatch("X-A"), b"", False),
    (HeaderMatch("X-A", present=False), b"", True),
    (HeaderMatch("X-A", present=False), b"x-a: 1\r\n", False),
    (HeaderMatch("X-A", value="v"), b"X-A: w\r\nX-A: v\r\n", True),  # any of the fields
    (HeaderMatch("X-A", value="v"), b"X-A: V\r\n", False),
    (HeaderMatch("X-A", regex="^v[0-9]$"), b"X-A: v1\r\n", True),
    (HeaderMatch("Upgrade", value="websocket"), b"Upgrade: websocket\r\nConnection: upgrade\r\n", True),
    (HeaderMatch("Host", regex=r"^h$"), b"", True),  # a field the parser tags, found by id
])
def test_header_conditions(match, fields, held):
    assert (_failure(_compiled(headers=(match,)), fields=fields) is None) is held


@pytest.mark.parametrize("match, path, held", [
    (HeaderMatch("debug"), b"/?debug", True),
    (HeaderMatch("debug"), b"/?debugx=1", False),
    (HeaderMatch("debug", present=False), b"/?a=1", True),
    (HeaderMatch("v", value="2 b"), b"/?v=1&v=2+b", True),
    (HeaderMatch("v", value="2 b"), b"/?v=2%20b", True),
    (HeaderMatch("v", regex="^[0-9]+$"), b"/?v=12", True),
    (HeaderMatch("v", regex="^[0-9]+$"), b"/", False),
])
def test_query_conditions(match, path, held):
    assert (_failure(_compiled(query=(match,)), path=path) is None) is held


def test_query_pairs_and_path_only():
    assert query_pairs(b"/a?x=1&&y&z=%41+b") == [(b"x", b"1"), (b"y", b""), (b"z", b"A b")]
    assert query_pairs(b"/a") == []
    assert path_only(b"/a?b") == b"/a" and path_only(b"/a") == b"/a"


def test_client_certificate_conditions():
    route = _compiled(client_cn=("alice",), client_subject=("CN=alice,O=Example",))
    peer = Peer("127.0.0.1", False, b"https")
    assert _failure(route, peer=peer) == "client_subject"  # no certificate
    peer.set_client_cert("X-Client-Subject", "CN=alice,O=Example", "alice")
    assert _failure(route, peer=peer) is None
    peer.set_client_cert("X-Client-Subject", "CN=alice,O=Other", "alice")
    assert _failure(route, peer=peer) == "client_subject"


@pytest.mark.parametrize("prefix, replacement, path, target", [
    ("/api", "/v2", b"/api", b"/v2"),
    ("/api", "/v2", b"/api/x?q", b"/v2/x?q"),
    ("/api", "/v2/", b"/api/x", b"/v2/x"),
    ("/api/", "/v2", b"/api/x", b"/v2/x"),
    ("/api/", "/v2/", b"/api/", b"/v2/"),
    ("/api", "/", b"/api?q", b"/?q"),
])
def test_rewrite_prefix(prefix, replacement, path, target):
    route = _compiled(path_prefix=prefix, rewrite_prefix=replacement)
    assert route.target(path) == target


@pytest.mark.parametrize("regex, template, path, target", [
    (r"^/u/([0-9]+)$", "/users/$1", b"/u/7?x=1", b"/users/7?x=1"),
    (r"^/u/(?P<id>[0-9]+)/(.*)", "/users/${id}/f/${2}", b"/u/7/a/b", b"/users/7/f/a/b"),
    (r"^/(a)?b", "/x$1y", b"/b", b"/xy"),  # a group that took no part is empty
    (r"^/(.*)$", "$1", b"/keep", b"/keep"),
])
def test_rewrite_path_by_regex(regex, template, path, target):
    route = _compiled(path_regex=regex, rewrite_path=template)
    assert route.more.first_failure(b"GET", path, None, None, None) is None
    assert route.target(path) == target


def test_scheme_condition():
    route = _compiled(scheme="https")
    assert _failure(route, peer=Peer("127.0.0.1", False, b"https")) is None
    assert _failure(route, peer=Peer("127.0.0.1", False, b"http")) == "scheme"
    assert _compiled(scheme="http").more.tls == 0
