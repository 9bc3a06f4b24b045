"""Checks the balancing keys of an ``[upstream.NAME]`` table.

``balance`` picks the policy; the hashing keys (``hash_key``, ``hash``,
``bounded_load``, ``virtual_nodes``, ``table_size``) apply only to the
policies and hash methods named in their messages, and a key set where it
does not apply is a problem rather than silently ignored.  Defaults come
from :mod:`fastproxy.config.schema`; an unset ``virtual_nodes`` shrinks to
fit :data:`MAX_RING_POINTS` when the weights are large.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from fastproxy.config import _text
from fastproxy.config.reader import MISSING, Section
from fastproxy.config.schema import (
    BALANCERS,
    BOUNDED_HASH_METHODS,
    DEFAULT_HASH,
    DEFAULT_TABLE_SIZE,
    DEFAULT_VIRTUAL_NODES,
    HASH_BALANCERS,
    HASH_METHODS,
    MAX_RING_POINTS,
    MAX_TABLE_SIZE,
    Server,
)

__all__ = ["Balancing", "read_balancing"]

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A query argument name as sent: printable ASCII, none of the separators.
_QUERY_NAME = re.compile(r"[!$'()*+,\-./0-9:;@A-Z\[\]^_`a-z{|}~%]+")
_KEY_FORMS = '"client_ip", "uri", "header:NAME", "cookie:NAME" or "query:NAME"'
_MAX_VIRTUAL_NODES = 100_000
_MAX_BOUND = 100.0


class Balancing(NamedTuple):
    balance: str | None
    hash_key: str | None
    hash: str | None
    bounded_load: float | None
    virtual_nodes: int | None
    table_size: int | None


def read_balancing(sec: Section, servers: tuple[Server, ...] | None) -> Balancing:
    """The balancing fields of the upstream table ``sec``; problems are
    recorded on ``sec`` with their key paths.  ``servers`` (None if they had
    problems) sizes the ring and the Maglev table."""
    balance = _balance(sec)
    hashing = balance in HASH_BALANCERS
    hash_key = _hash_key(sec, balance)
    method = _hash_method(sec, balance)
    bounded = _bounded_load(sec, balance, method)
    virtual_nodes = _virtual_nodes(sec, balance, method, servers)
    table_size = _table_size(sec, balance, method, servers)
    if not hashing:
        method = None
    return Balancing(balance, hash_key, method, bounded, virtual_nodes, table_size)


def _balance(sec: Section) -> str | None:
    balance = sec.string("balance", "round_robin")
    if balance is None or balance in BALANCERS:
        return balance
    hint = _text.did_you_mean(balance, BALANCERS)
    suffix = f'did you mean "{hint}"?' if hint else f"use one of {_text.quoted_list(BALANCERS)}"
    sec.problem("balance", f"{_text.show(balance)} is not a balancing method ({suffix})")
    return None


def _not_here(sec: Section, key: str, where: str, balance: str | None, method: str | None = None) -> None:
    """``key`` is set but only applies ``where``."""
    if balance is None:  # already reported; one mistake, one message
        return
    now = f'balance = "{balance}"' if method is None else f'hash = "{method}"'
    sec.problem(key, f"only applies with {where} (this upstream has {now})")


def _hash_key(sec: Section, balance: str | None) -> str | None:
    value = sec.string("hash_key", None)
    present = sec.data.get("hash_key", MISSING) is not MISSING
    if balance == "ip_hash":
        if present:
            sec.problem(
                "hash_key",
                "ip_hash always hashes the client address "
                '(to hash another key, use balance = "consistent_hash")',
            )
        return "client_ip"
    if balance != "consistent_hash":
        if present:
            _not_here(sec, "hash_key", 'balance = "consistent_hash"', balance)
        return None
    if not present:
        sec.problem(
            "hash_key",
            'is required with balance = "consistent_hash" (e.g. hash_key = "uri", "header:X-User" '
            'or "cookie:session")',
        )
        return None
    if value is None:
        return None
    problem = _hash_key_problem(value)
    if problem:
        sec.problem("hash_key", problem)
        return None
    return value


def _hash_key_problem(spec: str) -> str | None:
    if spec in ("client_ip", "uri"):
        return None
    prefix, colon, name = spec.partition(":")
    shown = _text.show(spec)
    if not colon:
        hint = _text.did_you_mean(spec, ["client_ip", "uri", "header", "cookie", "query"])
        if hint in ("header", "cookie", "query"):
            return f'{shown} is not a hash key (did you mean "{hint}:NAME"?)'
        if hint:
            return f'{shown} is not a hash key (did you mean "{hint}"?)'
        return f"{shown} is not a hash key (use {_KEY_FORMS})"
    if prefix not in ("header", "cookie", "query"):
        hint = _text.did_you_mean(prefix, ["header", "cookie", "query"])
        if hint:
            return f'{shown} is not a hash key (did you mean "{hint}:{name}"?)'
        return f"{shown} is not a hash key (use {_KEY_FORMS})"
    if not name:
        return f'{shown} needs a name after the colon (e.g. "{prefix}:{_EXAMPLES[prefix]}")'
    pattern = _QUERY_NAME if prefix == "query" else _TOKEN
    if not pattern.fullmatch(name):
        return f"{shown}: {_text.show(name)} is not a valid {prefix} name"
    return None


_EXAMPLES = {"header": "X-User", "cookie": "session", "query": "user"}


def _hash_method(sec: Section, balance: str | None) -> str | None:
    value = sec.string("hash", None)
    present = sec.data.get("hash", MISSING) is not MISSING
    if balance not in HASH_BALANCERS:
        if present:
            _not_here(sec, "hash", 'balance = "consistent_hash" or "ip_hash"', balance)
        return None
    if not present:
        return DEFAULT_HASH
    if value is None or value in HASH_METHODS:
        return value
    hint = _text.did_you_mean(value, HASH_METHODS)
    suffix = f'did you mean "{hint}"?' if hint else f"use {_text.quoted_list(HASH_METHODS)}"
    sec.problem("hash", f"{_text.show(value)} is not a hash method ({suffix})")
    return None


def _bounded_load(sec: Section, balance: str | None, method: str | None) -> float | None:
    value = sec.raw("bounded_load")
    if value is MISSING:
        return None
    if balance not in HASH_BALANCERS:
        _not_here(sec, "bounded_load", 'balance = "consistent_hash" or "ip_hash"', balance)
        return None
    if method is None:  # a bad hash, already reported
        return None
    if method not in BOUNDED_HASH_METHODS:
        sec.problem(
            "bounded_load", f'is not supported with hash = "{method}" (use hash = "ring" or "maglev")'
        )
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        sec.problem("bounded_load", f"expected a number such as 1.25, got {_text.got(value)}")
        return None
    if not (math.isfinite(value) and 1.0 <= value <= _MAX_BOUND):
        sec.problem(
            "bounded_load",
            f"{_text.show(value)} is out of range (1.0..{_MAX_BOUND}: the most a server may take, "
            "as a multiple of its fair share)",
        )
        return None
    return float(value)


def _total_weight(servers: tuple[Server, ...] | None) -> int | None:
    return sum(s.weight for s in servers) if servers else None


def _virtual_nodes(
    sec: Section, balance: str | None, method: str | None, servers: tuple[Server, ...] | None
) -> int | None:
    present = sec.data.get("virtual_nodes", MISSING) is not MISSING
    value = sec.integer("virtual_nodes", DEFAULT_VIRTUAL_NODES, 1, _MAX_VIRTUAL_NODES)
    if balance not in HASH_BALANCERS or method != "ring":
        if present:
            _not_here(
                sec, "virtual_nodes", 'hash = "ring"', balance, method if balance in HASH_BALANCERS else None
            )
        return None
    total = _total_weight(servers)
    if value is None or total is None:
        return value
    if total > MAX_RING_POINTS:
        sec.problem(
            "servers", f"the weights add up to {total}, more points than a ring holds ({MAX_RING_POINTS})"
        )
        return None
    if not present:
        return min(DEFAULT_VIRTUAL_NODES, MAX_RING_POINTS // total)
    if value * total > MAX_RING_POINTS:
        sec.problem(
            "virtual_nodes",
            f"{value} per unit of weight, times a total weight of {total}, is {value * total} ring points, "
            f"more than {MAX_RING_POINTS} (use at most {MAX_RING_POINTS // total})",
        )
        return None
    return value


def _table_size(
    sec: Section, balance: str | None, method: str | None, servers: tuple[Server, ...] | None
) -> int | None:
    present = sec.data.get("table_size", MISSING) is not MISSING
    value = sec.integer("table_size", DEFAULT_TABLE_SIZE, 2, MAX_TABLE_SIZE)
    if balance not in HASH_BALANCERS or method != "maglev":
        if present:
            _not_here(
                sec, "table_size", 'hash = "maglev"', balance, method if balance in HASH_BALANCERS else None
            )
        return None
    if value is None:
        return None
    if not _is_prime(value):
        below = next(p for p in range(value - 1, 1, -1) if _is_prime(p))
        above = next(p for p in range(value + 1, 2 * value + 2) if _is_prime(p))
        sec.problem("table_size", f"{value} is not a prime (the nearest primes are {below} and {above})")
        return None
    if servers and value < len(servers):
        sec.problem("table_size", f"{value} is smaller than the number of servers ({len(servers)})")
        return None
    return value


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))
