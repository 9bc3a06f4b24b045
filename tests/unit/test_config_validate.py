"""Every validation path of fastproxy.config: key path, value and hint in each message."""

from __future__ import annotations

import copy
import ipaddress

import pytest

from fastproxy.config import parse_config, parse_toml
from fastproxy.errors import ConfigError

BASE = {
    "listener": [{"bind": "127.0.0.1:8080"}],
    "route": [{"upstream": "api"}],
    "upstream": {"api": {"servers": ["127.0.0.1:9001"]}},
}
DELETE = object()


def with_value(keys: tuple, value: object) -> dict:
    """A copy of BASE with the value at ``keys`` (names and list indexes) set or deleted."""
    data = copy.deepcopy(BASE)
    node = data
    for key in keys[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


def problems(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.problems


def test_base_is_valid():
    assert parse_config(copy.deepcopy(BASE)).upstream("api").servers[0].port == 9001


# One case per line: a table reads better than the formatter's layout.
# fmt: off
CASES = [
    # [server]
    (("server",), 5, "server", "expected a table ([server]), got 5"),
    (("server", "workers"), True, "server.workers", 'expected an integer >= 1 or "auto", got true'),
    (("server", "workers"), "four", "server.workers", 'expected an integer >= 1 or "auto", got "four"'),
    (("server", "workers"), 2.0, "server.workers", 'expected an integer >= 1 or "auto", got 2.0'),
    (("server", "workers"), 0, "server.workers", "0 is out of range (1..1024)"),
    (("server", "workers"), 5000, "server.workers", "5000 is out of range (1..1024)"),
    (("server", "drain_timeout"), "soon", "server.drain_timeout",
     '"soon" is not a duration (use e.g. "250ms", "10s", "1m")'),
    (("server", "timeouts"), "10s", "server.timeouts", 'expected a table ([server.timeouts]), got "10s"'),
    (("server", "timeouts", "client_header"), "10q", "server.timeouts.client_header",
     '"10q" is not a duration (use e.g. "250ms", "10s", "1m")'),
    (("server", "timeouts", "client_idle"), "0s", "server.timeouts.client_idle",
     '"0s" must be longer than zero'),
    (("server", "timeouts", "upstream_connect"), -1, "server.timeouts.upstream_connect", "-1 is negative"),
    (("server", "timeouts", "upstream_read"), True, "server.timeouts.upstream_read",
     'true is not a duration (use e.g. "250ms", "10s", "1m")'),
    (("server", "timeouts", "upstream_write"), "5", "server.timeouts.upstream_write",
     '"5" has no unit (use e.g. "5s" or "5ms")'),
    (("server", "timeouts", "client_headers"), "5s", "server.timeouts.client_headers",
     'unknown key (did you mean "client_header"?)'),
    (("server", "limits", "max_header_bytes"), "512", "server.limits.max_header_bytes",
     '"512" is out of range (1KiB..1MiB)'),
    (("server", "limits", "max_header_bytes"), "2MiB", "server.limits.max_header_bytes",
     '"2MiB" is out of range (1KiB..1MiB)'),
    (("server", "limits", "max_header_bytes"), "0", "server.limits.max_header_bytes",
     '"0" is out of range (1KiB..1MiB)'),
    (("server", "limits", "max_header_count"), 0, "server.limits.max_header_count",
     "0 is out of range (1..10000)"),
    (("server", "limits", "max_header_count"), 10001, "server.limits.max_header_count",
     "10001 is out of range (1..10000)"),
    (("server", "limits", "max_header_count"), "100", "server.limits.max_header_count",
     'expected an integer, got "100"'),
    (("server", "limits", "max_header_count"), False, "server.limits.max_header_count",
     "expected an integer, got false"),
    (("server", "limits", "max_uri_bytes"), "128", "server.limits.max_uri_bytes",
     '"128" is out of range (256..1MiB)'),
    (("server", "limits", "max_uri_bytes"), "32KiB", "server.limits.max_uri_bytes",
     "32KiB is larger than max_header_bytes (16KiB)"),
    (("server", "limits", "max_body_bytes"), "16K", "server.limits.max_body_bytes",
     '"16K" is ambiguous: write "16KiB" (units of 1024) or "16KB" (units of 1000)'),
    (("server", "limits", "max_body_bytes"), 1.5, "server.limits.max_body_bytes",
     '1.5 is not a whole number of bytes (use e.g. "512", "16KiB", "100MiB", "10KB")'),
    (("server", "limits", "max_body_bytes"), "-1", "server.limits.max_body_bytes", '"-1" is negative'),
    (("server", "headers", "trusted_proxies"), "10.0.0.0/8", "server.headers.trusted_proxies",
     'expected an array of CIDR blocks, got "10.0.0.0/8"'),
    (("server", "headers", "trusted_proxies"), ["10.0.0.1/8"], "server.headers.trusted_proxies[0]",
     '"10.0.0.1/8" has host bits set (did you mean "10.0.0.0/8"?)'),
    (("server", "headers", "trusted_proxies"), ["1.2.3.4", "nope"], "server.headers.trusted_proxies[1]",
     '"nope" is not an IP address or CIDR block'),
    (("server", "headers", "trusted_proxies"), ["::1/129"], "server.headers.trusted_proxies[0]",
     '"::1/129" is not an IP address or CIDR block'),
    (("server", "headers", "trusted_proxies"), [8], "server.headers.trusted_proxies[0]",
     'expected a CIDR block such as "10.0.0.0/8", got 8'),
    (("server", "headers", "request_id"), "yes", "server.headers.request_id",
     'expected true or false, got "yes"'),
    (("server", "headers", "hide_response_headers"), "Server", "server.headers.hide_response_headers",
     'expected an array of header names, got "Server"'),
    (("server", "headers", "hide_response_headers"), ["Server", "X Bad"],
     "server.headers.hide_response_headers[1]", '"X Bad" is not a valid header name'),
    (("server", "headers", "hide_response_headers"), [["Server"]], "server.headers.hide_response_headers[0]",
     'expected a header name, got an array ["Server"]'),
    (("server", "worker"), 2, "server.worker", 'unknown key (did you mean "workers"?)'),
    # [[listener]]
    (("listener",), DELETE, "listener",
     'at least one [[listener]] is required (e.g. [[listener]] bind = "127.0.0.1:8080")'),
    (("listener",), [], "listener",
     'at least one [[listener]] is required (e.g. [[listener]] bind = "127.0.0.1:8080")'),
    (("listener",), {"bind": "127.0.0.1:8080"}, "listener",
     'expected an array of tables ([[listener]]), got a table { bind = "127.0.0.1:8080" }'),
    (("listener",), ["127.0.0.1:8080"], "listener[0]", 'expected a table, got "127.0.0.1:8080"'),
    (("listener", 0), {}, "listener[0].bind", 'is required (e.g. bind = "127.0.0.1:8080")'),
    (("listener", 0, "bind"), 8080, "listener[0].bind", "expected a string, got 8080"),
    (("listener", 0, "bind"), "", "listener[0].bind",
     '"" is not an address (use "host:port", e.g. "127.0.0.1:8080")'),
    (("listener", 0, "bind"), "127.0.0.1", "listener[0].bind",
     '"127.0.0.1" has no port (write "127.0.0.1:PORT")'),
    (("listener", 0, "bind"), "127.0.0.1:http", "listener[0].bind", 'port "http" is not a number'),
    (("listener", 0, "bind"), "127.0.0.1:-1", "listener[0].bind", 'port "-1" is not a number'),
    (("listener", 0, "bind"), "127.0.0.1:70000", "listener[0].bind", "port 70000 is out of range (0-65535)"),
    (("listener", 0, "bind"), ":8080", "listener[0].bind",
     '":8080" has no host (use "0.0.0.0:8080" for every IPv4 interface or "[::]:8080" for every IPv6 one)'),
    (("listener", 0, "bind"), "::1:8080", "listener[0].bind",
     '"::1:8080": an IPv6 address needs brackets, e.g. "[::1]:8080"'),
    (("listener", 0, "bind"), "fe80::zz:80", "listener[0].bind",
     '"fe80::zz:80": an IPv6 address needs brackets, e.g. "[fe80::zz:80]:PORT"'),
    (("listener", 0, "bind"), "[::1", "listener[0].bind", "\"[::1\" has no closing ']'"),
    (("listener", 0, "bind"), "[::g]:80", "listener[0].bind", '"[::g]:80": "::g" is not an IPv6 address'),
    (("listener", 0, "bind"), "[::1]", "listener[0].bind", '"[::1]" has no port (write "[::1]:PORT")'),
    (("listener", 0, "bind"), "[::1]x80", "listener[0].bind",
     '"[::1]x80" is not an address (use "host:port", e.g. "127.0.0.1:8080")'),
    (("listener", 0, "bind"), "300.1.1.1:80", "listener[0].bind", '"300.1.1.1" is not a valid IPv4 address'),
    (("listener", 0, "bind"), "bad-:80", "listener[0].bind",
     '"bad-" is not a valid host name (label "bad-" starts or ends with \'-\')'),
    (("listener", 0, "bind"), "exa mple:80", "listener[0].bind",
     '"exa mple" is not a valid host name (" " is not allowed)'),
    (("listener", 0, "bind"), "a..b:80", "listener[0].bind", '"a..b" is not a valid host name (empty label)'),
    (("listener", 0, "bind"), "host.123:80", "listener[0].bind",
     '"host.123" is not a valid host name (the last label is all digits)'),
    (("listener", 0, "bind"), "a" * 64 + ".com:80", "listener[0].bind",
     f'"{"a" * 56}... is not a valid host name (label "{"a" * 56}... is longer than 63 characters)'),
    (("listener", 0, "bind"), ("a" * 60 + ".") * 5 + "com:80", "listener[0].bind",
     f'"{"a" * 56}... is longer than 253 characters'),
    (("listener", 0, "bnd"), "x", "listener[0].bnd", 'unknown key (did you mean "bind"?)'),
    # [[route]]
    (("route",), DELETE, "route", 'at least one [[route]] is required (e.g. [[route]] upstream = "api")'),
    (("route",), {"upstream": "api"}, "route",
     'expected an array of tables ([[route]]), got a table { upstream = "api" }'),
    (("route",), [5], "route[0]", "expected a table, got 5"),
    (("route", 0), {}, "route[0].upstream",
     'is required unless the route has redirect or respond (e.g. upstream = "api", redirect = "https", respond = 404)'),
    (("route", 0, "upstream"), 5, "route[0].upstream", "expected a string, got 5"),
    (("route", 0, "upstream"), "apx", "route[0].upstream", 'no upstream named "apx" (did you mean "api"?)'),
    (("route", 0, "upstream"), "API", "route[0].upstream", 'no upstream named "API" (did you mean "api"?)'),
    (("route", 0, "upstream"), "zzz", "route[0].upstream", 'no upstream named "zzz" (defined: "api")'),
    (("route", 0, "host"), "*", "route[0].host",
     ('"*": "*" may only be the whole first label, as in "*.example.com" '
      "(leave host out to match every host)")),
    (("route", 0, "host"), "a.*.com", "route[0].host",
     ('"a.*.com": "*" may only be the whole first label, as in "*.example.com" '
      "(leave host out to match every host)")),
    (("route", 0, "host"), "*.-bad.com", "route[0].host",
     '"-bad.com" is not a valid host name (label "-bad" starts or ends with \'-\')'),
    (("route", 0, "host"), "api.example.com:80", "route[0].host",
     '"api.example.com:80": a route host has no port (match on the name only)'),
    (("route", 0, "host"), "[nope]", "route[0].host", '"[nope]" is not an IPv6 address'),
    (("route", 0, "host"), "exämple.com", "route[0].host",
     '"exämple.com" is not a valid host name ("ä" is not allowed)'),
    (("route", 0, "host"), ["a.com", 5], "route[0].host",
     'expected a host name or an array of them, got an array ["a.com", 5]'),
    (("route", 0, "host"), ["a.com", "a.*.com"], "route[0].host[1]",
     '"a.*.com": "*" may only be the whole first label, as in "*.example.com" (leave host out to match every host)'),
    (("route", 0, "path_prefix"), "api/", "route[0].path_prefix", '"api/" must start with "/"'),
    (("route", 0, "path_prefix"), "/a b", "route[0].path_prefix",
     '"/a b" has " ", which cannot appear in a path'),
    (("route", 0, "path_prefix"), "/a?b", "route[0].path_prefix",
     '"/a?b" has "?", which cannot appear in a path'),
    (("route", 0, "path_prefix"), "/a\x01", "route[0].path_prefix",
     '"/a\\u0001" has "\\u0001", which cannot appear in a path'),
    (("route", 0, "path_prefix"), "/café", "route[0].path_prefix",
     '"/café" has a non-ASCII character "é" (percent-encode it)'),
    (("route", 0, "path_prefix"), 5, "route[0].path_prefix", "expected a string, got 5"),
    (("route", 0, "strip_prefix"), True, "route[0].strip_prefix",
     "true is only meaningful with path_prefix (set path_prefix or remove this)"),
    (("route", 0, "strip_prefix"), "yes", "route[0].strip_prefix", 'expected true or false, got "yes"'),
    (("route", 0, "upstreams"), "api", "route[0].upstreams", 'unknown key (did you mean "upstream"?)'),
    # [upstream.NAME]
    (("upstream", "api", "servers"), ["127.0.0.1:9001", "127.0.0.1:99999"], "upstream.api.servers[1]",
     "port 99999 is out of range (1-65535)"),
    (("upstream", "api", "servers"), ["127.0.0.1:0"], "upstream.api.servers[0]",
     "port 0 is out of range (1-65535)"),
    (("upstream", "api", "servers"), DELETE, "upstream.api.servers",
     'at least one server is required (e.g. servers = ["127.0.0.1:9001"])'),
    (("upstream", "api", "servers"), [], "upstream.api.servers",
     'at least one server is required (e.g. servers = ["127.0.0.1:9001"])'),
    (("upstream", "api", "servers"), "127.0.0.1:9001", "upstream.api.servers",
     'expected an array such as ["127.0.0.1:9001"], got "127.0.0.1:9001"'),
    (("upstream", "api", "servers"), [9001], "upstream.api.servers[0]",
     'expected "host:port" or { address = "host:port", weight = N }, got 9001'),
    (("upstream", "api", "servers"), ["127.0.0.1"], "upstream.api.servers[0]",
     '"127.0.0.1" has no port (write "127.0.0.1:PORT")'),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:9002", "weight": 0}],
     "upstream.api.servers[0].weight", "0 is out of range (1..1000)"),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:9002", "weight": 1001}],
     "upstream.api.servers[0].weight", "1001 is out of range (1..1000)"),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:9002", "weight": True}],
     "upstream.api.servers[0].weight", "expected an integer, got true"),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:9002", "weight": "3"}],
     "upstream.api.servers[0].weight", 'expected an integer, got "3"'),
    (("upstream", "api", "servers"), [{"weight": 2}], "upstream.api.servers[0].address",
     'is required (e.g. { address = "127.0.0.1:9001", weight = 2 })'),
    (("upstream", "api", "servers"), [{"address": 9001}], "upstream.api.servers[0].address",
     "expected a string, got 9001"),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:99999"}], "upstream.api.servers[0].address",
     "port 99999 is out of range (1-65535)"),
    (("upstream", "api", "servers"), [{"address": "127.0.0.1:9001", "wieght": 2}],
     "upstream.api.servers[0].wieght", 'unknown key (did you mean "weight"?)'),
    (("upstream", "api", "servers"), ["127.0.0.1:9001", "127.0.0.1:9001"], "upstream.api.servers[1]",
     '"127.0.0.1:9001" is listed twice (also servers[0]); give it a weight instead'),
    (("upstream", "api", "servers"), ["LocalHost:9001", {"address": "localhost:9001"}],
     "upstream.api.servers[1]",
     '"localhost:9001" is listed twice (also servers[0]); give it a weight instead'),
    (("upstream", "api", "servers"), ["[::1]:9001", "[0::1]:9001"], "upstream.api.servers[1]",
     '"[::1]:9001" is listed twice (also servers[0]); give it a weight instead'),
    (("upstream", "api", "balance"), "roundrobin", "upstream.api.balance",
     '"roundrobin" is not a balancing method (did you mean "round_robin"?)'),
    (("upstream", "api", "balance"), "fastest", "upstream.api.balance",
     ('"fastest" is not a balancing method (use one of "round_robin", "weighted_round_robin", "random", '
      '"least_conn", "p2c", "ip_hash", "consistent_hash")')),
    (("upstream", "api", "balance"), 1, "upstream.api.balance", "expected a string, got 1"),
    (("upstream", "api", "pool"), 5, "upstream.api.pool", "expected a table ([upstream.api.pool]), got 5"),
    (("upstream", "api", "pool", "max_idle"), -1, "upstream.api.pool.max_idle",
     "-1 is out of range (0..100000)"),
    (("upstream", "api", "pool", "idle_timeout"), "0", "upstream.api.pool.idle_timeout",
     '"0" must be longer than zero'),
    (("upstream", "api", "pool", "max_requests"), -1, "upstream.api.pool.max_requests",
     "-1 is out of range (0..2147483647)"),
    (("upstream", "api", "pool", "max_requests"), 1.5, "upstream.api.pool.max_requests",
     "expected an integer, got 1.5"),
    (("upstream", "api", "pool", "max_idel"), 4, "upstream.api.pool.max_idel",
     'unknown key (did you mean "max_idle"?)'),
    (("upstream", "api", "server"), ["127.0.0.1:9001"], "upstream.api.server",
     'unknown key (did you mean "servers"?)'),
    # [log] and the top level
    (("log", "format"), "xml", "log.format", '"xml" is not a log format (use "text", "json")'),
    (("log",), "json", "log", 'expected a table ([log]), got "json"'),
    (("log", "style"), "json", "log.style", "unknown key (known keys here: format)"),
    (("listeners",), [], "listeners", 'unknown key (did you mean "listener"?)'),
    (("routes",), [], "routes", 'unknown key (did you mean "route"?)'),
    (("bogus_thing",), 1, "bogus_thing",
     "unknown key (known keys here: server, listener, route, upstream, log, admin, access_log)"),
]
# fmt: on


