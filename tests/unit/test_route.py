"""The router: host matching, prefix matching on segment boundaries, strip_prefix."""

import pytest

from fastproxy.route import Route, Router, host_key, split_absolute


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
