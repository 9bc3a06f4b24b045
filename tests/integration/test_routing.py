"""Route conditions and actions over real sockets: matchers, path rewrites,
redirects, direct responses, header edits both ways, HSTS over TLS only,
and routing on the verified client certificate (trustme certificates)."""

from __future__ import annotations

import json

import pytest

from fastproxy.config import parse_config
from tests.integration.conftest import ProxyThread
from tests.integration.rawhttp import Client
from tests.integration.tlsfiles import Pki


def _echo(response) -> dict:
    return {name.lower(): value for name, value in json.loads(response.body)["headers"]}


def test_method_regex_header_and_query_matchers(proxy_factory, origin_factory):
    names = ("methods", "regex", "present", "absent", "exact", "hregex", "query", "qvalue", "hosts", "rest")
    origins = {name: origin_factory(name) for name in names}
    proxy = proxy_factory(
        {name: [o] for name, o in origins.items()},
        routes=[
            {"methods": ["DELETE", "PATCH"], "upstream": "methods"},
            {"path_regex": "^/items/[0-9]+$", "upstream": "regex"},
            {"path_prefix": "/h", "headers": {"X-Exact": "yes"}, "upstream": "exact"},
            {"path_prefix": "/h", "headers": {"X-Rx": {"regex": "^v[0-9]$"}}, "upstream": "hregex"},
            {"path_prefix": "/h", "headers": {"X-Flag": True}, "upstream": "present"},
            {"path_prefix": "/h", "headers": {"Authorization": False}, "upstream": "absent"},
            {"path_prefix": "/q", "query": {"v": "2 beta"}, "upstream": "qvalue"},
            {"path_prefix": "/q", "query": {"debug": True}, "upstream": "query"},
            {"host": ["a.test", "*.b.test"], "upstream": "hosts"},
            {"upstream": "rest"},
        ],
    )
    cases = [
        ("DELETE", "/x", {}, "example.com", "methods"),
        ("GET", "/items/42", {}, "example.com", "regex"),
        ("GET", "/items/42?full", {}, "example.com", "regex"),  # the regex sees the path without its query
        ("GET", "/items/4x", {}, "example.com", "rest"),
        ("GET", "/h", {"X-Exact": "yes"}, "example.com", "exact"),
        ("GET", "/h", {"X-Exact": "no", "Authorization": "x"}, "example.com", "rest"),
        ("GET", "/h", {"x-rx": "v7", "Authorization": "x"}, "example.com", "hregex"),
        ("GET", "/h", {"X-Flag": "", "Authorization": "x"}, "example.com", "present"),
        ("GET", "/h", {}, "example.com", "absent"),
        ("GET", "/q?debug", {}, "example.com", "query"),
        ("GET", "/q?a=1&v=2+beta", {}, "example.com", "qvalue"),
        ("GET", "/q?v=2%20beta", {}, "example.com", "qvalue"),
        ("GET", "/q?v=3", {}, "example.com", "rest"),
        ("GET", "/", {}, "A.test:81", "hosts"),
        ("GET", "/", {}, "x.b.test", "hosts"),
        ("GET", "/", {}, "b.test", "rest"),
    ]
    with proxy.client() as c:
        for method, target, headers, host, name in cases:
            r = c.request(method, target, headers=headers, host=host)
            assert r.header("x-origin") == name, (method, target, headers, host)


def test_path_rewrites_by_prefix_and_by_regex(proxy_factory, origin):
    proxy = proxy_factory(
        {"o": [origin]},
        routes=[
            {"path_prefix": "/api", "rewrite_prefix": "/v2", "upstream": "o"},
            {"path_prefix": "/svc/", "rewrite_prefix": "/internal/", "upstream": "o"},
            {"path_regex": "^/u/(?P<id>[0-9]+)/(.*)$", "rewrite_path": "/users/${id}/files/$2", "upstream": "o"},
            {"upstream": "o"},
        ],
    )
    cases = [("/api", "/v2"), ("/api/x?q=1", "/v2/x?q=1"), ("/api?q", "/v2?q"), ("/apix", "/apix"),
             ("/svc/a/b", "/internal/a/b"), ("/u/7/a/b.txt?dl=1", "/users/7/files/a/b.txt?dl=1")]
    with proxy.client() as c:
        for target, _ in cases:
            assert c.request("GET", target).status == 404  # the origin knows none of these paths
    assert [r.target for r in origin.wait_for_requests(len(cases))] == [sent for _, sent in cases]


