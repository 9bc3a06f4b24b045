"""TLS listeners, in process, with real TLS clients: SNI, ALPN, versions,
resumption, client certificates and certificate reloads."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import ssl
import threading
import warnings

import pytest

import fastproxy.server
from fastproxy.config import parse_config
from tests.integration.conftest import ProxyThread
from tests.integration.origin import expected_sha256
from tests.integration.rawhttp import Client
from tests.integration.tlsfiles import Pki, names, serial


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


@pytest.fixture
def tls_proxy(start_proxy, origin):
    """``make(certificates, **tls)``: a proxy with one TLS listener in front of ``origin``."""
    def make(certificates, **tls) -> ProxyThread:
        tls["certificates"] = [{"cert": c.cert, "key": c.key} for c in certificates]
        config = parse_config({
            "listener": [{"bind": "127.0.0.1:0", "tls": tls}],
            "route": [{"upstream": "origin"}],
            "upstream": {"origin": {"servers": [f"127.0.0.1:{origin.port}"]}},
        })
        return start_proxy(config)

    return make


def connect(proxy: ProxyThread, context: ssl.SSLContext, server_name: str | None,
            session: ssl.SSLSession | None = None) -> Client:
    """A rawhttp Client over TLS; ``client.sock`` is the SSLSocket."""
    client = Client(proxy.address)
    client.sock = context.wrap_socket(client.sock, server_hostname=server_name, session=session)
    return client


def test_requests_over_tls(tls_proxy, pki, origin):
    proxy = tls_proxy([pki.issue("site", "site.example")])
    context = pki.client_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with connect(proxy, context, "site.example") as client:
        assert client.sock.selected_alpn_protocol() == "http/1.1"
        assert client.sock.version() == "TLSv1.3"
        for _ in range(3):  # keep-alive over one TLS connection
            response = client.request("GET", "/bytes/100000", host="site.example")
            assert response.status == 200 and len(response.body) == 100000
    with connect(proxy, pki.client_context(maximum=ssl.TLSVersion.TLSv1_2), "site.example") as client:
        assert client.sock.version() == "TLSv1.2"
        assert client.sock.cipher()[0].startswith("ECDHE-")
        assert client.request("GET", "/status/204", host="site.example").status == 204
    assert proxy.counters()["requests"] == 4


def test_large_bodies_over_tls_are_not_spliced(tls_proxy, pki, origin):
    # splice(2) would send the plaintext past the TLS layer.
    proxy = tls_proxy([pki.issue("site", "site.example")])
    n = 3 * 1024 * 1024 + 1
    with connect(proxy, pki.client_context(), "site.example") as client:
        response = client.request("GET", f"/bytes/{n}", host="site.example")
        assert hashlib.sha256(response.body).hexdigest() == expected_sha256(n)
    assert proxy.counters()["splices"] == 0


def test_sni_picks_the_certificate(tls_proxy, pki):
    proxy = tls_proxy([pki.issue("default", "default.example"), pki.issue("exact", "a.example.com"),
                       pki.issue("wild", "*.example.com")])
    cases = [(None, ["default.example"]), ("a.example.com", ["a.example.com"]),
             ("b.example.com", ["*.example.com"]), ("other.test", ["default.example"])]
    for server_name, expected in cases:
        context = pki.client_context()
        context.check_hostname = False  # the default certificate does not name what was asked
        with connect(proxy, context, server_name) as client:
            assert names(client.sock) == expected, server_name
            assert client.request("GET", "/echo", host=server_name or "x").status == 200


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"])
def test_sessions_resume(tls_proxy, pki, version):
    proxy = tls_proxy([pki.issue("site", "site.example"), pki.issue("other", "other.example")])
    context = pki.client_context(minimum=version, maximum=version)
    for name in ("site.example", "other.example"):
        with connect(proxy, context, name) as client:
            assert client.request("GET", "/echo", host=name).status == 200  # TLS 1.3 tickets come after
            session = client.sock.session
            assert not client.sock.session_reused
        with connect(proxy, context, name, session) as client:
            assert client.sock.session_reused, name
            assert names(client.sock) == [name]
            assert client.request("GET", "/echo", host=name).status == 200


def _version_refused(proxy: ProxyThread, context: ssl.SSLContext) -> bool:
    """True when the server ends the handshake: with a protocol-version
    alert, or (uvloop does not flush the alert) by closing."""
    with pytest.raises(ssl.SSLError) as info:
        connect(proxy, context, "site.example").close()
    message = str(info.value)
    return "alert protocol version" in message or "UNEXPECTED_EOF" in message


@pytest.mark.skipif(not ssl.HAS_TLSv1_1, reason="this OpenSSL cannot even offer TLS 1.1")
def test_tls11_is_refused_by_default(tls_proxy, pki):
    proxy = tls_proxy([pki.issue("site", "site.example")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = pki.client_context(minimum=ssl.TLSVersion.TLSv1_1, maximum=ssl.TLSVersion.TLSv1_1)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer it: the refusal must be the server's
    assert _version_refused(proxy, context)


def test_min_version_13_refuses_tls12(tls_proxy, pki):
    proxy = tls_proxy([pki.issue("site", "site.example")], min_version="1.3")
    assert _version_refused(proxy, pki.client_context(maximum=ssl.TLSVersion.TLSv1_2))
    with connect(proxy, pki.client_context(), "site.example") as client:
        assert client.request("GET", "/echo", host="site.example").status == 200


def _refused(client_factory) -> None:
    """A refused client certificate: the handshake fails, or (TLS 1.3, where
    the client finishes first) the first read finds the alert or the close."""
    try:
        client = client_factory()
    except (ssl.SSLError, ConnectionResetError):
        return
    with client:
        try:
            client.send(b"GET /echo HTTP/1.1\r\nHost: site.example\r\n\r\n")
            data = client.sock.recv(1024)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return
        assert data == b"", data


def test_client_certificates(tls_proxy, pki, tmp_path):
    clients = Pki(tmp_path / "clients", "clients-ca")
    stranger = Pki(tmp_path / "stranger", "stranger-ca")
    proxy = tls_proxy([pki.issue("site", "site.example")], client_ca=clients.ca_file)
    alice = clients.issue("alice", "alice.example", common_name="alice")
    with connect(proxy, pki.client_context(cert=alice), "site.example") as client:
        assert client.request("GET", "/echo", host="site.example").status == 200
    _refused(lambda: connect(proxy, pki.client_context(), "site.example"))
    mallory = stranger.issue("mallory", "mallory.example")
    _refused(lambda: connect(proxy, pki.client_context(cert=mallory), "site.example"))
    assert proxy.counters()["requests"] == 1


def _swap(src, dst) -> None:
    for a, b in ((src.cert, dst.cert), (src.key, dst.key)):
        shutil.copyfile(a, b + ".new")
        os.replace(b + ".new", b)


class _Lines(logging.Handler):
    """Sets an event when a log line containing ``text`` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def test_certificates_reload_when_their_files_change(tls_proxy, pki, monkeypatch, caplog):
    monkeypatch.setattr(fastproxy.server, "TLS_CHECK_INTERVAL", 0.02)
    caplog.set_level(logging.INFO, "fastproxy.tls")
    site = pki.issue("site", "site.example")
    proxy = tls_proxy([site])
    context = pki.client_context()
    with connect(proxy, context, "site.example") as client:
        before = serial(client.sock)
    logger = logging.getLogger("fastproxy.tls")
    for text, replacement in (("reloaded", pki.issue("renewed", "site.example")), ("cannot reload", None)):
        watch = _Lines(text)
        logger.addHandler(watch)
        try:
            if replacement is not None:
                _swap(replacement, site)
            else:
                with open(site.key + ".new", "w") as file:
                    file.write("not a key\n")
                os.replace(site.key + ".new", site.key)
            assert watch.seen.wait(5), f"no {text!r} log line"
        finally:
            logger.removeHandler(watch)
        with connect(proxy, context, "site.example") as client:
            now = serial(client.sock)
            assert client.request("GET", "/echo", host="site.example").status == 200
        if replacement is not None:
            assert now != before
            renewed = now
        else:
            assert now == renewed  # the bad file left the renewed certificate in service


def test_a_plain_http_client_on_a_tls_port_is_closed(tls_proxy, pki):
    proxy = tls_proxy([pki.issue("site", "site.example")])
    with socket.create_connection(proxy.address, timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        while sock.recv(4096):  # an alert perhaps, then the close
            pass
    with connect(proxy, pki.client_context(), "site.example") as client:
        assert client.request("GET", "/echo", host="site.example").status == 200


def test_requests_over_tls_say_https_upstream(tls_proxy, pki, origin):
    proxy = tls_proxy([pki.issue("site", "site.example")])
    with connect(proxy, pki.client_context(), "site.example") as client:
        echo = json.loads(client.request("GET", "/echo", host="site.example").body)
    headers = {name.lower(): value for name, value in echo["headers"]}
    assert headers["x-forwarded-proto"] == "https"
    assert headers["forwarded"].endswith(";proto=https")
