"""fastproxy.config.routing: every [[route]] problem names its key path, and good routes build."""

from __future__ import annotations

import copy

import pytest

from fastproxy.config import parse_config
from fastproxy.config.schema import HeaderEdits, HeaderMatch, Hsts, Redirect, Respond
from fastproxy.errors import ConfigError

BASE = {
    "listener": [{"bind": "127.0.0.1:8080"}],
    "upstream": {"api": {"servers": ["127.0.0.1:9001"]}},
}


def config(route: dict, **listener_tls):
    data = copy.deepcopy(BASE)
    data["route"] = [route]
    if listener_tls:
        data["listener"][0]["tls"] = {"certificates": [{"cert": "a.pem", "key": "a.key"}], **listener_tls}
    return parse_config(data)


def problems(route: dict, **listener_tls) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        config(route, **listener_tls)
    return info.value.problems


# fmt: off
CASES = [
    ({"upstream": "api", "redirect": "https"}, "route[0].redirect",
     "a route has one action: upstream and redirect are both set (keep one)"),
    ({"respond": 200, "redirect": "https"}, "route[0].respond",
     "a route has one action: redirect and respond are both set (keep one)"),
    ({"path_prefix": "/a"}, "route[0].upstream",
     ('is required unless the route has redirect or respond (e.g. upstream = "api", redirect = "https", '
      'respond = 404)')),
    ({"upstream": "api", "path_regex": "^/(a"}, "route[0].path_regex",
     '"^/(a" is not a valid regular expression: missing ), unterminated subpattern at position 2'),
    ({"upstream": "api", "path_regex": "/é"}, "route[0].path_regex",
     '"/é": use ASCII (percent-encoded bytes) in a regular expression'),
    ({"upstream": "api", "methods": ["get"]}, "route[0].methods[0]", 'methods are case-sensitive: write "GET"'),
    ({"upstream": "api", "methods": "G T"}, "route[0].methods", '"G T" is not a method name'),
    ({"upstream": "api", "methods": []}, "route[0].methods",
     "expected a method or an array of them, got an array []"),
    ({"upstream": "api", "headers": {"X A": True}}, "route[0].headers.\"X A\"", '"X A" is not a valid header name'),
    ({"upstream": "api", "headers": {"X-A": 5}}, "route[0].headers.X-A",
     'expected true (present), false (absent), an exact value or { regex = "..." }, got 5'),
    ({"upstream": "api", "headers": {"X-A": {"regex": "("}}}, "route[0].headers.X-A.regex",
     '"(" is not a valid regular expression: missing ), unterminated subpattern at position 0'),
    ({"upstream": "api", "headers": {"X-A": "a\nb"}}, "route[0].headers.X-A",
     '"a\\nb" has a character that cannot appear in a header'),
    ({"upstream": "api", "query": {"a": {"value": "x"}}}, "route[0].query.a",
     'expected true (present), false (absent), an exact value or { regex = "..." }, got a table { value = "x" }'),
    ({"upstream": "api", "client_cn": "alice"}, "route[0].client_cn",
     "no listener verifies client certificates (set client_ca in a [listener.tls])"),
    ({"upstream": "api", "client_subject": ""}, "route[0].client_subject", "a subject cannot be empty"),
    ({"upstream": "api", "rewrite_prefix": "/v2"}, "route[0].rewrite_prefix", "replaces path_prefix: set path_prefix too"),
    ({"upstream": "api", "path_prefix": "/a", "rewrite_prefix": "v2"}, "route[0].rewrite_prefix",
     '"v2" must start with "/"'),
    ({"upstream": "api", "path_prefix": "/a", "strip_prefix": True, "rewrite_prefix": "/b"},
     "route[0].rewrite_prefix", "strip_prefix and rewrite_prefix both rewrite the path (keep one)"),
    ({"upstream": "api", "rewrite_path": "/x"}, "route[0].rewrite_path",
     "uses the groups of path_regex ($1, ${name}): set path_regex too"),
    ({"upstream": "api", "path_regex": "^/(a)", "rewrite_path": "/x/$2"}, "route[0].rewrite_path",
     '"/x/$2": $2 but path_regex has 1 group(s)'),
    ({"upstream": "api", "path_regex": "^/(a)", "rewrite_path": "/x/${id}"}, "route[0].rewrite_path",
     '"/x/${id}": path_regex has no group named "id"'),
    ({"upstream": "api", "path_regex": "^/(a)", "rewrite_path": "/x/$"}, "route[0].rewrite_path",
     '"/x/$": "$" must start a group reference ($1, ${name})'),
    ({"respond": 200, "path_prefix": "/a", "strip_prefix": True}, "route[0].strip_prefix",
     "only a route with an upstream rewrites the path (respond does not)"),
    ({"redirect": {"to": "https", "status": 200}}, "route[0].redirect.status",
     "200 is not a redirect status (use 301, 302, 303, 307, 308)"),
    ({"redirect": {"status": 301}}, "route[0].redirect.to",
     'is required (a location such as "https://{host}{uri}", or "https")'),
    ({"redirect": "https://x{port}/"}, "route[0].redirect",
     '"https://x{port}/": unknown placeholder {port} (use {scheme}, {host}, {path}, {query}, {uri})'),
    ({"redirect": "https://x/a b"}, "route[0].redirect",
     '"https://x/a b" has " ", which cannot appear in a URI (percent-encode it)'),
    ({"redirect": {"to": "ftp://x/"}}, "route[0].redirect.to", '"ftp://x/" must be an http(s) URL or start with "/"'),
    ({"redirect": 301}, "route[0].redirect",
     'expected a location, "https" or { to = "...", status = 301 }, got 301'),
    ({"respond": 99}, "route[0].respond.status", "99 is out of range (200..599)"),
    ({"respond": {"status": 204, "body": "x"}}, "route[0].respond.body", "a 204 response has no body"),
    ({"respond": {"status": 200, "headers": {"Content-Length": "5"}}}, "route[0].respond.headers.Content-Length",
     '"Content-Length" is managed by the proxy and cannot be edited'),
    ({"respond": "ok"}, "route[0].respond",
     'expected a status or { status = 200, body = "...", headers = { ... } }, got "ok"'),
    ({"upstream": "api", "request_headers": {"remove": ["Host"]}}, "route[0].request_headers.remove[0]",
     '"Host" is managed by the proxy and cannot be edited'),
    ({"upstream": "api", "request_headers": {"set": {"X-A": ["a"]}}}, "route[0].request_headers.set.X-A",
     'expected a string, got an array ["a"]'),
    ({"upstream": "api", "response_headers": {"add": {"X-A": 1}}}, "route[0].response_headers.add.X-A",
     "expected a string or an array of strings, got 1"),
    ({"upstream": "api", "response_headers": {"replace": {}}}, "route[0].response_headers.replace",
     "unknown key (known keys here: remove, set, add)"),
    ({"upstream": "api", "hsts": "yes"}, "route[0].hsts",
     'expected true or { max_age = "8760h", include_subdomains = true }, got "yes"'),
    ({"upstream": "api", "hsts": {"preload": True}}, "route[0].hsts.preload",
     "needs include_subdomains = true and max_age of at least a year (8760h)"),
    ({"upstream": "api", "hsts": {"max_age": "soon"}}, "route[0].hsts.max_age",
     '"soon" is not a duration (use e.g. "250ms", "10s", "1m")'),
    ({"upstream": "api", "path_regexp": "x"}, "route[0].path_regexp", 'unknown key (did you mean "path_regex"?)'),
]
# fmt: on


