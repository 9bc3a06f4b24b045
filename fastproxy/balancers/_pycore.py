"""Pure-Python twin of ``src_c/fp_hash.c``: the same functions, bit for bit.

Each function here mirrors the C function of the same name (without the
``fp_`` prefix) and must give the same result for every input, since the
pure-Python balancers must pick the same servers as the extension; the
differential tests check it.  64-bit arithmetic is Python ints masked to 64
bits; the bounded-load test uses floats with the C operand order, so the
rounding is identical.  Contracts are in ``src_c/fp_hash.h``.

The server state arrays are plain lists here (``up`` a bytearray), and the
view is the :class:`View` object.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from functools import cmp_to_key

MASK64 = 0xFFFFFFFFFFFFFFFF

SEED_KEY = 0
SEED_RING = 0x52494E47
SEED_MAGLEV_OFFSET = 0x4D4F4646
SEED_MAGLEV_SKIP = 0x4D534B50
JUMP_PROBES = 8

_P1 = 0x9E3779B185EBCA87
_P2 = 0xC2B2AE3D27D4EB4F
_P3 = 0x165667B19E3779F9
_P4 = 0x85EBCA77C2B2AE63
_P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & MASK64


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & MASK64
    return (_rotl(acc, 31) * _P1) & MASK64


def _merge(acc: int, v: int) -> int:
    return ((acc ^ _round(0, v)) * _P1 + _P4) & MASK64


def _avalanche(h: int) -> int:
    h ^= h >> 33
    h = (h * _P2) & MASK64
    h ^= h >> 29
    h = (h * _P3) & MASK64
    return h ^ (h >> 32)


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 of ``data`` (bytes-like) with ``seed`` (a 64-bit unsigned int)."""
    data = bytes(data)
    n = len(data)
    p = 0
    seed &= MASK64
    if n >= 32:
        v1 = (seed + _P1 + _P2) & MASK64
        v2 = (seed + _P2) & MASK64
        v3 = seed
        v4 = (seed - _P1) & MASK64
        from_bytes = int.from_bytes
        while p <= n - 32:
            v1 = _round(v1, from_bytes(data[p : p + 8], "little"))
            v2 = _round(v2, from_bytes(data[p + 8 : p + 16], "little"))
            v3 = _round(v3, from_bytes(data[p + 16 : p + 24], "little"))
            v4 = _round(v4, from_bytes(data[p + 24 : p + 32], "little"))
            p += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & MASK64
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = (seed + _P5) & MASK64
    h = (h + n) & MASK64
    while n - p >= 8:
        h ^= _round(0, int.from_bytes(data[p : p + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & MASK64
        p += 8
    if n - p >= 4:
        h ^= (int.from_bytes(data[p : p + 4], "little") * _P1) & MASK64
        h = (_rotl(h, 23) * _P2 + _P3) & MASK64
        p += 4
    while p < n:
        h ^= (data[p] * _P5) & MASK64
        h = (_rotl(h, 11) * _P1) & MASK64
        p += 1
    return _avalanche(h)


def xxh64_u64(value: int, seed: int) -> int:
    """XXH64 of the 8 little-endian bytes of ``value``."""
    h = ((seed & MASK64) + _P5 + 8) & MASK64
    # _round(0, value), inlined: this is the hot part of ring building.
    lane = (_rotl((value * _P2) & MASK64, 31) * _P1) & MASK64
    h ^= lane
    h = (_rotl(h, 27) * _P1 + _P4) & MASK64
    return _avalanche(h)


def jump(key: int, buckets: int) -> int:
    """Jump consistent hash: the bucket of ``key`` in [0, buckets), or -1."""
    if buckets < 1:
        return -1
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        # int * float converts the int exactly (b + 1 < 2^53): as in C.
        j = int(float(b + 1) * (2147483648.0 / float((key >> 33) + 1)))
    return b


def splitmix64(state: int) -> tuple[int, int]:
    """(the next output, the new state)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31), state


def is_prime(n: int) -> bool:
    """True if ``n`` is prime; False for n >= 2^32, as in C."""
    if n < 2 or n > 0xFFFFFFFF:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


class View:
    """The servers as a choice sees them (fp_lb_view)."""

    __slots__ = ("bound", "load", "n", "total_load", "total_weight", "up", "weight")

    def __init__(self, weights: list[int], bound: float = 0.0) -> None:
        self.n = len(weights)
        self.up = bytearray(b"\x01" * self.n)
        self.load = [0] * self.n
        self.weight = list(weights)
        self.total_load = 0
        self.total_weight = sum(weights)
        self.bound = bound


def eligible(v: View, i: int) -> bool:
    if not v.up[i]:
        return False
    if v.bound <= 0.0:
        return True
    used = float(v.load[i]) * float(v.total_weight)
    allowed = v.bound * float(v.total_load + 1) * float(v.weight[i])
    return used < allowed


def rotate_pick(v: View, cursor: int) -> tuple[int, int]:
    """(server or -1, new cursor)."""
    n = v.n
    i = cursor if cursor < n else 0
    for _ in range(n):
        if v.up[i]:
            return i, (i + 1 if i + 1 < n else 0)
        i = i + 1 if i + 1 < n else 0
    return -1, cursor


def cum_find(cum: list[int], r: int) -> int:
    return bisect_right(cum, r)


# -- round robin --------------------------------------------------------------


def _turn_cmp(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    # (num, den, server), as fp_rr_turn and turn_cmp in C.
    left, right = a[0] * b[1], b[0] * a[1]
    if left != right:
        return -1 if left < right else 1
    if a[2] != b[2]:
        return -1 if a[2] < b[2] else 1
    return (a[0] > b[0]) - (a[0] < b[0])


def rr_schedule(weights: list[int]) -> list[int]:
    turns = [(2 * k + 1, 2 * w, i) for i, w in enumerate(weights) for k in range(w)]
    turns.sort(key=cmp_to_key(_turn_cmp))
    return [server for _, _, server in turns]


def rr_pick(schedule: list[int], cursor: int, v: View) -> tuple[int, int]:
    """(server or -1, new cursor)."""
    n = len(schedule)
    t = cursor if cursor < n else 0
    up = v.up
    for _ in range(n):
        s = schedule[t]
        t = t + 1 if t + 1 < n else 0
        if up[s]:
            return s, t
    return -1, cursor


def swrr_pick(v: View, current: list[int]) -> int:
    best = -1
    top = 0
    up, weight = v.up, v.weight
    for i in range(v.n):
        if up[i]:
            c = current[i] + weight[i]
            current[i] = c
            if best < 0 or c > top:
                best, top = i, c
    if best >= 0:
        current[best] -= v.total_weight
    return best


def swrr_pick_skip(v: View, current: list[int], skip) -> int:
    """swrr_pick over the up servers whose skip[i] is false (fp_swrr_pick_skip)."""
    best = -1
    top = 0
    total = 0
    up, weight = v.up, v.weight
    for i in range(v.n):
        if up[i] and not skip[i]:
            c = current[i] + weight[i]
            current[i] = c
            total += weight[i]
            if best < 0 or c > top:
                best, top = i, c
    if best >= 0:
        current[best] -= total
    return best


# -- load-aware ---------------------------------------------------------------


def _load_cmp(v: View, a: int, b: int) -> int:
    left, right = v.load[a] * v.weight[b], v.load[b] * v.weight[a]
    return (left > right) - (left < right)


def least_conn_pick(v: View, start: int) -> int:
    n, up, load, weight = v.n, v.up, v.load, v.weight
    start = start if start < n else 0
    best = -1
    best_load = best_weight = 0
    # The cyclic scan from start as two ranges; _load_cmp(i, best) < 0 inlined.
    for i in itertools.chain(range(start, n), range(start)):
        if up[i] and (best < 0 or load[i] * best_weight < best_load * weight[i]):
            best, best_load, best_weight = i, load[i], weight[i]
    return best


def p2c_choose(v: View, ewma: list[float], a: int, b: int) -> int:
    c = _load_cmp(v, a, b)
    if c:
        return a if c < 0 else b
    return b if ewma[b] < ewma[a] else a


# -- ring ---------------------------------------------------------------------


def ring_point(name_hash: int, replica: int) -> int:
    return xxh64_u64(replica, name_hash)


def ring_build(names: list[bytes], points_per_server: list[int]) -> tuple[list[int], list[int]]:
    """The sorted ring as (points, servers), sorted by (point, server)."""
    entries = []
    for server, (name, count) in enumerate(zip(names, points_per_server)):
        nh = xxh64(name, SEED_RING)
        entries.extend((ring_point(nh, r), server) for r in range(count))
    entries.sort()
    return [p for p, _ in entries], [s for _, s in entries]


def ring_find(points: list[int], h: int) -> int:
    i = bisect_left(points, h)
    return i if i < len(points) else 0


def ring_pick(points: list[int], servers: list[int], h: int, v: View) -> int:
    n = len(points)
    i = ring_find(points, h)
    for _ in range(n):
        s = servers[i]
        if eligible(v, s):
            return s
        i = i + 1 if i + 1 < n else 0
    return -1


# -- Maglev -------------------------------------------------------------------


def maglev_permutation(name: bytes, m: int) -> tuple[int, int]:
    return xxh64(name, SEED_MAGLEV_OFFSET) % m, xxh64(name, SEED_MAGLEV_SKIP) % (m - 1) + 1


def maglev_fill(m: int, offsets: list[int], skips: list[int], weights: list[int]) -> list[int]:
    """The table; ValueError on the arguments fp_maglev_fill refuses."""
    n = len(weights)
    if n == 0 or not is_prime(m) or len(offsets) != n or len(skips) != n:
        raise ValueError("maglev_fill: bad arguments")
    if any(w < 1 for w in weights) or any(not 0 <= o < m for o in offsets):
        raise ValueError("maglev_fill: bad arguments")
    if any(not 1 <= s < m for s in skips):
        raise ValueError("maglev_fill: bad arguments")
    table = [-1] * m
    nxt = [0] * n
    count = [0] * n
    max_weight = max(weights)
    filled = 0
    rnd = 0
    while True:
        rnd += 1
        for i in range(n):
            if count[i] * max_weight >= rnd * weights[i]:
                continue
            offset, skip, j = offsets[i], skips[i], nxt[i]
            slot = (offset + j * skip) % m
            while table[slot] >= 0:
                j += 1
                slot = (offset + j * skip) % m
            nxt[i] = j + 1
            table[slot] = i
            count[i] += 1
            filled += 1
            if filled == m:
                return table


def maglev_pick(table: list[int], h: int, v: View) -> int:
    m = len(table)
    slot = h % m if m else 0
    for _ in range(m):
        s = table[slot]
        if s >= 0 and eligible(v, s):
            return s
        slot = slot + 1 if slot + 1 < m else 0
    return -1


# -- jump ---------------------------------------------------------------------


def jump_pick(owner: list[int], h: int, v: View) -> int:
    buckets = len(owner)
    if buckets == 0 or v.n == 0:
        return -1
    first = owner[jump(h, buckets)]
    if eligible(v, first):
        return first
    for attempt in range(1, JUMP_PROBES + 1):
        s = owner[jump(xxh64_u64(h, attempt), buckets)]
        if eligible(v, s):
            return s
    s = first
    for _ in range(1, v.n):
        s = s + 1 if s + 1 < v.n else 0
        if eligible(v, s):
            return s
    return -1