@pytest.mark.parametrize(
    ("keys", "value", "path", "message"), CASES, ids=[f"{c[2]}={c[1]!r}"[:60] for c in CASES]
)
def test_problem_names_key_path_and_value(keys, value, path, message):
    assert problems(with_value(keys, value)) == [(path, message)]


def test_upstream_table_problems():
    data = copy.deepcopy(BASE)
    data["upstream"]["bad name"] = {"servers": ["127.0.0.1:9002"]}
    data["upstream"]["x"] = 5
    assert problems(data) == [
        (
            'upstream."bad name"',
            '"bad name" is not a valid upstream name (use letters, digits, "_", ".", "-")',
        ),
        ("upstream.x", "expected a table ([upstream.x]), got 5"),
    ]
    assert problems(with_value(("upstream",), 5)) == [
        ("route[0].upstream", 'no upstream named "api" (no [upstream.NAME] tables are defined)'),
        ("upstream", "expected a table ([upstream]), got 5"),
    ]


def test_duplicate_listeners_compare_normalised_addresses():
    data = with_value(
        ("listener",),
        [{"bind": "[::1]:80"}, {"bind": "[0:0::1]:80"}, {"bind": "LOCALHOST:80"}, {"bind": "localhost:80"}],
    )
    assert problems(data) == [
        ("listener[1].bind", '"[0:0::1]:80" is already bound by listener[0]'),
        ("listener[3].bind", '"localhost:80" is already bound by listener[2]'),
    ]