@pytest.mark.parametrize(("route", "path", "message"), CASES, ids=[c[1] for c in CASES])
def test_route_problem_names_its_key(route, path, message):
    assert problems(route) == [(path, message)]


def test_client_subject_header_problems():
    assert problems({"upstream": "api"}, client_subject_header="X-Who") == [
        ("listener[0].tls.client_subject_header",
         "needs client_ca (only a verified certificate has a subject to forward)")]
    assert problems({"upstream": "api"}, client_ca="ca.pem", client_subject_header="X-Forwarded-For") == [
        ("listener[0].tls.client_subject_header", '"X-Forwarded-For" is managed by the proxy and cannot be edited')]


def test_client_subject_header_default_and_choice():
    assert config({"upstream": "api"}, client_ca="ca.pem").listeners[0].tls.client_subject_header == \
        "X-Client-Subject"
    assert config({"upstream": "api"}, client_ca="ca.pem",
                  client_subject_header="X-Who").listeners[0].tls.client_subject_header == "X-Who"
    assert config({"upstream": "api"}).listeners[0].tls is None
    route = config({"upstream": "api", "client_cn": ["a", "b"], "client_subject": "CN=a"}, client_ca="ca.pem")
    assert (route.routes[0].client_cn, route.routes[0].client_subject) == (("a", "b"), ("CN=a",))


