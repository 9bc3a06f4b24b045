"""Pure-Python twin of ``_cbalancers.pyx``: same classes, same picks.

The choices themselves are the functions of :mod:`._pycore` (the twin of
``src_c/fp_hash.c``); these classes hold the per-server state, as the
extension's classes hold C arrays.  Surface documented in the package.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastproxy.balancers import _args
from fastproxy.balancers import _pycore as core
from fastproxy.balancers._pykeys import KeyExtractor, cookie_value, query_value
from fastproxy.config.schema import DEFAULT_TABLE_SIZE, DEFAULT_VIRTUAL_NODES

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
    "cookie_value",
    "hash_key",
    "jump_hash",
    "query_value",
    "xxh64",
]

IMPLEMENTATION = "python"
EWMA_ALPHA = 0.25  # weight of a new latency sample in the moving average


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 of bytes-like ``data``."""
    return core.xxh64(_args.key_bytes(data), seed)


def hash_key(key: bytes) -> int:
    """The 64-bit hash a hash policy uses for ``key``."""
    return core.xxh64(_args.key_bytes(key), core.SEED_KEY)


def jump_hash(key: int, buckets: int) -> int:
    """Jump consistent hash of a 64-bit ``key`` over ``buckets`` (>= 1)."""
    if not 0 <= key <= core.MASK64:
        raise OverflowError("key must be a 64-bit unsigned int")
    if not 1 <= buckets <= 0x7FFFFFFF:
        raise ValueError("buckets must be in 1..2**31-1")
    return core.jump(key, buckets)


class Balancer:
    """Base of every policy: server state, in-flight counts, up/down."""

    policy = ""
    hashed = False  # True for the policies that use the key
    __slots__ = ("_cursor", "_ewma", "_raw_names", "_view", "names", "size", "weights")

    def __init__(self, names: Sequence, weights: Sequence[int], bound: float = 0.0) -> None:
        self.names, self._raw_names, self.weights = _args.servers(names, weights)
        self.size = len(self.names)
        self._view = core.View(list(self.weights), bound)
        self._ewma = [-1.0] * self.size
        self._cursor = 0

    # -- the hot path ----------------------------------------------------------

    def pick(self, key: bytes | None = None) -> int:
        """The server for a request (its index), or -1 if none is up."""
        return self._pick()

    def pick_hash(self, h: int) -> int:
        """As pick(), from a key's hash (hash_key(key)); others ignore it."""
        if not 0 <= h <= core.MASK64:
            raise OverflowError("h must be a 64-bit unsigned int")
        return self._pick()

    def acquire(self, i: int) -> None:
        """A request to server ``i`` started."""
        self._check(i)
        v = self._view
        v.load[i] += 1
        if v.up[i]:
            v.total_load += 1

    def release(self, i: int, latency: float = -1.0) -> None:
        """A request to server ``i`` ended after ``latency`` seconds (< 0:
        no sample, e.g. it failed).  More releases than acquires are ignored."""
        self._check(i)
        v = self._view
        if v.load[i]:
            v.load[i] -= 1
            if v.up[i]:
                v.total_load -= 1
        latency = float(latency)
        if latency >= 0.0:
            old = self._ewma[i]
            self._ewma[i] = latency if old < 0.0 else old + (latency - old) * EWMA_ALPHA

    def mark_down(self, i: int) -> None:
        """Server ``i`` leaves the choices (until mark_up)."""
        self._check(i)
        v = self._view
        if v.up[i]:
            v.up[i] = 0
            v.total_weight -= v.weight[i]
            v.total_load -= v.load[i]
            self._changed()

    def mark_up(self, i: int) -> None:
        self._check(i)
        v = self._view
        if not v.up[i]:
            v.up[i] = 1
            v.total_weight += v.weight[i]
            v.total_load += v.load[i]
            self._changed()

    def pick_skip(self, tried: int, key: bytes | None = None) -> int:
        """A retry's pick: as pick(key), with the servers of the bit mask
        ``tried`` (an int) left out; -1 when none is left.  They are hidden
        for the pick: each policy already knows how to choose without a
        server (the key's next ring point, Maglev slot or jump rehash)."""
        up = self._view.up
        hidden = [i for i in range(self.size) if tried >> i & 1 and up[i]]
        try:
            for i in hidden:
                self.mark_down(i)
            return self.pick(key)
        finally:
            for i in hidden:
                self.mark_up(i)

    # -- state, for tests, metrics and explain ---------------------------------

    def is_up(self, i: int) -> bool:
        self._check(i)
        return bool(self._view.up[i])

    def load(self, i: int) -> int:
        """Requests in flight on server ``i``."""
        self._check(i)
        return self._view.load[i]

    def latency(self, i: int) -> float:
        """Moving average of server ``i``'s latency (seconds), -1.0 before any sample."""
        self._check(i)
        return self._ewma[i]

    @property
    def live(self) -> int:
        """How many servers are up."""
        return sum(self._view.up)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.live}/{self.size} up>"

    # -- for subclasses --------------------------------------------------------

    def _check(self, i: int) -> None:
        if not 0 <= i < self.size:
            raise IndexError(f"server index {i} out of range (0..{self.size - 1})")

    def _pick(self) -> int:
        raise NotImplementedError

    def _changed(self) -> None:
        """Called after a server went down or up."""


