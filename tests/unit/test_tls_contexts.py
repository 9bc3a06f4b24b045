"""fastproxy.tls: certificate names, SNI choice, reloads, upstream contexts, subjects."""

from __future__ import annotations

import logging
import os
import shutil
import ssl

import pytest

from fastproxy.config import Certificate, ListenerTLS, Server, Upstream, UpstreamTLS, parse_config
from fastproxy.errors import ConfigError
from fastproxy.tls import (
    ServerTLS,
    certificate_names,
    listener_tls,
    peer_subject,
    upstream_context,
    upstream_server_name,
)
from tests.integration.tlsfiles import Pki


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


def test_certificate_names_come_from_the_san_list(pki):
    cert = pki.issue("multi", "A.Example.com", "*.b.example.com", "127.0.0.1", common_name="ignored.example")
    assert certificate_names(cert.cert) == ("a.example.com", "*.b.example.com")


@pytest.fixture
def three(pki):
    """A default, an exact name and a wildcard."""
    return ListenerTLS(certificates=(
        pki.issue("default", "default.example"),
        pki.issue("exact", "a.example.com", "www.example.org"),
        pki.issue("wild", "*.example.com"),
    ))


def test_sni_chooses_exact_then_wildcard_then_default(three):
    tls = ServerTLS(three, "listener[0].tls")
    default, exact, wild = (item.context for item in tls.loaded)
    assert tls.choose(None) is default
    assert tls.choose("") is default
    assert tls.choose("a.example.com") is exact
    assert tls.choose("WWW.Example.ORG.") is exact
    assert tls.choose("b.example.com") is wild
    assert tls.choose("x.b.example.com") is default  # a wildcard covers one label only
    assert tls.choose("example.com") is default
    assert tls.choose("unknown.test") is default


def test_server_contexts_share_the_listener_settings(pki):
    spec = ListenerTLS(certificates=(pki.issue("s", "s.example"),), min_version="1.3", client_ca=pki.ca_file)
    tls = ServerTLS(spec, "listener[0].tls")
    for context in (tls.context, tls.loaded[0].context):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_3
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.options & ssl.OP_NO_COMPRESSION
    assert tls.context.sni_callback is not None


def test_a_certificate_that_does_not_load_is_a_config_problem(pki, tmp_path):
    good = pki.issue("good", "good.example")
    other = pki.issue("other", "other.example")
    spec = ListenerTLS(certificates=(
        good,
        Certificate(cert=str(tmp_path / "missing.pem"), key=good.key),
        Certificate(cert=good.cert, key=other.key),
    ))
    with pytest.raises(ConfigError) as info:
        ServerTLS(spec, "listener[2].tls")
    (key1, message1), (key2, message2) = info.value.problems
    assert key1 == "listener[2].tls.certificates[1]" and "No such file or directory" in message1
    assert key2 == "listener[2].tls.certificates[2]" and "cannot load" in message2


def _replace(src: Certificate, dst: Certificate) -> None:
    # Copy then rename, as certificate tools do: the inode changes even
    # when the size and the mtime (within its resolution) would not.
    for a, b in ((src.cert, dst.cert), (src.key, dst.key)):
        shutil.copyfile(a, b + ".new")
        os.replace(b + ".new", b)


def test_refresh_replaces_changed_certificates_and_keeps_a_bad_one(pki, caplog):
    first = pki.issue("site", "site.example")
    tls = ServerTLS(ListenerTLS(certificates=(first,)), "listener[0].tls")
    before = tls.choose("site.example")
    assert tls.refresh() == 0  # nothing changed
    _replace(pki.issue("renewed", "site.example", "new.example"), first)
    assert tls.refresh() == 1
    assert tls.choose("new.example") is not before
    assert tls.choose("new.example") is tls.choose("site.example")
    renewed = tls.choose(None)

    with open(first.cert, "w") as file:
        file.write("not a certificate\n")
    caplog.set_level(logging.ERROR, "fastproxy.tls")
    assert tls.refresh() == 0
    assert tls.choose(None) is renewed
    [record] = caplog.records
    assert "listener[0].tls.certificates[0]: cannot reload" in record.getMessage()
    assert "the certificate in service stays" in record.getMessage()
    assert tls.refresh() == 0
    assert len(caplog.records) == 1  # logged once per change, not at every check


def test_listener_tls_keeps_what_did_not_change(pki, tmp_path):
    site = pki.issue("site", "site.example")
    data = {
        "listener": [{"bind": "127.0.0.1:0", "tls": {"certificates": [{"cert": site.cert, "key": site.key}]}},
                     {"bind": "127.0.0.1:1"}],
        "route": [{"upstream": "u"}],
        "upstream": {"u": {"servers": ["127.0.0.1:9"]}},
    }
    first = listener_tls(parse_config(data))
    assert first[1] is None
    again = listener_tls(parse_config(data), first)
    assert again[0] is first[0]  # same settings: same contexts, same session keys
    data["listener"][0]["tls"]["min_version"] = "1.3"
    changed = listener_tls(parse_config(data), again)
    assert changed[0] is not first[0]
    assert changed[0].context.minimum_version == ssl.TLSVersion.TLSv1_3


