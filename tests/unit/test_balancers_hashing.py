"""The hashing properties of fastproxy.balancers, with their figures.

Key-count runs (1M keys) use the C implementation; the pure-Python twin runs
fewer keys and checks the exact shares of its tables (the limit of infinitely
many keys), which are the same tables as the extension's (see
test_balancers_differential.py).  Measured figures are in the docstrings.
"""

import bisect
import math
import random
from collections import Counter
from fractions import Fraction
from functools import cache

import pytest

from fastproxy import balancers

IMPLS = balancers.implementations()
ORDER = [key for key in ("c", "python") if key in IMPLS]
IDS = {"c": "c-balancer", "python": "py-balancer"}
C = IMPLS.get("c")
KEYS_C = 1_000_000
KEYS_PY = 20_000
# Disruption counts moved keys of one server in ten: 200k keys put its
# sampling noise near 0.7%, well inside the 10% checked.
KEYS_C_DISRUPTION = 200_000
RING = 1 << 64


@pytest.fixture(params=ORDER, ids=[IDS[k] for k in ORDER])
def impl(request):
    return IMPLS[request.param]


def names(n):
    return [f"10.0.{i // 250}.{i % 250 + 1}:8080" for i in range(n)]


@cache
def key_hashes(count):
    """Hashes of the keys "key-0", "key-1", ... (the fastest implementation's)."""
    fast = C or IMPLS["python"]
    return tuple(map(fast.hash_key, (b"key-%d" % i for i in range(count))))


def keys_for(impl):
    return key_hashes(KEYS_C if impl is C else KEYS_PY)


def disruption_keys(impl):
    return key_hashes(KEYS_C if impl is C else KEYS_PY)[: KEYS_C_DISRUPTION if impl is C else KEYS_PY]


def max_over_mean(counts, n):
    return max(counts.get(i, 0) for i in range(n)) / (sum(counts.values()) / n)


def exact_shares(b):
    """The fraction of the 64-bit hash space each server owns."""
    if b.policy == "ring":
        arcs = [0] * b.size
        ring = b.ring()
        prev = ring[-1][0] - RING
        for point, server in ring:
            arcs[server] += point - prev
            prev = point
        return [Fraction(a, RING) for a in arcs]
    if b.policy == "maglev":
        slots = Counter(b.table())
        return [Fraction(slots[i], b.table_size) for i in range(b.size)]
    # jump: weight-many buckets each, and jump hash is exactly uniform
    return [Fraction(w, sum(b.weights)) for w in b.weights]


def oracle(b):
    """h -> the server the table structure gives, computed independently."""
    if b.policy == "ring":
        ring = b.ring()
        points = [p for p, _ in ring]
        return lambda h: ring[bisect.bisect_left(points, h) % len(ring)][1]
    if b.policy == "maglev":
        table = b.table()
        return lambda h: table[h % len(table)]
    cum = [sum(b.weights[: i + 1]) for i in range(b.size)]
    return lambda h: bisect.bisect_right(cum, balancers.jump_hash(h, cum[-1]))


# -- published vectors -----------------------------------------------------------

PRIME32 = 2654435761
PRIME64 = 11400714785074694797


def sanity_buffer(n):
    """The XXH64 specification's test buffer: top bytes of PRIME32 * PRIME64^i."""
    out, gen = bytearray(), PRIME32
    for _ in range(n):
        out.append(gen >> 56)
        gen = (gen * PRIME64) % (1 << 64)
    return bytes(out)


@pytest.mark.parametrize(
    ("length", "seed", "want"),
    [
        (0, 0, 0xEF46DB3751D8E999),
        (0, PRIME32, 0xAC75FDA2929B17EF),
        (1, 0, 0xE934A84ADB052768),
        (1, PRIME32, 0x5014607643A9B4C3),
        (4, 0, 0x9136A0DCA57457EE),
        (14, 0, 0x8282DCC4994E35C8),
        (14, PRIME32, 0xC3BD6BF63DEB6DF0),
        (222, 0, 0xB641AE8CB691C174),
        (222, PRIME32, 0x20CB8AB7AE10C14A),
    ],
)
def test_xxh64_published_sanity_vectors(impl, length, seed, want):
    assert impl.xxh64(sanity_buffer(length), seed) == want


def test_xxh64_short_strings_and_key_hash(impl):
    assert impl.xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert impl.xxh64(b"abc") == 0x44BC2CF5AD770999
    assert impl.hash_key(b"abc") == impl.xxh64(b"abc", 0)


@pytest.mark.parametrize(
    ("key", "want"),
    [
        (0, [0] * 19),
        (1, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17]),
        (0xDEADBEEF, [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16]),
        (0x0DDC0FFEEBADF00D, [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15]),
    ],
)
def test_jump_hash_reference_values_buckets_1_to_19(impl, key, want):
    """Values of the paper's reference code for 1..19 buckets."""
    assert [impl.jump_hash(key, b) for b in range(1, 20)] == want


