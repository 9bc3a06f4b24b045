"""Per-request accounting (accounting.py) on real sockets, in process: each
way an exchange ends is counted once, in the right route, server and status
class, with its bytes, and the connection gauges come back to rest."""

from __future__ import annotations

import socket

from fastproxy.config import parse_config
from fastproxy.metrics import worker_snapshot
from tests.integration.conftest import ProxyThread
from tests.integration.rawhttp import Client
from tests.integration.tlsfiles import Pki


def snapshot(p) -> dict:
    return p.call(worker_snapshot, p.proxy.ctx, p.config)


def codes(snap: dict, route: str) -> dict[str, int]:
    labels = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")
    return {k: v for k, v in zip(labels, snap["routes"][route]["codes"]) if v}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_each_ending_is_counted_once(proxy_factory, origin):
    dead = f"127.0.0.1:{closed_port()}"
    p = proxy_factory({"main": [origin], "dead": [dead]},
                      routes=[{"path_prefix": "/dead/", "upstream": "dead"}, {"path_prefix": "/", "host": "a",
                                                                               "upstream": "main"}])
    with p.client() as client:
        for path in ("/echo", "/status/302", "/status/404", "/status/503"):
            assert client.request("GET", path, headers={"Host": "a"}).status == int(path[8:] or 200)
        snap = snapshot(p)
        assert snap["gauges"] == {"connections_active": 1, "in_flight": 0}  # an idle keep-alive connection
    with p.client() as client:
        assert client.request("GET", "/dead/x", headers={"Host": "a"}).status == 502
    with p.client() as client:
        assert client.request("GET", "/x", headers={"Host": "other"}).status == 404
    with p.client() as client:
        client.send(b"GET /bad path HTTP/1.1\r\n\r\n")
        assert client.read_response().status == 400
    p.wait_until(lambda: snapshot(p)["gauges"]["connections_active"] == 0, what="connections closed")
    snap = snapshot(p)
    assert codes(snap, "1") == {"2xx": 1, "3xx": 1, "4xx": 1, "5xx": 1}
    assert codes(snap, "0") == {"5xx": 1}
    assert codes(snap, "none") == {"4xx": 2}  # no route, and a head that did not parse
    server = f"127.0.0.1:{origin.port}"
    assert snap["servers"]["main"][server]["codes"] == [0, 0, 1, 1, 1, 1]
    assert snap["servers"]["dead"][dead]["codes"] == [0, 0, 0, 0, 0, 1]  # the connect failure, on its server
    assert sum(snap["routes"]["1"]["latency"]) == 4 and snap["routes"]["1"]["latency_sum"] > 0
    assert snap["gauges"] == {"connections_active": 0, "in_flight": 0}


def test_bytes_in_and_out(proxy_factory, origin):
    p = proxy_factory({"main": [origin]})
    request = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    with p.client() as client:
        client.send(request)
        assert client.read_response().status == 200
        client.send(b"GET /bytes/100000 HTTP/1.1\r\nHost: a\r\n\r\n")
        assert len(client.read_response().body) == 100000
    p.wait_until(lambda: snapshot(p)["gauges"]["connections_active"] == 0, what="connections closed")
    totals = snapshot(p)["totals"]
    assert totals["bytes_in"] == len(request) + len(b"GET /bytes/100000 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert 100000 < totals["bytes_out"] < 102000  # the bodies and the origin's heads


def test_a_client_that_goes_away_is_counted_without_status(proxy_factory, origin):
    p = proxy_factory({"main": [origin]})
    client = p.client()
    client.send(b"GET /gate/left HTTP/1.1\r\nHost: a\r\n\r\n")
    assert origin.gate_reached("left").wait(10)
    client.close()
    p.wait_until(lambda: snapshot(p)["gauges"]["in_flight"] == 0, what="the exchange ended")
    origin.release("left")
    snap = snapshot(p)
    # The head had gone out: the client saw a 200, however incomplete.
    assert codes(snap, "0") == {"2xx": 1}
    with p.client() as client:
        client.send(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
        origin.wait_for_requests(2)
    p.wait_until(lambda: snapshot(p)["gauges"]["in_flight"] == 0, what="the exchange ended")
    assert codes(snapshot(p), "0") == {"none": 1, "2xx": 1}  # no response had started


def test_counts_do_not_depend_on_fragmentation(proxy_factory, origin):
    p = proxy_factory({"main": [origin]})
    request = b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n"
    with p.client() as client:
        for byte in request:
            client.send(bytes([byte]))
        assert client.read_response().status == 200
    p.wait_until(lambda: snapshot(p)["gauges"]["connections_active"] == 0, what="connections closed")
    snap = snapshot(p)
    assert codes(snap, "0") == {"2xx": 1}
    assert snap["totals"]["bytes_in"] == len(request)


def test_tls_handshakes_are_counted(parser_impl, origin, tmp_path):
    pki = Pki(tmp_path / "pki")
    cert = pki.issue("site", "site.example")
    config = parse_config({
        "listener": [{"bind": "127.0.0.1:0", "tls": {"certificates": [{"cert": cert.cert, "key": cert.key}]}},
                     {"bind": "127.0.0.1:0"}],
        "route": [{"upstream": "origin"}],
        "upstream": {"origin": {"servers": [f"127.0.0.1:{origin.port}"]}},
    })
    p = ProxyThread(config, parser_impl)
    try:
        for _ in range(2):
            client = Client(p.proxy.addresses[0])
            client.sock = pki.client_context().wrap_socket(client.sock, server_hostname="site.example")
            with client:
                assert client.request("GET", "/echo", host="site.example").status == 200
        with Client(p.proxy.addresses[1]) as client:  # plain: no handshake
            assert client.request("GET", "/echo").status == 200
        p.wait_until(lambda: snapshot(p)["gauges"]["connections_active"] == 0, what="connections closed")
        snap = snapshot(p)
        assert snap["totals"]["tls_handshakes"] == 2
        assert snap["routes"]["0"]["codes"][2] == 3
    finally:
        p.stop()
