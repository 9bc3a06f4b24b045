"""Header rewriting both ways, trusted proxies, and routing."""

from __future__ import annotations

import re

from tests.integration.rawhttp import build_request


def _seen(origin, n: int = 1):
    return origin.wait_for_requests(n)[n - 1]


def test_forwarding_headers_are_added(proxy, origin):
    with proxy.client() as c:
        assert c.request("GET", "/echo", host="app.example.com:8080").status == 200
    req = _seen(origin)
    assert req.header("host") == b"app.example.com:8080"
    assert req.header("x-forwarded-for") == b"127.0.0.1"
    assert req.header("x-forwarded-proto") == b"http"
    assert req.header("x-forwarded-host") == b"app.example.com:8080"
    assert req.header("forwarded") == b'for=127.0.0.1;host="app.example.com:8080";proto=http'
    assert req.header("x-real-ip") == b"127.0.0.1"
    assert re.fullmatch(rb"[0-9a-f]{32}", req.header("x-request-id"))


def test_incoming_chain_is_kept_and_peer_appended(proxy, origin):
    with proxy.client() as c:
        c.request("GET", "/echo", headers=[("X-Forwarded-For", "1.1.1.1, 2.2.2.2"), ("X-Forwarded-For", "3.3.3.3"),
                                            ("Forwarded", "for=1.1.1.1"), ("X-Real-IP", "6.6.6.6"),
                                            ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil")])
    req = _seen(origin)
    assert req.header_all("x-forwarded-for") == [b"1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1"]
    assert req.header("forwarded") == b"for=1.1.1.1, for=127.0.0.1;host=example.com;proto=http"
    # Untrusted peer: nothing it claims about itself is believed.
    assert req.header_all("x-real-ip") == [b"127.0.0.1"]
    assert req.header_all("x-forwarded-proto") == [b"http"]
    assert req.header_all("x-forwarded-host") == [b"example.com"]


def test_trusted_proxy_chain_decides_the_client(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]},
                          server={"headers": {"trusted_proxies": ["127.0.0.1", "10.0.0.0/8"]}})
    cases = [
        ("9.9.9.9, 1.2.3.4, 10.1.1.1, 10.2.2.2", b"1.2.3.4"),  # walk right past trusted hops only
        ("10.0.0.1", b"10.0.0.1"),                            # all trusted: the leftmost
        ("1.2.3.4, bogus, 10.0.0.5", b"10.0.0.5"),            # an invalid entry stops the walk
        ("[2001:db8::1]:443", b"2001:db8::1"),
    ]
    with proxy.client() as c:
        for chain, _ in cases:
            c.request("GET", "/echo", headers={"X-Forwarded-For": chain, "X-Forwarded-Proto": "https"})
    for i, (chain, client) in enumerate(cases):
        req = _seen(origin, i + 1)
        assert req.header("x-real-ip") == client, chain
        assert req.header("x-forwarded-for") == chain.encode() + b", 127.0.0.1"
        # A trusted peer's X-Forwarded-Proto stands.
        assert req.header_all("x-forwarded-proto") == [b"https"]


def test_untrusted_peer_chain_is_not_believed(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"headers": {"trusted_proxies": ["10.0.0.0/8"]}})
    with proxy.client() as c:
        c.request("GET", "/echo", headers={"X-Forwarded-For": "1.2.3.4"})
    assert _seen(origin).header("x-real-ip") == b"127.0.0.1"


def test_request_id_passes_through_or_is_replaced(proxy, origin):
    with proxy.client() as c:
        c.request("GET", "/echo", headers={"X-Request-ID": "abc-123"})
        c.request("GET", "/echo", headers={"X-Request-ID": "has space"})
        c.request("GET", "/echo")
        c.request("GET", "/echo")
    reqs = origin.wait_for_requests(4)
    assert reqs[0].header_all("x-request-id") == [b"abc-123"]
    assert reqs[1].header("x-request-id") != b"has space"
    generated = {r.header("x-request-id") for r in reqs[1:]}
    assert len(generated) == 3


def test_request_id_can_be_turned_off(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, server={"headers": {"request_id": False}})
    with proxy.client() as c:
        c.request("GET", "/echo")
    assert _seen(origin).header("x-request-id") is None


def test_hop_by_hop_request_headers_are_removed(proxy, origin):
    headers = [
        ("Connection", "keep-alive, X-Secret, x-other"), ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Trailer", "X-T"),
        ("Upgrade", "h2c"), ("X-Secret", "s"), ("X-Other", "o"), ("X-Kept", "k"), ("Accept", "*/*"),
    ]
    with proxy.client() as c:
        c.request("GET", "/echo", headers=headers)
    names = [n.lower() for n, _ in _seen(origin).headers]
    for gone in (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"upgrade",
                 b"x-secret", b"x-other"):
        assert gone not in names
    assert b"x-kept" in names and b"accept" in names


