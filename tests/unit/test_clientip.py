"""Trusted proxies: which address is the client."""

import ipaddress

import pytest

from fastproxy.clientip import TrustedProxies, parse_ip


@pytest.mark.parametrize("text, ip", [
    ("1.2.3.4", "1.2.3.4"), (" 1.2.3.4 ", "1.2.3.4"), ("1.2.3.4:80", "1.2.3.4"),
    ("2001:db8::1", "2001:db8::1"), ("[2001:db8::1]", "2001:db8::1"), ("[2001:db8::1]:443", "2001:db8::1"),
    ("::ffff:10.0.0.1", "10.0.0.1"), ("unknown", None), ("", None), ("[::1", None), ("1.2.3", None),
])
def test_parse_ip(text, ip):
    parsed = parse_ip(text)
    assert (str(parsed) if parsed is not None else None) == ip


def test_nothing_trusted_by_default():
    trusted = TrustedProxies(())
    assert not trusted
    assert trusted.client_ip("10.0.0.1", b"1.2.3.4") == "10.0.0.1"


TRUSTED = TrustedProxies([ipaddress.ip_network("10.0.0.0/8"), "192.168.1.1/32", "fd00::/8"])


@pytest.mark.parametrize("peer, chain, client", [
    ("8.8.8.8", b"1.2.3.4", "8.8.8.8"),                        # untrusted peer: its claims are ignored
    ("10.0.0.1", None, "10.0.0.1"),                            # trusted peer without a chain
    ("10.0.0.1", b"1.2.3.4", "1.2.3.4"),
    ("10.0.0.1", b"6.6.6.6, 1.2.3.4, 10.0.0.2", "1.2.3.4"),    # spoofed left part ignored
    ("10.0.0.1", b"10.0.0.3, 192.168.1.1", "10.0.0.3"),        # all trusted: the leftmost
    ("10.0.0.1", b"1.2.3.4, garbage, 10.0.0.2", "10.0.0.2"),   # invalid entry stops the walk
    ("10.0.0.1", b"1.2.3.4,,  ", "1.2.3.4"),                   # empty elements skipped
    ("fd00::1", b"2001:db8::5", "2001:db8::5"),
    ("10.0.0.1", b"[2001:db8::5]:1234", "2001:db8::5"),
])
def test_walk_from_the_right(peer, chain, client):
    assert TRUSTED.client_ip(peer, chain) == client


def test_trusts_checks_the_family():
    assert TRUSTED.trusts(parse_ip("10.1.2.3"))
    assert not TRUSTED.trusts(parse_ip("::a01:203"))
    assert not TRUSTED.trusts(None)