def test_listener_tls_lends_a_certificate_that_fails_on_reload(pki, caplog):
    site = pki.issue("site", "site.example")
    extra = pki.issue("extra", "extra.example")
    one = {"certificates": [{"cert": site.cert, "key": site.key}]}
    two = {"certificates": [{"cert": site.cert, "key": site.key}, {"cert": extra.cert, "key": extra.key}]}

    def config(tls):
        return parse_config({"listener": [{"bind": "127.0.0.1:0", "tls": tls}], "route": [{"upstream": "u"}],
                             "upstream": {"u": {"servers": ["127.0.0.1:9"]}}})

    first = listener_tls(config(one))
    with open(site.key, "w") as file:
        file.write("garbage\n")
    caplog.set_level(logging.ERROR, "fastproxy.tls")
    second = listener_tls(config(two), first)
    assert second[0].loaded[0] is first[0].loaded[0]
    assert "listener[0].tls.certificates[0]" in caplog.text and "the certificate in service stays" in caplog.text
    with open(extra.key, "w") as file:
        file.write("garbage\n")
    with pytest.raises(ConfigError) as info:
        listener_tls(config({"min_version": "1.3", **two}), second)  # other settings: nothing to lend
    assert [key for key, _ in info.value.problems] == ["listener[0].tls.certificates[0]",
                                                       "listener[0].tls.certificates[1]"]


def _upstream(tls: UpstreamTLS, *servers: Server) -> Upstream:
    return Upstream(name="api", servers=servers or (Server("10.0.0.1", 443, scheme="https"),), tls=tls)


def test_upstream_context_verifies_by_default(pki):
    context = upstream_context(_upstream(UpstreamTLS(ca_file=pki.ca_file)))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.get_ca_certs()[0]["subject"] == context.get_ca_certs()[0]["issuer"]
    system = upstream_context(_upstream(UpstreamTLS()))
    assert system.verify_mode == ssl.CERT_REQUIRED and system.check_hostname
    assert upstream_context(Upstream(name="plain", servers=(Server("10.0.0.1", 80),))) is None


def test_upstream_context_opt_out_and_client_certificate(pki):
    client = pki.issue("client", "proxy.example")
    context = upstream_context(_upstream(UpstreamTLS(verify=False, cert=client.cert, key=client.key)))
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_upstream_context_problems_name_their_key(pki, tmp_path):
    with pytest.raises(ConfigError) as info:
        upstream_context(_upstream(UpstreamTLS(ca_file=str(tmp_path / "none.pem"))))
    assert info.value.problems[0][0] == "upstream.api.tls.ca_file"
    client = pki.issue("client", "proxy.example")
    with pytest.raises(ConfigError) as info:
        upstream_context(_upstream(UpstreamTLS(cert=client.cert, key=pki.ca_file)))
    assert info.value.problems[0][0] == "upstream.api.tls.cert"


def test_upstream_server_name():
    https, plain = Server("10.0.0.1", 443, scheme="https"), Server("10.0.0.2", 80)
    assert upstream_server_name(_upstream(UpstreamTLS(), https), https) == "10.0.0.1"
    assert upstream_server_name(_upstream(UpstreamTLS(server_name="api.internal"), https), https) == "api.internal"
    assert upstream_server_name(_upstream(UpstreamTLS(), https, plain), plain) is None


class _Transport:
    def __init__(self, cert):
        self.cert = cert

    def get_extra_info(self, name):
        assert name == "peercert"
        return self.cert


def test_peer_subject():
    cert = {"subject": ((("countryName", "FR"),), (("organizationName", "Example, Inc."),),
                        (("commonName", "alice"), ("userId", "42")))}
    assert peer_subject(_Transport(cert)) == r"CN=alice+UID=42,O=Example\, Inc.,C=FR"
    assert peer_subject(_Transport({})) is None
    assert peer_subject(_Transport(None)) is None


def test_subject_string_follows_rfc_4514():
    from fastproxy.tls import subject_string

    subject = ((("countryName", "SE"),), (("organizationName", "Ex, Inc"),),
               (("organizationalUnitName", "a"), ("commonName", "#x+y ")), (("emailAddress", "a@b"),),
               (("commonName", "Zoë"),))
    assert subject_string(subject) == ("CN=Zo\\C3\\AB,1.2.840.113549.1.9.1=a@b,OU=a+CN=\\#x\\+y\\ ,"
                                       "O=Ex\\, Inc,C=SE")


def test_tls_objects_read_and_write_through_the_c_methods(pki):
    # Over memory BIOs, as the event loops use them: a handshake, then
    # application data both ways through the direct read and write.
    spec = ListenerTLS(certificates=(pki.issue("s", "s.example"),))
    server_ctx = ServerTLS(spec, "listener[0].tls").context
    upstream = Upstream(name="u", servers=(Server("s.example", 443, scheme="https"),),
                        tls=UpstreamTLS(ca_file=pki.ca_file))
    client_ctx = upstream_context(upstream)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    server = server_ctx.wrap_bio(bios[0], bios[1], server_side=True)
    client = client_ctx.wrap_bio(bios[2], bios[3], server_hostname="s.example")
    assert type(server).read is not server.read  # the instance's own, not ssl.SSLObject's
    assert server.read.__self__ is server._sslobj and client.write.__self__ is client._sslobj

    def pump():
        bios[0].write(bios[3].read())
        bios[2].write(bios[1].read())

    for _ in range(10):  # bounded: a TLS 1.3 handshake takes two flights
        done = 0
        for side in (client, server):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        pump()
        if done == 2:
            break
    assert client.version() == server.version() == "TLSv1.3"
    assert client.write(b"GET / HTTP/1.1\r\n\r\n") == 18
    pump()
    buf = bytearray(64)
    assert server.read(64, buf) == 18 and bytes(buf[:18]) == b"GET / HTTP/1.1\r\n\r\n"
    server.write(b"ok")
    pump()
    assert client.read(64) == b"ok"