def test_every_problem_is_collected_in_one_pass():
    text = """
    bogus = 1
    [server]
    workers = 0
    [server.timeouts]
    client_header = "10q"
    [[listener]]
    bind = "127.0.0.1:99999"
    [[listener]]
    [[route]]
    upstream = "apx"
    path_prefix = "x"
    [upstream.api]
    servers = ["127.0.0.1:9001", "127.0.0.1:99999"]
    balance = "p2c"
    hash = "ring"
    """
    assert problems(parse_toml(text.encode())) == [
        ("server.workers", "0 is out of range (1..1024)"),
        ("server.timeouts.client_header", '"10q" is not a duration (use e.g. "250ms", "10s", "1m")'),
        ("listener[0].bind", "port 99999 is out of range (0-65535)"),
        ("listener[1].bind", 'is required (e.g. bind = "127.0.0.1:8080")'),
        ("route[0].path_prefix", '"x" must start with "/"'),
        ("route[0].upstream", 'no upstream named "apx" (did you mean "api"?)'),
        ("upstream.api.servers[1]", "port 99999 is out of range (1-65535)"),
        ("upstream.api.hash", 'only applies with balance = "consistent_hash" or "ip_hash" (this upstream has balance = "p2c")'),
        ("bogus", "unknown key (known keys here: server, listener, route, upstream, log, admin, access_log)"),
    ]


