"""Proxy.drain, the graceful stop of one worker, in process."""

from __future__ import annotations

import asyncio
import socket

import pytest

from fastproxy.config import parse_config
from tests.integration.conftest import ProxyThread
from tests.integration.rawhttp import Client, Closed
from tests.integration.tlsfiles import Pki


def start_drain(proxy, timeout: float):
    """Starts proxy.drain(timeout) on the proxy's loop; returns its concurrent future
    once the drain has begun (the listeners are closed by then)."""
    future = asyncio.run_coroutine_threadsafe(proxy.proxy.drain(timeout), proxy.loop)
    proxy.call(lambda: None)  # queued behind the drain's first step
    return future


def test_drain_finishes_the_request_in_flight(proxy, origin):
    client = proxy.client()
    client.send(b"GET /gate/g HTTP/1.1\r\nHost: a\r\n\r\n")
    assert origin.gate_reached("g").wait(5)
    drained = start_drain(proxy, 10)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(proxy.address, timeout=5).close()
    origin.release("g")
    response = client.read_response()
    assert response.status == 200
    assert response.body == b"gate g part 1\ngate g part 2\n"
    client.close()
    assert drained.result(5) is True
    assert proxy.open_connections() == (0, 0)


def test_a_request_that_starts_while_draining_is_answered_with_close(proxy, origin):
    with proxy.client() as first, proxy.client() as fresh:
        assert first.request("GET", "/echo").status == 200
        first.send(b"GET /gate/h HTTP/1.1\r\nHost: a\r\n\r\n")
        assert origin.gate_reached("h").wait(5)
        drained = start_drain(proxy, 10)
        # A connection accepted before the drain, whose first request comes
        # after it, is served: the client had no way to know.
        response = fresh.request("GET", "/echo")
        assert response.status == 200 and response.closes
        origin.release("h")
        assert first.read_response().status == 200
    assert drained.result(5) is True


def test_drain_cuts_what_outlives_its_timeout(proxy, origin):
    with proxy.client() as client:
        client.send(b"GET /hang HTTP/1.1\r\nHost: a\r\n\r\n")
        origin.wait_for_heads(1)
        assert start_drain(proxy, 0.1).result(5) is False
        with pytest.raises(Closed):
            client.read_response()


def test_idle_keep_alive_connections_close_at_once(proxy):
    with proxy.client() as idle:
        assert idle.request("GET", "/echo").status == 200
        drained = start_drain(proxy, 10)
        idle.sock.settimeout(1)
        try:
            data = idle.sock.recv(1)
        except TimeoutError:
            raise AssertionError("the idle connection was still open 1s into the drain") from None
        assert data == b""
        assert drained.result(5) is True


def test_a_connection_in_its_tls_handshake_is_waited_for(parser_impl, origin, tmp_path):
    pki = Pki(tmp_path / "pki")
    site = pki.issue("site", "site.example")
    config = parse_config({
        "listener": [{"bind": "127.0.0.1:0", "tls": {"certificates": [{"cert": site.cert, "key": site.key}]}}],
        "route": [{"upstream": "origin"}],
        "upstream": {"origin": {"servers": [f"127.0.0.1:{origin.port}"]}},
    })
    proxy = ProxyThread(config, parser_impl)
    try:
        sock = socket.create_connection(proxy.address, timeout=10)
        # Accepted (the factory has made its protocol), no handshake yet.
        proxy.wait_until(lambda: proxy.call(lambda: sum(len(f.handshaking) for f in proxy.proxy._tls_factories)),
                         what="an accepted TLS connection")
        drained = start_drain(proxy, 10)
        assert not proxy.call(lambda: proxy.proxy._closed)  # the drain waits for the handshake
        client = Client.__new__(Client)
        client.sock = pki.client_context().wrap_socket(sock, server_hostname="site.example")
        client.buf = bytearray()
        with client:
            response = client.request("GET", "/echo", host="site.example")
        assert response.status == 200 and response.closes
        assert drained.result(5) is True
    finally:
        proxy.stop()