def test_connection_cannot_strip_the_proxy_headers(proxy, origin):
    with proxy.client() as c:
        c.request("GET", "/echo", headers={"Connection": "X-Forwarded-For, X-Real-IP, Host"})
    req = _seen(origin)
    assert req.header("x-forwarded-for") == b"127.0.0.1"
    assert req.header("x-real-ip") == b"127.0.0.1"
    assert req.header("host") == b"example.com"


def test_field_order_and_values_are_kept(proxy, origin):
    headers = [("B-Field", "2"), ("A-Field", " spaced\tvalue "), ("B-Field", "1"), ("Cookie", "a=1; b=2")]
    with proxy.client() as c:
        c.request("GET", "/echo", headers=headers)
    req = _seen(origin)
    got = [(n, v) for n, v in req.headers if n.lower() in (b"a-field", b"b-field", b"cookie")]
    assert got == [(b"B-Field", b"2"), (b"A-Field", b"spaced\tvalue"), (b"B-Field", b"1"),
                   (b"Cookie", b"a=1; b=2")]


def test_absolute_form_target(proxy, origin):
    with proxy.client() as c:
        c.send(build_request("GET", "http://other.example:81/echo?q=1", host="ignored.example"))
        assert c.read_response().status == 200
    req = _seen(origin)
    assert req.target == "/echo?q=1"
    assert req.header_all("host") == [b"other.example:81"]


def test_revealing_response_headers_are_hidden(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/headers?set=X-Keep:1")
    assert r.header("server") is None and r.header("x-powered-by") is None
    assert r.header("x-backend-server") == "origin" and r.header("x-keep") == "1"


def test_hidden_response_headers_are_configurable(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]},
                          server={"headers": {"hide_response_headers": ["X-Backend-Server"]}})
    with proxy.client() as c:
        r = c.request("GET", "/headers")
    assert r.header("x-backend-server") is None
    assert r.header("server") == "TestOrigin/1.0"


def test_hop_by_hop_response_headers_are_removed(proxy, origin):
    with proxy.client() as c:
        r = c.request("GET", "/headers?set=Keep-Alive:timeout=5&set=Connection:X-Drop&set=X-Drop:1&set=X-Stay:2")
    assert r.header("keep-alive") is None and r.header("x-drop") is None
    assert r.header("connection") is None and r.header("x-stay") == "2"


def test_routing_by_host_and_prefix(proxy_factory, origin_factory):
    api, web, wild, fallback = (origin_factory(n) for n in ("api", "web", "wild", "fallback"))
    proxy = proxy_factory(
        {"api": [api], "web": [web], "wild": [wild], "fallback": [fallback]},
        routes=[
            {"host": "example.com", "path_prefix": "/api/", "upstream": "api", "strip_prefix": True},
            {"host": "example.com", "upstream": "web"},
            {"host": "*.example.com", "path_prefix": "/v1", "upstream": "wild"},
            {"upstream": "fallback"},
        ],
    )
    cases = [
        ("example.com", "/api/users?x=1", "api", "/users?x=1"),
        ("EXAMPLE.com:8080", "/api/", "api", "/"),
        ("example.com", "/apiary", "web", "/apiary"),
        ("a.b.example.com", "/v1", "wild", "/v1"),
        ("a.example.com", "/v1/x", "wild", "/v1/x"),
        ("a.example.com", "/v1x", "fallback", "/v1x"),
        ("a.example.com", "/v1?q", "wild", "/v1?q"),
        ("other.com", "/api/x", "fallback", "/api/x"),
    ]
    with proxy.client() as c:
        for host, target, name, _ in cases:
            r = c.request("GET", target, host=host)
            assert r.header("x-origin") == name, (host, target)
    seen = [(o.name, req.target) for o in (api, web, wild, fallback) for req in o.requests]
    assert sorted(seen) == sorted((name, sent) for _, _, name, sent in cases)


def test_no_route_is_404(proxy_factory, origin):
    proxy = proxy_factory({"default": [origin]}, routes=[{"host": "only.example", "upstream": "default"}])
    with proxy.client() as c:
        r = c.request("GET", "/echo", host="else.example")
        assert r.status == 404 and r.closes
    assert origin.requests == []


def test_round_robin_over_servers(proxy_factory, origin_factory):
    a, b = origin_factory("a"), origin_factory("b")
    proxy = proxy_factory({"default": [a, b]})
    with proxy.client() as c:
        names = [c.request("GET", "/bytes/1").header("x-origin") for _ in range(6)]
    assert names == ["a", "b"] * 3
