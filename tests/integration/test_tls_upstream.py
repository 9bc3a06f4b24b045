"""TLS to upstreams (https:// servers), in process, against a real HTTPS origin:
verification on by default, SNI and hostname checks, the explicit opt-out,
client certificates."""

from __future__ import annotations

import hashlib
import json
import ssl

import pytest

from fastproxy.config import parse_config
from fastproxy.server import check_config
from tests.integration.conftest import ProxyThread
from tests.integration.origin import expected_sha256
from tests.integration.tls_origin import TlsOrigin
from tests.integration.tlsfiles import Pki


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


@pytest.fixture
def https_origin(pki):
    """``make(cert, client_ca=None)``: an HTTPS origin showing ``cert``."""
    made: list[TlsOrigin] = []

    def make(cert, client_ca: str | None = None) -> TlsOrigin:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert, cert.key)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        origin = TlsOrigin(context)
        made.append(origin)
        return origin

    yield make
    for origin in made:
        origin.close()


@pytest.fixture
def proxy_to(parser_impl, start_proxy):
    """``make(origin, **tls)``: a proxy whose one upstream is https://127.0.0.1:PORT."""
    def make(origin: TlsOrigin, **tls) -> ProxyThread:
        upstream = {"servers": [f"https://127.0.0.1:{origin.port}"]}
        if tls:
            upstream["tls"] = tls
        config = parse_config({"listener": [{"bind": "127.0.0.1:0"}], "route": [{"upstream": "secure"}],
                               "upstream": {"secure": upstream}})
        check_config(config, parser_impl)  # before a thread exists: the refusal, for now
        return start_proxy(config)

    return make


def get(proxy: ProxyThread, path: str = "/x"):
    with proxy.client() as client:
        return client.request("GET", path, host="site.example")


def test_a_trusted_certificate_is_accepted(pki, https_origin, proxy_to):
    origin = https_origin(pki.issue("origin", "origin.test"))
    proxy = proxy_to(origin, ca_file=pki.ca_file, server_name="origin.test")
    response = get(proxy, "/first")
    assert response.status == 200
    assert json.loads(response.body) == {"path": "/first", "host": "site.example", "sni": "origin.test",
                                         "client": None}
    assert get(proxy, "/second").status == 200
    assert origin.handshakes == 1  # the TLS connection was kept and reused


def test_large_bodies_from_an_https_upstream_are_not_spliced(pki, https_origin, proxy_to):
    # splice(2) would hand the client TLS records instead of the body.
    origin = https_origin(pki.issue("origin", "origin.test"))
    proxy = proxy_to(origin, ca_file=pki.ca_file, server_name="origin.test")
    n = 3 * 1024 * 1024 + 1
    response = get(proxy, f"/bytes/{n}")
    assert hashlib.sha256(response.body).hexdigest() == expected_sha256(n)
    assert proxy.counters()["splices"] == 0


def test_the_name_checked_defaults_to_the_servers_host(pki, https_origin, proxy_to):
    origin = https_origin(pki.issue("origin", "127.0.0.1"))
    proxy = proxy_to(origin, ca_file=pki.ca_file)
    response = get(proxy)
    assert response.status == 200
    assert json.loads(response.body)["sni"] is None  # no SNI for an IP address


@pytest.mark.parametrize("problem", ["expired", "wrong host", "unknown authority"])
def test_a_bad_certificate_is_a_502(pki, tmp_path, https_origin, proxy_to, problem):
    if problem == "expired":
        cert = pki.issue("origin", "origin.test", expired=True)
    elif problem == "wrong host":
        cert = pki.issue("origin", "elsewhere.test")
    else:
        cert = Pki(tmp_path / "other", "other-ca").issue("origin", "origin.test")
    origin = https_origin(cert)
    proxy = proxy_to(origin, ca_file=pki.ca_file, server_name="origin.test")
    response = get(proxy)
    assert response.status == 502
    assert proxy.counters()["upstream_connect_failures"] == 1


def test_verification_can_be_turned_off_explicitly(tmp_path, https_origin, proxy_to):
    stranger = Pki(tmp_path / "stranger", "stranger-ca")
    origin = https_origin(stranger.issue("origin", "anything.test", expired=True))
    proxy = proxy_to(origin, verify=False)
    assert get(proxy).status == 200


def test_client_certificate_to_the_upstream(pki, tmp_path, https_origin, proxy_to):
    clients = Pki(tmp_path / "clients", "clients-ca")
    origin = https_origin(pki.issue("origin", "origin.test"), client_ca=clients.ca_file)
    card = clients.issue("proxy", "proxy.test", common_name="the-proxy")
    proxy = proxy_to(origin, ca_file=pki.ca_file, server_name="origin.test", cert=card.cert, key=card.key)
    response = get(proxy)
    assert response.status == 200 and json.loads(response.body)["client"] == "the-proxy"
    anonymous = proxy_to(origin, ca_file=pki.ca_file, server_name="origin.test")
    assert get(anonymous).status == 502