def test_redirects_answer_without_the_upstream(proxy_factory, origin):
    proxy = proxy_factory(
        {"o": [origin]},
        routes=[
            {"path_prefix": "/old", "redirect": {"to": "https://new.example{path}?from={query}", "status": 301}},
            {"path_prefix": "/moved", "redirect": "/elsewhere{uri}",
             "response_headers": {"set": {"Cache-Control": "no-cache"}}},
            {"path_prefix": "/secure", "redirect": "https"},
            {"upstream": "o"},
        ],
    )
    with proxy.client() as c:
        r = c.request("GET", "/old/page?x=1", host="example.com")
        assert (r.status, r.header("location")) == (301, "https://new.example/old/page?from=x=1")
        assert r.header("content-length") == "0" and r.body == b"" and not r.closes
        r = c.request("GET", "/moved/a?b", host="example.com")  # same connection: kept alive
        assert (r.status, r.header("location"), r.header("cache-control")) == (302, "/elsewhere/moved/a?b",
                                                                              "no-cache")
        r = c.request("POST", "/secure/form?a=1", host="Example.COM:8080", body=b"field=1")
        assert (r.status, r.header("location")) == (308, "https://example.com/secure/form?a=1")
        assert r.closes  # the body was not read
    with proxy.client() as c:
        c.send(b"GET /secure HTTP/1.0\r\n\r\n")  # no Host to redirect to
        r = c.read_response()
        assert r.status == 400 and r.header("location") is None and r.closes
    assert origin.connections_accepted == 0