def test_jump_hash_growing_moves_keys_only_into_the_new_bucket(impl):
    for h in key_hashes(KEYS_PY)[:500]:
        for b in range(1, 30):
            assert impl.jump_hash(h, b + 1) in (impl.jump_hash(h, b), b)


# -- balance ------------------------------------------------------------------------


def check_balance(impl, b, bound):
    """max/mean <= bound over the exact shares, over the keys, and every pick
    agrees with the table structure."""
    shares = exact_shares(b)
    assert max(shares) * b.size <= bound
    hashes = keys_for(impl)
    if impl is C:
        ratio = max_over_mean(Counter(map(b.pick_hash, hashes)), b.size)
        assert ratio <= bound, ratio
    owner = oracle(b)
    for h in hashes[:2000]:
        assert b.pick_hash(h) == owner(h)
    return float(max(shares) * b.size)


def test_maglev_balance_100_servers_1M_keys_max_over_mean_at_most_1_05(impl):
    """Measured: 1.026 over 1M keys; the table itself 1.0006 (655 or 656 slots each)."""
    b = impl.MaglevHash(names(100), [1] * 100)
    assert check_balance(impl, b, 1.05) <= 1.001


def test_ring_balance_100_servers_default_virtual_nodes_1M_keys_max_over_mean_at_most_1_10(impl):
    """Default 2000 points per server: measured 1.053 over 1M keys, 1.042 exact
    (at most 1.089 over 20 other server sets; ketama's 160 points give ~1.2)."""
    b = impl.RingHash(names(100), [1] * 100)
    assert b.virtual_nodes == 2000
    check_balance(impl, b, 1.10)


def test_jump_balance_100_servers_1M_keys_max_over_mean_at_most_1_05(impl):
    """Jump hash is exactly uniform: only key sampling noise (measured 1.025)."""
    check_balance(impl, impl.JumpHash(names(100), [1] * 100), 1.05)


# -- minimal disruption ------------------------------------------------------------


def picks_by_name(b, hashes):
    return [b.names[i] for i in map(b.pick_hash, hashes)]


def check_removal(full, less, removed, hashes, others_may_move):
    before = picks_by_name(full, hashes)
    after = picks_by_name(less, hashes)
    moved = [i for i, (x, y) in enumerate(zip(before, after)) if x != y]
    fair = len(hashes) / full.size
    if not others_may_move:
        assert all(before[i] == removed for i in moved), "a key of another server moved"
    assert abs(len(moved) / fair - 1) <= 0.10, len(moved) / fair
    return len(moved) / fair


@pytest.mark.parametrize("k", [0, 4])
def test_ring_removing_1_of_10_moves_a_tenth_within_10_percent_and_nothing_else(impl, k):
    """Measured: 0.97 of a tenth for both; no key of another server moves."""
    all_names = names(10)
    full = impl.RingHash(all_names, [1] * 10)
    less = impl.RingHash(all_names[:k] + all_names[k + 1 :], [1] * 9)
    check_removal(full, less, all_names[k], disruption_keys(impl), others_may_move=False)


def test_jump_removing_the_last_of_10_moves_a_tenth_within_10_percent_and_nothing_else(impl):
    """Jump hash buckets are ordered: the last server is the one that can go
    without renumbering (others leave by mark_down).  Measured: 1.00 of a tenth."""
    all_names = names(10)
    full = impl.JumpHash(all_names, [1] * 10)
    less = impl.JumpHash(all_names[:9], [1] * 9)
    check_removal(full, less, all_names[9], disruption_keys(impl), others_may_move=False)


@pytest.mark.parametrize("k", [0, 4])
def test_maglev_removing_1_of_10_moves_a_tenth_within_10_percent(impl, k):
    """Rebuilt without a server, Maglev also moves a few other keys: measured
    1.03 of a tenth with 10 servers (with 100 servers, about 1.55 of a hundredth:
    Maglev trades some disruption for its even table; mark_down, below, moves
    only the down server's keys)."""
    all_names = names(10)
    full = impl.MaglevHash(all_names, [1] * 10)
    less = impl.MaglevHash(all_names[:k] + all_names[k + 1 :], [1] * 9)
    check_removal(full, less, all_names[k], disruption_keys(impl), others_may_move=True)


@pytest.mark.parametrize("method", ["ring", "maglev", "jump"])
def test_mark_down_moves_only_its_keys_a_tenth_within_10_percent_and_they_come_back(impl, method):
    """Measured: ring 1.045, Maglev 1.002, jump 1.003 of a tenth; exactly the
    down server's keys move, each to its next choice, and all come back."""
    cls = {"ring": impl.RingHash, "maglev": impl.MaglevHash, "jump": impl.JumpHash}[method]
    b = cls(names(10), [1] * 10)
    hashes = disruption_keys(impl)
    before = list(map(b.pick_hash, hashes))
    b.mark_down(3)
    during = list(map(b.pick_hash, hashes))
    moved = [i for i in range(len(hashes)) if before[i] != during[i]]
    assert moved == [i for i in range(len(hashes)) if before[i] == 3]
    assert 3 not in during
    assert abs(len(moved) / (len(hashes) / 10) - 1) <= 0.10
    b.mark_up(3)
    assert list(map(b.pick_hash, hashes)) == before


