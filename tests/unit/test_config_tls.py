"""The TLS tables of fastproxy.config: [listener.tls], https:// servers, [upstream.NAME.tls]."""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path

import pytest

from fastproxy.config import Certificate, ListenerTLS, UpstreamTLS, load_config, parse_config, parse_toml
from fastproxy.config.tls import split_scheme
from fastproxy.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "fastproxy" / "examples" / "basic.toml"

BASE = {
    "listener": [{"bind": "127.0.0.1:8443",
                  "tls": {"certificates": [{"cert": "/etc/site.pem", "key": "/etc/site.key"}]}}],
    "route": [{"upstream": "api"}],
    "upstream": {"api": {"servers": ["https://127.0.0.1:9001"]}},
}


def edited(edit) -> dict:
    data = copy.deepcopy(BASE)
    edit(data)
    return data


def problems(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.problems


def test_listener_tls_defaults():
    config = parse_config(copy.deepcopy(BASE))
    assert config.listeners[0].tls == ListenerTLS(
        certificates=(Certificate(cert="/etc/site.pem", key="/etc/site.key"),), min_version="1.2", client_ca=None)
    assert parse_config({**BASE, "listener": [{"bind": "127.0.0.1:8080"}]}).listeners[0].tls is None


def test_relative_files_are_taken_from_the_config_files_directory(tmp_path):
    path = tmp_path / "conf" / "proxy.toml"
    path.parent.mkdir()
    path.write_text("""
[[listener]]
bind = "127.0.0.1:8443"
[listener.tls]
client_ca = "ca/clients.pem"
[[listener.tls.certificates]]
cert = "site.pem"
key = "../keys/site.key"
[[route]]
upstream = "api"
[upstream.api]
servers = ["https://api.internal"]
[upstream.api.tls]
ca_file = "internal.pem"
""")
    config = load_config(path)
    tls = config.listeners[0].tls
    assert tls.certificates[0] == Certificate(cert=str(tmp_path / "conf" / "site.pem"),
                                              key=str(tmp_path / "keys" / "site.key"))
    assert tls.client_ca == str(tmp_path / "conf" / "ca" / "clients.pem")
    assert config.upstream("api").tls.ca_file == str(tmp_path / "conf" / "internal.pem")


def test_relative_files_without_a_file_source_use_the_current_directory():
    data = edited(lambda d: d["listener"][0]["tls"]["certificates"][0].update(cert="site.pem"))
    assert parse_config(data).listeners[0].tls.certificates[0].cert == os.path.join(os.getcwd(), "site.pem")


def test_servers_with_a_scheme():
    data = edited(lambda d: d["upstream"]["api"].update(servers=[
        "https://a.internal", "http://b.internal", "c.internal:8080", "HTTPS://[::1]:8443",
        {"address": "https://d.internal:444", "weight": 2}]))
    api = parse_config(data).upstream("api")
    assert [(s.scheme, s.host, s.port, s.weight) for s in api.servers] == [
        ("https", "a.internal", 443, 1), ("http", "b.internal", 80, 1), ("http", "c.internal", 8080, 1),
        ("https", "::1", 8443, 1), ("https", "d.internal", 444, 2)]
    assert api.servers[0].url == "https://a.internal:443"
    assert api.tls == UpstreamTLS()  # https servers get the safe defaults without a [tls] table


def test_plain_upstreams_have_no_tls():
    data = edited(lambda d: d["upstream"]["api"].update(servers=["127.0.0.1:9001"]))
    assert parse_config(data).upstream("api").tls is None


@pytest.mark.parametrize("text, message", [
    ("ftp://a:21", '"ftp://a:21": the scheme must be "http" or "https"'),
    ("https://a:1/x", '"https://a:1/x": a server is an address, without a path'),
])
def test_split_scheme_refuses(text, message):
    with pytest.raises(ValueError) as info:
        split_scheme(text)
    assert str(info.value) == message


def test_upstream_tls_table():
    data = edited(lambda d: d["upstream"]["api"].update(tls={
        "ca_file": "/etc/ca.pem", "server_name": "API.Internal", "cert": "/etc/c.pem", "key": "/etc/c.key"}))
    assert parse_config(data).upstream("api").tls == UpstreamTLS(
        ca_file="/etc/ca.pem", verify=True, server_name="api.internal", cert="/etc/c.pem", key="/etc/c.key")
    data = edited(lambda d: d["upstream"]["api"].update(tls={"verify": False, "server_name": "10.0.0.1"}))
    assert parse_config(data).upstream("api").tls == UpstreamTLS(verify=False, server_name="10.0.0.1")


NEED_CERTIFICATE = ('at least one certificate is required (e.g. [[listener.tls.certificates]] cert = "site.pem" '
                    'and key = "site.key")')

# fmt: off
CASES = [
    (lambda d: d["listener"][0].update(tls=True), "listener[0].tls", "expected a table ([listener[0].tls]), got true"),
    (lambda d: d["listener"][0]["tls"].update(min_version="1.1"), "listener[0].tls.min_version",
     'TLS 1.1 is obsolete (RFC 8996) and never offered; use "1.2", "1.3"'),
    (lambda d: d["listener"][0]["tls"].update(min_version="TLSv1.2"), "listener[0].tls.min_version",
     '"TLSv1.2" is not a TLS version (use "1.2", "1.3")'),
    (lambda d: d["listener"][0]["tls"].update(certificates=[]), "listener[0].tls.certificates",
     NEED_CERTIFICATE),
    (lambda d: d["listener"][0]["tls"].pop("certificates"), "listener[0].tls.certificates",
     NEED_CERTIFICATE),
    (lambda d: d["listener"][0]["tls"].update(certificates="site.pem"), "listener[0].tls.certificates",
     'expected an array of tables, got "site.pem"'),
    (lambda d: d["listener"][0]["tls"].update(certificates=["site.pem"]), "listener[0].tls.certificates[0]",
     'expected a table with cert and key, got "site.pem"'),
    (lambda d: d["listener"][0]["tls"]["certificates"][0].pop("key"), "listener[0].tls.certificates[0].key",
     "is required (a file name)"),
    (lambda d: d["listener"][0]["tls"]["certificates"][0].update(cert=""), "listener[0].tls.certificates[0].cert",
     "is empty (a file name)"),
    (lambda d: d["listener"][0]["tls"]["certificates"][0].update(chain="x"),
     "listener[0].tls.certificates[0].chain", "unknown key (known keys here: cert, key)"),
    (lambda d: d["listener"][0]["tls"].update(clientca=1), "listener[0].tls.clientca",
     'unknown key (did you mean "client_ca"?)'),
    (lambda d: d["upstream"]["api"].update(servers=["127.0.0.1:9001"], tls={}), "upstream.api.tls",
     'applies to https:// servers only (write servers as "https://host:port")'),
    (lambda d: d["upstream"]["api"].update(tls={"verify": "no"}), "upstream.api.tls.verify",
     'expected true or false, got "no"'),
    (lambda d: d["upstream"]["api"].update(tls={"verify": False, "ca_file": "ca.pem"}), "upstream.api.tls.ca_file",
     "is unused with verify = false (remove one of them)"),
    (lambda d: d["upstream"]["api"].update(tls={"cert": "c.pem"}), "upstream.api.tls.key",
     "is required with cert (a client certificate needs both files)"),
    (lambda d: d["upstream"]["api"].update(tls={"key": "c.key"}), "upstream.api.tls.cert",
     "is required with key (a client certificate needs both files)"),
    (lambda d: d["upstream"]["api"].update(tls={"server_name": "bad name"}), "upstream.api.tls.server_name",
     '"bad name" is not a valid host name (" " is not allowed)'),
    (lambda d: d["upstream"]["api"].update(servers=["gopher://a:70"]), "upstream.api.servers[0]",
     '"gopher://a:70": the scheme must be "http" or "https"'),
]
# fmt: on


@pytest.mark.parametrize("edit, key, message", CASES)
def test_problems(edit, key, message):
    assert (key, message) in problems(edited(edit))


def test_the_example_uses_every_tls_key():
    raw = parse_toml(EXAMPLE.read_bytes())
    tls_listeners = [listener["tls"] for listener in raw["listener"] if "tls" in listener]
    assert tls_listeners, "the example has no TLS listener"
    keys = set().union(*(set(t) for t in tls_listeners))
    assert keys == {f.name for f in dataclasses.fields(ListenerTLS)}
    cert_keys = set().union(*(set(c) for t in tls_listeners for c in t["certificates"]))
    assert cert_keys == {f.name for f in dataclasses.fields(Certificate)}
    upstream_keys = set().union(*(set(up.get("tls", {})) for up in raw["upstream"].values()))
    assert upstream_keys == {f.name for f in dataclasses.fields(UpstreamTLS)}
    config = load_config(EXAMPLE)
    assert len(config.listeners[1].tls.certificates) == 2
    assert config.upstream("web").servers[0].scheme == "https"
