"""Checks of balancer constructor arguments, shared by both implementations.

Construction happens once per upstream, off the hot path, so both the
extension and the pure-Python twin call these same functions: the same
arguments are accepted and refused with the same messages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fastproxy.balancers._pycore import is_prime
from fastproxy.config.schema import MAX_RING_POINTS, MAX_TABLE_SIZE

MAX_WEIGHT = 65535  # keeps load * weight products within 64 bits in C
MAX_SERVERS = 1 << 20
# Bounds round-robin schedules and jump buckets (one entry per unit of weight).
MAX_TOTAL_WEIGHT = 1 << 20
MAX_BOUND = 100.0

# Kinds of hash key (KeyExtractor.kind).
KEY_CLIENT_IP = 0
KEY_URI = 1
KEY_HEADER = 2
KEY_COOKIE = 3
KEY_QUERY = 4
_NAMED_KEYS = {"header": KEY_HEADER, "cookie": KEY_COOKIE, "query": KEY_QUERY}


def servers(
    names: Sequence, weights: Sequence[int]
) -> tuple[tuple[str, ...], tuple[bytes, ...], tuple[int, ...]]:
    """(names as str, names as the UTF-8 bytes that are hashed, weights).

    Names identify servers to the hash policies ("host:port" is the usual
    choice): ring points and Maglev permutations derive from them, so a
    server keeps its keys when others are added or reordered.
    """
    if isinstance(names, (str, bytes)):
        raise TypeError("names must be a sequence of server names, not one string")
    names = list(names)
    weights = list(weights)
    if not names:
        raise ValueError("a balancer needs at least one server")
    if len(names) > MAX_SERVERS:
        raise ValueError(f"at most {MAX_SERVERS} servers")
    if len(weights) != len(names):
        raise ValueError(f"{len(names)} servers but {len(weights)} weights")
    text, raw = [], []
    for name in names:
        if isinstance(name, str):
            text.append(name)
            raw.append(name.encode("utf-8"))
        elif isinstance(name, (bytes, bytearray)):
            raw.append(bytes(name))
            text.append(bytes(name).decode("utf-8", "backslashreplace"))
        else:
            raise TypeError(f"a server name must be str or bytes, got {type(name).__name__}")
    if len(set(raw)) != len(raw):
        dup = next(t for t, r in zip(text, raw) if raw.count(r) > 1)
        raise ValueError(f"server {dup!r} is listed twice; give it a weight instead")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, int):
            raise TypeError(f"a weight must be an int, got {w!r}")
        if not 1 <= w <= MAX_WEIGHT:
            raise ValueError(f"weight {w} is out of range (1..{MAX_WEIGHT})")
    if sum(weights) > MAX_TOTAL_WEIGHT:
        raise ValueError(f"the weights add up to {sum(weights)} (at most {MAX_TOTAL_WEIGHT})")
    return tuple(text), tuple(raw), tuple(weights)


def bound(bounded_load: float) -> float:
    """The bounded-load factor: 0.0 (off) or a float in [1.0, 100.0]."""
    if isinstance(bounded_load, bool) or not isinstance(bounded_load, (int, float)):
        raise TypeError(f"bounded_load must be a number, got {bounded_load!r}")
    value = float(bounded_load)
    if value == 0.0:
        return 0.0
    if not (math.isfinite(value) and 1.0 <= value <= MAX_BOUND):
        raise ValueError(f"bounded_load {bounded_load!r} is out of range (1.0..{MAX_BOUND}, or 0 for none)")
    return value


def ring_points(virtual_nodes: int, weights: Sequence[int]) -> list[int]:
    """Points per server: virtual_nodes per unit of weight."""
    if isinstance(virtual_nodes, bool) or not isinstance(virtual_nodes, int):
        raise TypeError(f"virtual_nodes must be an int, got {virtual_nodes!r}")
    if virtual_nodes < 1:
        raise ValueError(f"virtual_nodes {virtual_nodes} must be at least 1")
    total = virtual_nodes * sum(weights)
    if total > MAX_RING_POINTS:
        raise ValueError(
            f"{virtual_nodes} virtual nodes per unit of weight make {total} ring points "
            f"(at most {MAX_RING_POINTS})"
        )
    return [virtual_nodes * w for w in weights]


def table_size(size: int, servers: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"table_size must be an int, got {size!r}")
    if not is_prime(size) or size > MAX_TABLE_SIZE:
        raise ValueError(f"table_size {size} must be a prime up to {MAX_TABLE_SIZE}")
    if size < servers:
        raise ValueError(f"table_size {size} is smaller than the number of servers ({servers})")
    return size


def buckets(weights: Sequence[int]) -> list[int]:
    """Jump hash buckets: server i owns weights[i] consecutive buckets."""
    return [i for i, w in enumerate(weights) for _ in range(w)]


def key_bytes(key: object) -> bytes | bytearray | memoryview:
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"a hash key must be bytes-like, got {type(key).__name__}")
    return key


def hash_key_spec(spec: str) -> tuple[int, bytes]:
    """(kind, name) of a ``hash_key`` setting; ValueError if malformed.

    The header name is lowercased (matched case-insensitively); cookie and
    query names are matched as written.
    """
    if not isinstance(spec, str):
        raise TypeError(f"hash_key must be a str, got {spec!r}")
    if spec == "client_ip":
        return KEY_CLIENT_IP, b""
    if spec == "uri":
        return KEY_URI, b""
    prefix, sep, name = spec.partition(":")
    kind = _NAMED_KEYS.get(prefix)
    if kind is None or not sep or not name:
        raise ValueError(
            f'hash_key {spec!r} is not "client_ip", "uri", "header:NAME", "cookie:NAME" or "query:NAME"'
        )
    raw = name.encode("latin-1", "strict") if name.isascii() else None
    if raw is None:
        raise ValueError(f"hash_key {spec!r}: the name must be ASCII")
    return kind, raw.lower() if kind == KEY_HEADER else raw