def test_a_full_route_builds():
    route = config({
        "host": ["A.example.com", "*.b.example", "a.example.com"],
        "path_prefix": "/api",
        "path_regex": "^/api/(?P<v>v[0-9])/",
        "methods": ["GET", "HEAD", "GET"],
        "headers": {"X-A": True, "X-B": False, "X-C": "c", "X-D": {"regex": "^d"}},
        "query": {"q": "1"},
        "rewrite_path": "/${v}/x",
        "upstream": "api",
        "request_headers": {"set": {"X-S": "1"}, "add": {"X-T": ["a", "b"]}, "remove": ["X-R"]},
        "response_headers": {"remove": ["X-Backend"]},
        "hsts": {"max_age": "8760h", "include_subdomains": True, "preload": True},
    }).routes[0]
    assert route.host == ("a.example.com", "*.b.example")
    assert route.methods == ("GET", "HEAD")
    assert route.headers == (HeaderMatch("X-A"), HeaderMatch("X-B", present=False), HeaderMatch("X-C", value="c"),
                             HeaderMatch("X-D", regex="^d"))
    assert route.query == (HeaderMatch("q", value="1"),)
    assert route.request_headers == HeaderEdits(remove=("X-R",), set=(("X-S", "1"),),
                                                add=(("X-T", "a"), ("X-T", "b")))
    assert route.hsts == Hsts(max_age=31536000, include_subdomains=True, preload=True)


@pytest.mark.parametrize("value, redirect", [
    ("https", Redirect("https://{host}{uri}", 308)),
    ({"to": "https", "status": 301}, Redirect("https://{host}{uri}", 301)),
    ("/new{path}", Redirect("/new{path}", 302)),
    ({"to": "{scheme}://example.org{uri}", "status": 307}, Redirect("{scheme}://example.org{uri}", 307)),
])
def test_redirect_forms(value, redirect):
    assert config({"redirect": value}).routes[0].redirect == redirect


def test_respond_forms():
    assert config({"respond": 404}).routes[0].respond == Respond(404)
    assert config({"respond": {"body": "hi", "headers": {"X-A": "1"}}}).routes[0].respond == Respond(
        200, "hi", (("X-A", "1"),))
    assert config({"respond": 403, "hsts": True}).routes[0].hsts == Hsts()


def test_scheme():
    assert config({"upstream": "api", "scheme": "https"}).routes[0].scheme == "https"
    assert config({"redirect": "https"}).routes[0].scheme == "http"
    assert config({"redirect": {"to": "https", "status": 301}}).routes[0].scheme == "http"
    assert config({"redirect": "/x"}).routes[0].scheme is None
    assert problems({"upstream": "api", "scheme": "ftp"}) == [
        ("route[0].scheme", '"ftp" is not a scheme (use "http" or "https")')]
    assert problems({"redirect": "https", "scheme": "https"}) == [
        ("route[0].scheme", 'redirect = "https" on https requests would send them to themselves')]