class RoundRobin(Balancer):
    """A static weighted cycle (equal weights: plain rotation); O(1)."""

    policy = "round_robin"
    __slots__ = ("_schedule",)

    def __init__(self, names: Sequence, weights: Sequence[int]) -> None:
        super().__init__(names, weights)
        self._schedule = core.rr_schedule(list(self.weights))

    def schedule(self) -> list[int]:
        """The cycle of server indexes."""
        return list(self._schedule)

    def _pick(self) -> int:
        s, self._cursor = core.rr_pick(self._schedule, self._cursor, self._view)
        return s


class WeightedRoundRobin(Balancer):
    """Smooth weighted round robin: heavy servers interleaved, never in bursts."""

    policy = "weighted_round_robin"
    __slots__ = ("_current",)

    def __init__(self, names: Sequence, weights: Sequence[int]) -> None:
        super().__init__(names, weights)
        self._current = [0] * self.size

    def _pick(self) -> int:
        return core.swrr_pick(self._view, self._current)

    def pick_skip(self, tried: int, key: bytes | None = None) -> int:
        """As Balancer.pick_skip, but the tried servers are skipped inside the
        walk: hiding them would restart the smooth sequence at every retry."""
        skip = [tried >> i & 1 for i in range(self.size)]
        return core.swrr_pick_skip(self._view, self._current, skip)

    def _changed(self) -> None:
        self._current = [0] * self.size


class _Sampling(Balancer):
    """Draws from a seeded SplitMix64 over the live servers."""

    __slots__ = ("_cum", "_live", "_state")

    def __init__(self, names: Sequence, weights: Sequence[int], seed: int = 0) -> None:
        super().__init__(names, weights)
        if not 0 <= seed <= core.MASK64:
            raise OverflowError("seed must be a 64-bit unsigned int")
        self._state = seed
        self._changed()

    def _changed(self) -> None:
        v = self._view
        self._live = [i for i in range(self.size) if v.up[i]]
        self._cum = []
        total = 0
        for i in self._live:
            total += v.weight[i]
            self._cum.append(total)

    def _next(self) -> int:
        r, self._state = core.splitmix64(self._state)
        return r


class Random(_Sampling):
    """Weighted random choice."""

    policy = "random"
    __slots__ = ()

    def _pick(self) -> int:
        if not self._live:
            return -1
        r = self._next() % self._view.total_weight
        return self._live[core.cum_find(self._cum, r)]


