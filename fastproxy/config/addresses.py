"""Addresses in a configuration: "host:port", host names, CIDR blocks.

Hosts are normalised once here (names lower-cased, IP literals in their
compressed form) so that later comparisons, such as duplicate listeners, are
plain string comparisons.  Every function raises ValueError with a message
naming the value; the caller adds the key path.
"""

from __future__ import annotations

import ipaddress
import re

from fastproxy.config._text import show

__all__ = ["check_hostname", "check_route_host", "format_host_port", "parse_host_port", "parse_network"]

# RFC 1123 labels; "_" too, because service names in container networks use it.
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
_PORT = re.compile(r"[0-9]+")


def parse_host_port(text: str, *, allow_port_zero: bool = False) -> tuple[str, int]:
    """(host, port) from "host:port" or "[ipv6]:port".

    The host is an IPv4 or IPv6 literal or a host name.  Port 0 (an
    ephemeral port chosen by the kernel) is accepted only with
    ``allow_port_zero``, which only listeners in tests should use.
    """
    example = f'(use "host:port", e.g. "127.0.0.1:{8080 if allow_port_zero else 9001}")'
    if not text:
        raise ValueError(f'"" is not an address {example}')
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"{show(text)} has no closing ']'")
        host, rest = text[1:close], text[close + 1 :]
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{show(text)}: {show(host)} is not an IPv6 address") from None
        if not rest:
            raise ValueError(f'{show(text)} has no port (write "[{host}]:PORT")')
        if not rest.startswith(":"):
            raise ValueError(f"{show(text)} is not an address {example}")
        return ip.compressed, _port(rest[1:], allow_port_zero)
    if ":" not in text:
        raise ValueError(f'{show(text)} has no port (write "{text}:PORT")')
    host, _, port = text.rpartition(":")
    if ":" in host:
        # "::1:80" is itself an address, but "[::1]:80" is the likelier intent.
        if _is_ipv6(host) and _PORT.fullmatch(port):
            hint = f"[{host}]:{port}"
        else:
            hint = f"[{text}]:PORT"
        raise ValueError(f'{show(text)}: an IPv6 address needs brackets, e.g. "{hint}"')
    if not host:
        raise ValueError(
            f'{show(text)} has no host (use "0.0.0.0:{port}" for every IPv4 interface '
            f'or "[::]:{port}" for every IPv6 one)'
        )
    return _host(host), _port(port, allow_port_zero)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _port(text: str, allow_zero: bool) -> int:
    if not _PORT.fullmatch(text):
        raise ValueError(f"port {show(text)} is not a number")
    port = int(text)
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ValueError(f"port {port} is out of range ({low}-65535)")
    return port


def _host(text: str) -> str:
    if _DOTTED_NUMBERS.fullmatch(text):
        try:
            return ipaddress.IPv4Address(text).compressed
        except ValueError:
            raise ValueError(f"{show(text)} is not a valid IPv4 address") from None
    return check_hostname(text)


def check_hostname(text: str) -> str:
    """``text`` lower-cased, if it is a valid DNS host name."""
    if not text:
        raise ValueError("the host name is empty")
    if len(text) > 253:
        raise ValueError(f"{show(text)} is longer than 253 characters")
    labels = text.split(".")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise ValueError(f"{show(text)} is not a valid host name ({_label_problem(label)})")
    if labels[-1].isdigit():
        raise ValueError(f"{show(text)} is not a valid host name (the last label is all digits)")
    return text.lower()


def _label_problem(label: str) -> str:
    if not label:
        return "empty label"
    if len(label) > 63:
        return f"label {show(label)} is longer than 63 characters"
    if label.startswith("-") or label.endswith("-"):
        return f"label {show(label)} starts or ends with '-'"
    bad = next(c for c in label if not (c.isascii() and (c.isalnum() or c in "_-")))
    return f"{show(bad)} is not allowed"


def check_route_host(text: str) -> str:
    """A route's host: a name, a "*.name" wildcard or an IP literal; normalised."""
    if text.startswith("*."):
        return "*." + check_hostname(text[2:])
    if "*" in text:
        raise ValueError(
            f'{show(text)}: "*" may only be the whole first label, as in "*.example.com" '
            "(leave host out to match every host)"
        )
    if text.startswith("[") and text.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            raise ValueError(f"{show(text)} is not an IPv6 address") from None
    if ":" in text:
        raise ValueError(f"{show(text)}: a route host has no port (match on the name only)")
    return _host(text)


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block ("10.0.0.0/8") or a single address (as a /32 or /128)."""
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{show(text)} is not an IP address or CIDR block") from None
        raise ValueError(f'{show(text)} has host bits set (did you mean "{loose}"?)') from None


def format_host_port(host: str, port: int) -> str:
    """The inverse of :func:`parse_host_port`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
