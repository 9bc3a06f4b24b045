"""Which address is the client: the peer, or an address a trusted proxy vouches for.

Each proxy in a chain appends the address it received the request from to
X-Forwarded-For, so the list reads left to right from the claimed origin to
the last hop; only the hops we trust can have written the entries right of
them truthfully.  The client is therefore found by walking the list from the
right, past trusted addresses only: the first untrusted address is the
client.  Everything left of it was written by someone we do not trust and is
ignored.  By default nothing is trusted and the client is the peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> _Address | None:
    """An address from an X-Forwarded-For element or a peer name; None if invalid.

    Accepts "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]" and
    "[2001:db8::1]:443"; an IPv4-mapped IPv6 address counts as IPv4.
    """
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        text = text[1:close]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """The trusted-proxy CIDR list; one per process, built from the config."""

    __slots__ = ("networks",)

    def __init__(self, networks: Iterable) -> None:
        self.networks = tuple(ipaddress.ip_network(n) if isinstance(n, str) else n for n in networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, ip: _Address | None) -> bool:
        if ip is None:
            return False
        for network in self.networks:
            if ip.version == network.version and ip in network:
                return True
        return False

    def client_ip(self, peer: str, forwarded_for: bytes | None) -> str:
        """The client's address, given the peer's and the X-Forwarded-For chain.

        ``forwarded_for`` holds every X-Forwarded-For field of the request
        joined with ", " (None if there was none).  The peer is returned when
        it is not trusted or there is no chain.  Walking stops at the first
        untrusted address; at an invalid entry it stops too and the last
        valid address reached (a trusted hop) is the client, since the hop
        that wrote the invalid entry is the one we can still vouch for.
        """
        if not self.networks or forwarded_for is None:
            return peer
        if not self.trusts(parse_ip(peer)):
            return peer
        client = peer
        for element in reversed(forwarded_for.decode("latin-1").split(",")):
            element = element.strip()
            if not element:
                continue
            ip = parse_ip(element)
            if ip is None:
                return client
            client = str(ip)
            if not self.trusts(ip):
                return client
        return client