def test_direct_responses(proxy_factory, origin):
    proxy = proxy_factory(
        {"o": [origin]},
        routes=[
            {"path_prefix": "/health", "respond": {"status": 200, "body": "ok\n",
                                                   "headers": {"X-Served-By": "proxy"}}},
            {"path_prefix": "/gone", "respond": 410},
            {"path_prefix": "/empty", "respond": {"status": 204}},
            {"upstream": "o"},
        ],
    )
    with proxy.client() as c:
        r = c.request("GET", "/health")
        assert (r.status, r.body, r.header("x-served-by")) == (200, b"ok\n", "proxy")
        assert r.header("content-type") == "text/plain; charset=utf-8"
        r = c.request("HEAD", "/health")
        assert (r.status, r.body, r.header("content-length")) == (200, b"", "3")
        r = c.request("GET", "/gone")
        assert (r.status, r.body) == (410, b"")
        r = c.request("GET", "/empty")
        assert r.status == 204 and r.header("content-length") is None
        c.send(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\n")  # pipelined
        assert [c.read_response().body for _ in range(2)] == [b"ok\n", b"ok\n"]
    with proxy.client() as c:
        r = c.request("GET", "/health", version="HTTP/1.0", headers={"Connection": "keep-alive"})
        assert r.header("connection") == "keep-alive"
        assert c.request("GET", "/health", version="HTTP/1.0").closes
    assert origin.connections_accepted == 0


def test_header_edits_both_ways(proxy_factory, origin):
    proxy = proxy_factory(
        {"o": [origin]},
        routes=[{
            "upstream": "o",
            "request_headers": {"set": {"X-Env": "prod"}, "add": {"X-Tag": ["a", "b"]}, "remove": ["X-Debug"]},
            "response_headers": {"set": {"Cache-Control": "no-store"}, "add": {"X-Via-Route": "1"},
                                 "remove": ["X-Backend-Server"]},
        }],
    )
    with proxy.client() as c:
        r = c.request("GET", "/echo", headers=[("X-Env", "dev"), ("X-Debug", "1"), ("X-Tag", "client"),
                                                ("X-Keep", "k")])
        seen = json.loads(r.body)["headers"]
        assert [v for n, v in seen if n.lower() == "x-env"] == ["prod"]
        assert [v for n, v in seen if n.lower() == "x-tag"] == ["client", "a", "b"]
        assert not [n for n, _ in seen if n.lower() == "x-debug"]
        assert [v for n, v in seen if n.lower() == "x-keep"] == ["k"]
        r = c.request("GET", "/headers?set=Cache-Control:max-age=60&set=X-Other:o")
        assert r.header_all("cache-control") == ["no-store"]
        assert r.header("x-backend-server") is None and r.header("x-other") == "o"
        assert r.header("x-via-route") == "1"
        assert r.header("strict-transport-security") is None


# -- TLS: HSTS and client certificates ------------------------------------------


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


@pytest.fixture
def two_listeners(start_proxy, origin):
    """``make(tls, routes)``: a proxy with a plain listener then a TLS one, in front of ``origin``."""
    def make(tls: dict, routes: list[dict]) -> tuple[ProxyThread, tuple, tuple]:
        config = parse_config({
            "listener": [{"bind": "127.0.0.1:0"}, {"bind": "127.0.0.1:0", "tls": tls}],
            "route": routes,
            "upstream": {"origin": {"servers": [f"127.0.0.1:{origin.port}"]}},
        })
        proxy = start_proxy(config)
        plain, secure = proxy.proxy.addresses
        return proxy, plain, secure

    return make


def _tls_client(address, context, server_name="site.example") -> Client:
    client = Client(address)
    client.sock = context.wrap_socket(client.sock, server_hostname=server_name)
    return client


def test_hsts_only_over_tls(two_listeners, pki):
    site = pki.issue("site", "site.example")
    _, plain, secure = two_listeners(
        {"certificates": [{"cert": site.cert, "key": site.key}]},
        [{"path_prefix": "/ok", "respond": {"status": 200, "body": "ok"}, "hsts": True},
         {"upstream": "origin", "hsts": {"max_age": "1h", "include_subdomains": True}}],
    )
    with _tls_client(secure, pki.client_context()) as c:
        # The upstream's own header gives way to the route's.
        r = c.request("GET", "/headers?set=Strict-Transport-Security:max-age=5", host="site.example")
        assert r.header_all("strict-transport-security") == ["max-age=3600; includeSubDomains"]
        r = c.request("GET", "/ok", host="site.example")
        assert r.header("strict-transport-security") == "max-age=31536000"
    with Client(plain) as c:
        for target in ("/headers", "/ok"):
            assert c.request("GET", target, host="site.example").header("strict-transport-security") is None


def test_https_upgrade_on_the_plain_listener_only(two_listeners, pki, origin):
    site = pki.issue("site", "site.example")
    _, plain, secure = two_listeners(
        {"certificates": [{"cert": site.cert, "key": site.key}]},
        [{"redirect": "https", "host": "site.example"},
         {"scheme": "https", "path_prefix": "/plain-only", "respond": 404},
         {"upstream": "origin"}],
    )
    with Client(plain) as c:
        r = c.request("GET", "/page?q=1", host="site.example:8080")
        assert (r.status, r.header("location")) == (308, "https://site.example/page?q=1")
        assert c.request("GET", "/plain-only", host="site.example").status == 308
    with _tls_client(secure, pki.client_context()) as c:
        assert c.request("GET", "/echo", host="site.example").status == 200
        assert c.request("GET", "/plain-only", host="site.example").status == 404
    assert len(origin.requests) == 1


def test_client_subject_is_forwarded_and_routed_on(two_listeners, pki, tmp_path, origin_factory):
    clients = Pki(tmp_path / "clients", "clients-ca")
    site = pki.issue("site", "site.example")
    alice = clients.issue("alice", "alice.example", common_name="alice")
    bob = clients.issue("bob", "bob.example", common_name="bob")
    _, plain, secure = two_listeners(
        {"certificates": [{"cert": site.cert, "key": site.key}], "client_ca": clients.ca_file,
         "client_subject_header": "X-Client-DN"},
        [{"client_cn": "alice", "path_prefix": "/admin", "rewrite_prefix": "/echo", "upstream": "origin"},
         {"path_prefix": "/admin", "respond": 403},
         {"upstream": "origin"}],
    )
    with _tls_client(secure, pki.client_context(cert=alice)) as c:
        r = c.request("GET", "/admin", host="site.example", headers={"X-Client-DN": "CN=root"})
        assert r.status == 200
        headers = json.loads(r.body)["headers"]
        subjects = [v for n, v in headers if n.lower() == "x-client-dn"]
        assert len(subjects) == 1 and subjects[0].startswith("CN=alice")
        assert "CN=root" not in subjects[0]
    with _tls_client(secure, pki.client_context(cert=bob)) as c:
        assert c.request("GET", "/admin", host="site.example").status == 403
        echo = _echo(c.request("GET", "/echo", host="site.example", headers={"x-client-dn": "CN=alice"}))
        assert echo["x-client-dn"].startswith("CN=bob")
    with Client(plain) as c:  # no client certificate on this listener: no route on one, nothing removed
        assert c.request("GET", "/admin", host="site.example").status == 403
        assert _echo(c.request("GET", "/echo", headers={"X-Client-DN": "x"}))["x-client-dn"] == "x"


def test_client_subject_header_defaults_with_client_ca(two_listeners, pki, tmp_path):
    from cryptography import x509  # trustme's own dependency: a second opinion on RFC 4514

    clients = Pki(tmp_path / "clients", "clients-ca")
    site = pki.issue("site", "site.example")
    alice = clients.issue("alice", "alice.example", common_name="alice, \"the first\"")
    with open(alice.cert, "rb") as file:
        subject = x509.load_pem_x509_certificate(file.read()).subject.rfc4514_string()
    _, _, secure = two_listeners(
        {"certificates": [{"cert": site.cert, "key": site.key}], "client_ca": clients.ca_file},
        [{"client_subject": subject, "path_prefix": "/who", "respond": {"status": 200, "body": "alice"}},
         {"upstream": "origin"}],
    )
    with _tls_client(secure, pki.client_context(cert=alice)) as c:
        echo = _echo(c.request("GET", "/echo", host="site.example"))
        assert c.request("GET", "/who", host="site.example").body == b"alice"
    assert echo["x-client-subject"] == subject