class PowerOfTwoChoices(_Sampling):
    """Two distinct live servers at random; the one with fewer requests in
    flight per unit of weight wins, then the lower latency average."""

    policy = "p2c"
    __slots__ = ()

    def _pick(self) -> int:
        live = self._live
        n = len(live)
        if n < 2:
            return live[0] if n else -1
        a = self._next() % n
        b = self._next() % (n - 1)
        if b >= a:
            b += 1
        return core.p2c_choose(self._view, self._ewma, live[a], live[b])


class LeastConn(Balancer):
    """Fewest requests in flight per unit of weight; ties rotate."""

    policy = "least_conn"
    __slots__ = ()

    def _pick(self) -> int:
        s = core.least_conn_pick(self._view, self._cursor)
        if s >= 0:
            self._cursor = s + 1 if s + 1 < self.size else 0
        return s


class _Hashing(Balancer):
    """Key to server; a request without a key goes by rotation."""

    hashed = True
    __slots__ = ()

    def pick(self, key: bytes | None = None) -> int:
        if key is None:
            s, self._cursor = core.rotate_pick(self._view, self._cursor)
            return s
        return self._pick_hash(core.xxh64(_args.key_bytes(key), core.SEED_KEY))

    def pick_hash(self, h: int) -> int:
        if not 0 <= h <= core.MASK64:
            raise OverflowError("h must be a 64-bit unsigned int")
        return self._pick_hash(h)

    def _pick_hash(self, h: int) -> int:
        raise NotImplementedError


class RingHash(_Hashing):
    """Ketama-style ring: ``virtual_nodes`` points per unit of weight."""

    policy = "ring"
    __slots__ = ("_points", "_servers", "bounded_load", "virtual_nodes")

    def __init__(
        self,
        names: Sequence,
        weights: Sequence[int],
        virtual_nodes: int = DEFAULT_VIRTUAL_NODES,
        bounded_load: float = 0.0,
    ) -> None:
        bound = _args.bound(bounded_load)
        super().__init__(names, weights, bound)
        counts = _args.ring_points(virtual_nodes, self.weights)
        self._points, self._servers = core.ring_build(list(self._raw_names), counts)
        self.virtual_nodes = virtual_nodes
        self.bounded_load = bound

    def ring(self) -> list[tuple[int, int]]:
        """The sorted (point, server) pairs."""
        return list(zip(self._points, self._servers))

    def _pick_hash(self, h: int) -> int:
        return core.ring_pick(self._points, self._servers, h, self._view)


class MaglevHash(_Hashing):
    """Maglev lookup table of a prime ``table_size``, filled by weight."""

    policy = "maglev"
    __slots__ = ("_table", "bounded_load", "table_size")

    def __init__(
        self,
        names: Sequence,
        weights: Sequence[int],
        table_size: int = DEFAULT_TABLE_SIZE,
        bounded_load: float = 0.0,
    ) -> None:
        bound = _args.bound(bounded_load)
        super().__init__(names, weights, bound)
        m = _args.table_size(table_size, self.size)
        perms = [core.maglev_permutation(name, m) for name in self._raw_names]
        self._table = core.maglev_fill(m, [o for o, _ in perms], [s for _, s in perms], list(self.weights))
        self.table_size = m
        self.bounded_load = bound

    def table(self) -> list[int]:
        """The lookup table: a server index per slot."""
        return list(self._table)

    def _pick_hash(self, h: int) -> int:
        return core.maglev_pick(self._table, h, self._view)


class JumpHash(_Hashing):
    """Jump consistent hash over weight-many buckets per server, in order:
    adding or removing the last server moves only its keys."""

    policy = "jump"
    __slots__ = ("_owner",)

    def __init__(self, names: Sequence, weights: Sequence[int]) -> None:
        super().__init__(names, weights)
        self._owner = _args.buckets(self.weights)

    def _pick_hash(self, h: int) -> int:
        return core.jump_pick(self._owner, h, self._view)
