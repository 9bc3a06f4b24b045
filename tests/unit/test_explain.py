"""``fastproxy explain`` (fastproxy.explain through fastproxy.cli.main): the route
and why, the head the upstream sees or the proxy's own answer, each policy's pick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fastproxy.cli import main
from fastproxy.explain import ExplainError, build_request

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
[[listener]]
bind = "127.0.0.1:8080"

[[route]]
host = "api.example.com"
path_prefix = "/api/"
strip_prefix = true
upstream = "api"
request_headers = { set = { "X-Env" = "prod" }, remove = ["X-Debug"] }
hsts = true

[[route]]
methods = ["POST"]
headers = { "X-Debug" = "1" }
respond = { status = 403, body = "no debugging here" }

[[route]]
query = { legacy = true }
redirect = { to = "https", status = 301 }

[[route]]
client_cn = "alice"
path_regex = "^/admin/(.*)$"
rewrite_path = "/internal/$1"
upstream = "api"

[[route]]
upstream = "api"

[upstream.api]
servers = ["127.0.0.1:9001", "127.0.0.1:9002", { address = "127.0.0.1:9003", weight = 2 }]
balance = "consistent_hash"
hash_key = "header:X-User"

[[listener]]
bind = "127.0.0.1:8443"
[listener.tls]
client_ca = "ca.pem"
client_subject_header = "X-Client-DN"
[[listener.tls.certificates]]
cert = "a.pem"
key = "a.key"
"""


@pytest.fixture
def config_path(tmp_path) -> str:
    path = tmp_path / "proxy.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return str(path)