def test_all_down_gives_minus_one(impl):
    for b in (
        impl.RingHash(names(3), [1] * 3, virtual_nodes=5),
        impl.MaglevHash(names(3), [1] * 3, table_size=7),
        impl.JumpHash(names(3), [1] * 3),
    ):
        for i in range(3):
            b.mark_down(i)
        assert b.pick(b"key") == -1 and b.pick() == -1


# -- weights -------------------------------------------------------------------------

WEIGHTS = [1, 2, 3, 4]


def pick_shares(impl, b):
    if b.hashed:
        if impl is not C:
            return [float(s) for s in exact_shares(b)]
        counts = Counter(map(b.pick_hash, key_hashes(KEYS_C)))
    else:
        rounds = {"random": KEYS_C if impl is C else 200_000}.get(b.policy, 1000)
        counts = Counter(b.pick() for _ in range(rounds))
    total = sum(counts.values())
    return [counts.get(i, 0) / total for i in range(b.size)]


@pytest.mark.parametrize(
    ("policy", "kwargs"),
    [
        ("RoundRobin", {}),
        ("WeightedRoundRobin", {}),
        ("Random", {"seed": 11}),
        ("MaglevHash", {}),
        ("JumpHash", {}),
        # Ring shares vary as 1/sqrt(points): 2% needs ~20,000 per unit of
        # weight (the default 2000 gives about 2.2% per server).
        ("RingHash", {"virtual_nodes": 20_000}),
    ],
)
def test_weights_1_2_3_4_honoured_within_2_percent(impl, policy, kwargs):
    """Round robin exactly; random over 1M draws (C) or 200k (Python); hash
    policies over 1M keys (C) or exactly (Python)."""
    b = getattr(impl, policy)(names(4), WEIGHTS, **kwargs)
    for share, w in zip(pick_shares(impl, b), WEIGHTS):
        assert share == pytest.approx(w / 10, rel=0.02)


# -- bounded loads ------------------------------------------------------------------


def skewed_stream(count, rng):
    """Keys of a skewed stream: half "hot-0", a quarter "hot-1", the rest spread."""
    for _ in range(count):
        r = rng.random()
        if r < 0.5:
            yield b"hot-0"
        elif r < 0.75:
            yield b"hot-1"
        else:
            yield b"k-%d" % rng.randrange(1000)


def run_stream(b, count, factor, check):
    """Picks and acquires along a skewed stream, releasing a random earlier
    request 45% of the time and marking server 5 down for a while; returns
    the most any pick went over its bound (<= 0: never)."""
    rng = random.Random(20240601)
    in_flight = []
    worst = -math.inf
    for step, key in enumerate(skewed_stream(count, rng)):
        if step == count // 3:
            b.mark_down(5)
        if step == 2 * count // 3:
            b.mark_up(5)
        live_load = sum(b.load(i) for i in range(b.size) if b.is_up(i))
        live = sum(1 for i in range(b.size) if b.is_up(i))
        i = b.pick(key)
        # Bound: load after this pick <= ceil(c * (live load + 1) / live servers)
        bound = math.ceil(Fraction(factor) * (live_load + 1) / live)
        worst = max(worst, b.load(i) + 1 - bound)
        if check:
            assert b.load(i) + 1 <= bound, (step, i)
        b.acquire(i)
        in_flight.append(i)
        if rng.random() < 0.45 and in_flight:
            b.release(in_flight.pop(rng.randrange(len(in_flight))), 0.01)
    return worst


@pytest.mark.parametrize("method", ["RingHash", "MaglevHash"])
def test_bounded_load_1_25_never_exceeded_under_a_skewed_key_stream(impl, method):
    """20 servers, c = 1.25, 75% of requests on two keys: no pick ever puts a
    server past ceil(1.25 * (in flight + 1) / live servers), including while a
    server is down.  Without the bound the same stream overshoots it."""
    count = 20_000 if impl is C else 4_000
    kwargs = {"virtual_nodes": 100} if method == "RingHash" else {"table_size": 2003}
    bounded = getattr(impl, method)(names(20), [1] * 20, bounded_load=1.25, **kwargs)
    assert run_stream(bounded, count, 1.25, check=True) <= 0
    unbounded = getattr(impl, method)(names(20), [1] * 20, **kwargs)
    assert run_stream(unbounded, count, 1.25, check=False) > 100


def test_bounded_load_honours_weights(impl):
    """With weights 1 and 3 and c = 1.0, in-flight counts stay within one
    request of the 1:3 shares however the keys fall."""
    b = impl.MaglevHash(names(2), [1, 3], table_size=101, bounded_load=1.0)
    for step in range(400):
        i = b.pick(b"same-key")
        b.acquire(i)
        total = step + 1
        assert b.load(0) <= math.ceil(total / 4) and b.load(1) <= math.ceil(3 * total / 4)
    assert (b.load(0), b.load(1)) == (100, 300)