def test_config_error_text_lists_one_problem_per_line():
    data = with_value(("server", "workers"), 0)
    data["listener"][0]["bind"] = "x"
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert str(info.value).splitlines() == [
        "server.workers: 0 is out of range (1..1024)",
        'listener[0].bind: "x" has no port (write "x:PORT")',
    ]


# -- accepted forms ----------------------------------------------------------


def test_accepted_forms_are_normalised():
    text = """
    [server]
    workers = "auto"
    drain_timeout = 0
    [server.timeouts]
    client_header = 2.5
    client_idle = "1m30s"
    [server.limits]
    max_header_bytes = 65536
    max_uri_bytes = "256"
    max_body_bytes = "0"
    [server.headers]
    trusted_proxies = ["192.168.1.7", "2001:db8::/32"]
    request_id = false
    hide_response_headers = []
    [[listener]]
    bind = "[0:0::1]:0"
    [[listener]]
    bind = "127.0.0.1:0"
    [[listener]]
    bind = "127.0.0.1:0"
    [[listener]]
    bind = "My-Host.Example:8080"
    [[route]]
    host = "API.Example.com"
    upstream = "a.b-c_d"
    [[route]]
    host = "*.Example.COM"
    path_prefix = "/static/"
    strip_prefix = true
    upstream = "a.b-c_d"
    [[route]]
    host = "[0::1]"
    upstream = "a.b-c_d"
    [[route]]
    host = "10.0.0.1"
    upstream = "a.b-c_d"
    [upstream."a.b-c_d"]
    servers = ["Backend_1.local:80", { address = "[2001:db8:0::1]:443", weight = 1000 }]
    [upstream."a.b-c_d".pool]
    max_idle = 0
    max_requests = 0
    [upstream.unused]
    servers = ["10.0.0.9:9"]
    """
    config = parse_config(parse_toml(text.encode()))
    server = config.server
    assert server.workers is None
    assert server.drain_timeout == 0.0
    assert server.timeouts.client_header == 2.5
    assert server.timeouts.client_idle == 90.0
    assert (server.limits.max_header_bytes, server.limits.max_uri_bytes, server.limits.max_body_bytes) == (
        65536,
        256,
        0,
    )
    assert server.headers.trusted_proxies == (
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert server.headers.request_id is False
    assert server.headers.hide_response_headers == ()
    # Port 0 (tests only) may repeat: each bind gets its own port.
    assert [(li.host, li.port) for li in config.listeners] == [
        ("::1", 0),
        ("127.0.0.1", 0),
        ("127.0.0.1", 0),
        ("my-host.example", 8080),
    ]
    assert config.listeners[0].address == "[::1]:0"
    assert [r.host for r in config.routes] == [("api.example.com",), ("*.example.com",), ("[::1]",), ("10.0.0.1",)]
    assert config.routes[1].strip_prefix is True and config.routes[1].path_prefix == "/static/"
    upstream = config.upstream("a.b-c_d")
    assert [(s.host, s.port, s.weight) for s in upstream.servers] == [
        ("backend_1.local", 80, 1),
        ("2001:db8::1", 443, 1000),
    ]
    assert upstream.servers[1].address == "[2001:db8::1]:443"
    assert (upstream.pool.max_idle, upstream.pool.max_requests) == (0, 0)
    assert [u.name for u in config.upstreams] == ["a.b-c_d", "unused"]  # unused upstreams are fine


def test_strip_prefix_false_without_path_prefix_is_fine():
    assert parse_config(with_value(("route", 0, "strip_prefix"), False)).routes[0].strip_prefix is False


# -- [admin], [access_log] -----------------------------------------------------


def test_admin_and_access_log_are_off_by_default():
    config = parse_config(BASE)
    assert config.admin is None and config.access_log is None


def test_admin_bind_on_loopback():
    admin = parse_config(dict(BASE, admin={"bind": "127.0.0.1:9901"})).admin
    assert (admin.host, admin.port, admin.allow_remote) == ("127.0.0.1", 9901, False)
    assert parse_config(dict(BASE, admin={"bind": "[::1]:9901"})).admin.host == "::1"
    assert parse_config(dict(BASE, admin={"bind": "localhost:9901"})).admin.host == "localhost"


def test_admin_remote_bind_needs_allow_remote():
    [(path, message)] = problems(dict(BASE, admin={"bind": "0.0.0.0:9901"}))
    assert path == "admin.bind"
    assert '"0.0.0.0:9901" is not a loopback address' in message and "allow_remote = true" in message
    admin = parse_config(dict(BASE, admin={"bind": "0.0.0.0:9901", "allow_remote": True})).admin
    assert (admin.host, admin.allow_remote) == ("0.0.0.0", True)


@pytest.mark.parametrize(
    ("section", "path", "fragment"),
    [
        ({"admin": {}}, "admin.bind", "is required"),
        ({"admin": {"bind": "127.0.0.1"}}, "admin.bind", "127.0.0.1"),
        ({"admin": {"bind": "127.0.0.1:1", "allow_remote": "yes"}}, "admin.allow_remote", "true or false"),
        ({"admin": {"bind": "127.0.0.1:1", "port": 2}}, "admin.port", "unknown key"),
        ({"admin": "127.0.0.1:1"}, "admin", "expected a table"),
        ({"access_log": {"format": "common"}}, "access_log.format", '"common" is not an access log format'),
        ({"access_log": {"path": ""}}, "access_log.path", "must not be empty"),
        ({"access_log": {"path": 3}}, "access_log.path", "expected a string"),
        ({"access_log": {"file": "x"}}, "access_log.file", "unknown key"),
    ],
)
def test_admin_and_access_log_problems(section, path, fragment):
    found = problems(dict(BASE, **section))
    assert [p for p, _ in found] == [path]
    assert fragment in found[0][1]


def test_access_log_paths(tmp_path):
    config = parse_config(dict(BASE, access_log={}))
    assert (config.access_log.path, config.access_log.format) == ("-", "json")
    source = str(tmp_path / "proxy.toml")
    config = parse_config(dict(BASE, access_log={"path": "logs/access.log", "format": "combined"}), source)
    assert config.access_log.path == str(tmp_path / "logs" / "access.log")
    assert config.access_log.format == "combined"