def _explain(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_forward_shows_the_route_the_upstream_head_and_every_policy(capsys, config_path):
    code, out, err = _explain(capsys, "-c", config_path, "GET https://api.example.com/api/users?x=1",
                              "-H", "X-User: 42", "-H", "X-Debug: 1", "--client-ip", "10.1.2.3")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "request: GET /api/users?x=1 (Host 'api.example.com', TLS, client 10.1.2.3)"
    assert "  route[0] host api.example.com, path_prefix /api/ -> upstream api" in lines
    assert lines[lines.index("  route[0] host api.example.com, path_prefix /api/ -> upstream api") + 1] == "    MATCH"
    head = lines[lines.index("    GET /users?x=1 HTTP/1.1"):]
    assert "    Host: api.example.com" in head and "    X-Env: prod" in head
    assert "    X-Forwarded-For: 10.1.2.3" in head and "    X-Forwarded-Proto: https" in head
    assert not [line for line in head if line.startswith("    X-Debug")]
    assert "    Strict-Transport-Security: max-age=31536000" in lines
    picks = lines[lines.index("server each policy would pick (of 127.0.0.1:9001, 127.0.0.1:9002, 127.0.0.1:9003):")
                  + 1:]
    labels = [line.split("  ")[1].strip() for line in picks]
    assert labels[0] == "consistent_hash ring (hash_key header:X-User) (the upstream's own)"
    assert set(labels[1:]) == {"round_robin", "weighted_round_robin", "random", "least_conn", "p2c", "ip_hash",
                               "consistent_hash maglev (hash_key header:X-User)",
                               "consistent_hash jump (hash_key header:X-User)"}
    assert all(line.rsplit(" ", 1)[1] in ("127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003") for line in picks)
    # The head goes to the server the upstream's own policy picks.
    own = picks[0].rsplit(" ", 1)[1]
    assert f"forwarded to upstream 'api', as (to http://{own}):" in lines


def test_a_hash_pick_is_the_same_every_time(capsys, config_path):
    outputs = {_explain(capsys, "-c", config_path, "http://x.example/", "-H", "X-User: 7")[1]
               .split("server each policy")[1].splitlines()[1] for _ in range(3)}
    assert len(outputs) == 1


def test_direct_response_and_why_earlier_routes_did_not_match(capsys, config_path):
    code, out, _ = _explain(capsys, "-c", config_path, "POST http://api.example.com/other", "-H", "X-Debug: 1")
    assert code == 0
    assert "    no: path '/other' is not under /api/" in out
    assert "the route answers itself (nothing goes upstream):" in out
    assert "    HTTP/1.1 403 Forbidden\n" in out and "    no debugging here\n" in out


def test_redirect_and_failed_conditions(capsys, config_path):
    _, out, _ = _explain(capsys, "-c", config_path, "GET http://www.example.com:8080/a?legacy")
    assert "    no: host 'www.example.com' is not api.example.com" in out
    assert "    no: method GET is not POST" in out
    assert "    Location: https://www.example.com/a?legacy" in out
    _, out, _ = _explain(capsys, "-c", config_path, "POST http://www.example.com/", "-H", "X-Debug: 2")
    assert "    no: header X-Debug: none is '1'" in out
    assert "    no: query argument legacy: missing" in out


def test_client_certificate_routes(capsys, config_path):
    _, out, _ = _explain(capsys, "-c", config_path, "GET http://h/admin/x")
    assert "    no: client certificate common name none is not alice" in out
    _, out, _ = _explain(capsys, "-c", config_path, "GET http://h/admin/x", "--client-subject", "CN=bob,O=Ex")
    assert "    no: client certificate common name 'bob' is not alice" in out
    _, out, _ = _explain(capsys, "-c", config_path, "GET http://h/admin/x?y", "--client-subject", "CN=alice,O=Ex")
    assert "    GET /internal/x?y HTTP/1.1" in out
    assert "    X-Client-DN: CN=alice,O=Ex" in out


def test_no_route_says_404(capsys, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(CONFIG.replace('[[route]]\nupstream = "api"\n', ""), encoding="utf-8")
    code, out, _ = _explain(capsys, "-c", str(path), "GET http://h/")
    assert code == 0 and out.endswith("no route matches: the proxy answers 404 (no route for this host and path)\n")


@pytest.mark.parametrize("request_line, headers, message", [
    ("GET http://h/ extra", [], "'GET http://h/ extra': expected 'METHOD URL', e.g. 'GET http://example.com/path?q'"),
    ("GET ftp://h/", [], "'ftp://h/': the path must start with '/'"),
    ("GET http://h/", ["NoColon"], "'NoColon' is not a header line 'Name: value'"),
    ("G@T http://h/", [], "the proxy would answer 400: invalid method"),
])
def test_bad_requests_exit_2(capsys, config_path, request_line, headers, message):
    argv = ["-c", config_path, request_line]
    for header in headers:
        argv += ["-H", header]
    code, out, err = _explain(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == f"fastproxy explain: {message}\n"


def test_build_request():
    assert build_request("http://h:1/p?q", ["X-A: 1"]) == (b"GET /p?q HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\n\r\n", False)
    assert build_request("PUT https://h/", ["host: other"]) == (b"PUT / HTTP/1.1\r\nhost: other\r\n\r\n", True)
    with pytest.raises(ExplainError):
        build_request("GET http://h/€", [])


def test_explain_as_a_command(config_path):
    done = subprocess.run([sys.executable, "-m", "fastproxy", "explain", "-c", config_path, "GET http://h/"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "  route[4] any request -> upstream api\n    MATCH\n" in done.stdout


def test_a_client_subject_must_be_ascii(capsys, config_path):
    code, _, err = _explain(capsys, "-c", config_path, "GET http://h/", "--client-subject", "CN=Zoë")
    assert code == 2
    assert err == "fastproxy explain: write the client subject as RFC 4514 in ASCII (other characters as \\XX escapes)\n"


def test_scheme_mismatch_is_explained(capsys, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(CONFIG.replace('[[route]]\nupstream = "api"\n', '[[route]]\nredirect = "https"\n'),
                    encoding="utf-8")
    _, out, _ = _explain(capsys, "-c", str(path), "GET https://h/")
    assert "  route[4] scheme http -> redirect 308 to https://{host}{uri}\n" in out
    assert "    no: the request came over TLS, not http\n" in out
