"""Balancers: which server of an upstream takes a request.

The extension (``_cbalancers``, Cython over ``src_c/fp_hash.c``) and the
pure-Python twin (``_pybalancers``, over ``_pycore``) have the same surface
and make the same picks, bit for bit: the same key goes to the same server in
every worker, with or without the extension.  Nothing depends on Python's
``hash()`` or on process state; the random policies draw from a SplitMix64
seeded by the caller.

Theory of operation
-------------------
A balancer is built once per upstream (per worker) from the server names
("host:port": hash policies derive ring points and Maglev permutations from
them) and weights.  Servers are then named by their index in that list.
Per request the data path calls::

    i = balancer.pick(key)        # -1: every server is down (answer 503)
    balancer.acquire(i)           # the request is in flight on i
    ...
    balancer.release(i, latency)  # done; latency in seconds, < 0 if failed

Health checks call ``mark_down(i)`` / ``mark_up(i)``.  A down server leaves
every choice; under consistent hashing its keys go to the next choice of
each key (the next ring point, the next Maglev slot, a rehash for jump) and
come back when it is up again, while every other key stays where it was.

Policies (the ``balance`` setting)
----------------------------------
``RoundRobin`` (round_robin)
    A static cycle, each server ``weight`` times per cycle, spread out; O(1).
``WeightedRoundRobin`` (weighted_round_robin)
    Smooth weighting (weights 5,1,1 give a a b a c a a): O(servers).
``Random(names, weights, seed=0)`` (random)
    Weighted; pass the worker index as ``seed`` so workers differ.
``LeastConn`` (least_conn)
    Fewest in-flight requests per unit of weight; ties rotate.
``PowerOfTwoChoices(names, weights, seed=0)`` (p2c)
    Two distinct live servers at random; fewer in flight per unit of weight
    wins, then the lower latency average (EWMA, alpha 0.25).
``RingHash(names, weights, virtual_nodes=2000, bounded_load=0.0)`` (hash = "ring")
    Ketama-style: ``virtual_nodes`` points per unit of weight on a 64-bit
    ring; the key's hash goes to the next point clockwise.
``MaglevHash(names, weights, table_size=65537, bounded_load=0.0)`` (hash = "maglev")
    Maglev lookup table (prime size), filled in proportion to weights; O(1).
``JumpHash(names, weights)`` (hash = "jump")
    Jump consistent hash over ``weight`` buckets per server, in list order:
    appending or removing the last server moves only that server's keys;
    removing one in the middle renumbers the rest (use ``mark_down``).
``ip_hash`` is a hash policy keyed on the client address.

``bounded_load`` (ring and Maglev): a factor c >= 1.0 (0: off).  A server
takes a request only while its in-flight count is below c times its
weighted share of all in-flight requests (the new one included); otherwise
the key goes to its next choice.  Some server always qualifies.

Surface of every balancer (both implementations)
------------------------------------------------
``pick(key=None) -> int``
    Hash policies hash ``key`` (bytes-like) with XXH64; ``key=None`` (the
    request has no such header/cookie/argument) picks by rotation.  Other
    policies ignore the key.
``pick_hash(h) -> int``
    As pick, given ``hash_key(key)`` already computed.
``acquire(i)``, ``release(i, latency=-1.0)``, ``mark_down(i)``, ``mark_up(i)``
``is_up(i)``, ``load(i)``, ``latency(i)``, ``live``, ``size``, ``names``,
``weights``, ``policy``, ``hashed`` (True for the hash policies).
``RoundRobin.schedule()``, ``RingHash.ring()``, ``MaglevHash.table()``
    The built tables, for tests and ``fastproxy explain``.

Cython callers cimport ``fastproxy.balancers._cbalancers`` and use the cdef
methods of its ``.pxd`` (``pick_key_c(ptr, len)``, ``pick_c()``,
``acquire_c(i)``, ``release_c(i, latency)``): no Python call on the way.

Keys: ``KeyExtractor(spec)`` for a ``hash_key`` setting ("client_ip",
"uri", "header:NAME", "cookie:NAME", "query:NAME");
``extract(client_ip, target, headers) -> bytes | None`` from bytes inputs
(headers as the parser's (name, value) pairs).  Also ``cookie_value``,
``query_value``, ``hash_key(key)``, ``xxh64(data, seed=0)`` and
``jump_hash(key, buckets)``.
"""

from __future__ import annotations

from types import ModuleType

from fastproxy import _ext
from fastproxy._ext import load

_impl = load("balancers", "fastproxy.balancers._cbalancers", "fastproxy.balancers._pybalancers")

Balancer = _impl.Balancer
RoundRobin = _impl.RoundRobin
WeightedRoundRobin = _impl.WeightedRoundRobin
Random = _impl.Random
LeastConn = _impl.LeastConn
PowerOfTwoChoices = _impl.PowerOfTwoChoices
RingHash = _impl.RingHash
MaglevHash = _impl.MaglevHash
JumpHash = _impl.JumpHash
KeyExtractor = _impl.KeyExtractor
cookie_value = _impl.cookie_value
query_value = _impl.query_value
hash_key = _impl.hash_key
xxh64 = _impl.xxh64
jump_hash = _impl.jump_hash

__all__ = [
    "Balancer",
    "JumpHash",
    "KeyExtractor",
    "LeastConn",
    "MaglevHash",
    "PowerOfTwoChoices",
    "Random",
    "RingHash",
    "RoundRobin",
    "WeightedRoundRobin",
    "build",
    "cookie_value",
    "hash_key",
    "implementations",
    "jump_hash",
    "key_extractor",
    "query_value",
    "xxh64",
]


def build(upstream, seed: int = 0, impl: ModuleType | None = None):
    """The balancer an :class:`~fastproxy.config.schema.Upstream` describes.

    ``seed`` feeds the random policies (give each worker its own);
    ``impl`` is an implementation module (default: the one loaded).
    """
    m = impl or _impl
    names = [server.address for server in upstream.servers]
    weights = [server.weight for server in upstream.servers]
    balance = upstream.balance
    if balance in ("consistent_hash", "ip_hash"):
        bounded = upstream.bounded_load or 0.0
        if upstream.hash == "maglev":
            return m.MaglevHash(names, weights, table_size=upstream.table_size, bounded_load=bounded)
        if upstream.hash == "jump":
            return m.JumpHash(names, weights)
        return m.RingHash(names, weights, virtual_nodes=upstream.virtual_nodes, bounded_load=bounded)
    if balance == "random":
        return m.Random(names, weights, seed=seed)
    if balance == "p2c":
        return m.PowerOfTwoChoices(names, weights, seed=seed)
    policy = {
        "round_robin": m.RoundRobin,
        "weighted_round_robin": m.WeightedRoundRobin,
        "least_conn": m.LeastConn,
    }[balance]
    return policy(names, weights)


def key_extractor(upstream, impl: ModuleType | None = None):
    """The KeyExtractor of a hash policy's upstream, or None for the others."""
    if upstream.hash_key is None:
        return None
    return (impl or _impl).KeyExtractor(upstream.hash_key)


def implementations() -> dict[str, ModuleType]:
    """The implementations to test, by id ("c", "python"): see _ext.implementations."""
    return _ext.implementations("fastproxy.balancers._cbalancers", "fastproxy.balancers._pybalancers")
