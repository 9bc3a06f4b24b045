"""fastproxy.balancers: each policy's picks, in-flight tracking, up/down,
key extraction and argument checks, on both implementations.

The hashing properties (published vectors, balance, disruption, bounded
loads) are in test_balancers_hashing.py; C/Python agreement and determinism
across processes in test_balancers_differential.py.
"""

from collections import Counter

import pytest

from fastproxy import balancers
from fastproxy.config import parse_config

IMPLS = balancers.implementations()
ORDER = [key for key in ("c", "python") if key in IMPLS]
IDS = {"c": "c-balancer", "python": "py-balancer"}


@pytest.fixture(params=ORDER, ids=[IDS[k] for k in ORDER])
def impl(request):
    return IMPLS[request.param]


NAMES = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]


def picks(b, count, key=None):
    return [b.pick(key) for _ in range(count)]


# -- round robin family ---------------------------------------------------------


def test_round_robin_equal_weights_rotate(impl):
    b = impl.RoundRobin(NAMES, [1, 1, 1, 1])
    assert picks(b, 6) == [0, 1, 2, 3, 0, 1]
    assert b.schedule() == [0, 1, 2, 3]


def test_round_robin_weighted_cycle_is_spread_and_skips_down_servers(impl):
    b = impl.RoundRobin(NAMES[:3], [5, 1, 1])
    # Turns at (2k+1)/(2w) of the cycle: a at 1/10..9/10, b and c at 1/2.
    assert b.schedule() == [0, 0, 0, 1, 2, 0, 0]
    assert picks(b, 7) == [0, 0, 0, 1, 2, 0, 0]
    b.mark_down(0)
    assert picks(b, 4) == [1, 2, 1, 2]
    b.mark_down(1)
    b.mark_down(2)
    assert b.pick() == -1 and b.live == 0


def test_weighted_round_robin_is_smooth(impl):
    """Weights 5,1,1 give a a b a c a a: the heavy server is never sent a burst."""
    b = impl.WeightedRoundRobin(NAMES[:3], [5, 1, 1])
    assert picks(b, 14) == [0, 0, 1, 0, 2, 0, 0] * 2


def test_weighted_round_robin_restarts_smoothly_after_a_change(impl):
    b = impl.WeightedRoundRobin(NAMES[:3], [5, 1, 1])
    picks(b, 3)
    b.mark_down(1)  # the scores restart: weights 5 and 1 now
    assert picks(b, 6) == [0, 0, 0, 2, 0, 0]
    b.mark_up(1)
    assert picks(b, 7) == [0, 0, 1, 0, 2, 0, 0]


def test_random_is_weighted_seeded_and_skips_down_servers(impl):
    a = impl.Random(NAMES, [1, 1, 1, 1], seed=7)
    b = impl.Random(NAMES, [1, 1, 1, 1], seed=7)
    c = impl.Random(NAMES, [1, 1, 1, 1], seed=8)
    first = picks(a, 50)
    assert first == picks(b, 50)
    assert first != picks(c, 50)
    a.mark_down(2)
    assert 2 not in picks(a, 200)
    for i in (0, 1, 3):
        a.mark_down(i)
    assert a.pick() == -1


def test_least_conn_prefers_fewest_in_flight_per_weight_and_rotates_ties(impl):
    b = impl.LeastConn(NAMES[:3], [1, 2, 1])
    assert picks(b, 3) == [0, 1, 2]  # idle: ties rotate
    for i in range(3):
        b.acquire(i)
    assert b.pick() == 1  # 1/2 in flight per unit of weight beats 1/1
    b.acquire(1)
    b.acquire(1)  # now 3/2
    assert b.pick() in (0, 2)
    b.release(1)
    b.release(1)
    b.release(1)
    assert b.load(1) == 0 and b.pick() == 1


def test_least_conn_in_flight_follows_weights_exactly(impl):
    """Saturated (acquire only): in-flight counts are proportional to weights 1:2:3:4."""
    b = impl.LeastConn(NAMES, [1, 2, 3, 4])
    for _ in range(1000):
        b.acquire(b.pick())
    assert [b.load(i) for i in range(4)] == [100, 200, 300, 400]


def test_p2c_in_flight_follows_weights_within_2_percent(impl):
    """Saturated p2c with weights 1:2:3:4 over 10,000 requests: each in-flight
    count within 2 percent of its weighted share (measured: 0.1 percent)."""
    b = impl.PowerOfTwoChoices(NAMES, [1, 2, 3, 4], seed=1)
    for _ in range(10_000):
        b.acquire(b.pick())
    for i, w in enumerate([1, 2, 3, 4]):
        assert b.load(i) == pytest.approx(1000 * w, rel=0.02)


def test_p2c_breaks_ties_by_latency_average(impl):
    b = impl.PowerOfTwoChoices(NAMES[:2], [1, 1], seed=3)
    b.release(0, 0.5)
    b.release(1, 0.1)
    assert b.latency(0) == 0.5 and b.latency(1) == 0.1
    assert picks(b, 10) == [1] * 10  # equal load: the faster one
    b.release(1, 0.9)  # EWMA: 0.1 + (0.9 - 0.1) * 0.25 = 0.3
    assert b.latency(1) == pytest.approx(0.3)
    b.release(1, 1.5)  # 0.3 + 1.2 * 0.25 = 0.6 > 0.5
    assert picks(b, 10) == [0] * 10


def test_p2c_with_one_live_server_and_none(impl):
    b = impl.PowerOfTwoChoices(NAMES[:2], [1, 1])
    b.mark_down(0)
    assert picks(b, 3) == [1, 1, 1]
    b.mark_down(1)
    assert b.pick() == -1


# -- in-flight and up/down bookkeeping ----------------------------------------


def test_acquire_release_and_state(impl):
    b = impl.LeastConn(NAMES[:2], [1, 1])
    b.acquire(0)
    b.acquire(0)
    b.release(0, 0.2)
    assert b.load(0) == 1 and b.latency(0) == 0.2 and b.latency(1) == -1.0
    b.release(0, -1.0)  # no sample: a failed request
    b.release(0)  # more releases than acquires: ignored
    assert b.load(0) == 0 and b.latency(0) == 0.2
    assert b.is_up(0) and b.live == 2 and b.size == 2
    b.mark_down(0)
    b.mark_down(0)  # twice: still down once
    assert not b.is_up(0) and b.live == 1
    b.mark_up(0)
    assert b.live == 2
    assert b.names == tuple(NAMES[:2]) and b.weights == (1, 1)
    assert repr(b) == "<LeastConn 2/2 up>"


@pytest.mark.parametrize("method", ["acquire", "release", "mark_down", "mark_up", "is_up", "load", "latency"])
def test_server_index_is_checked(impl, method):
    b = impl.RoundRobin(NAMES[:2], [1, 1])
    with pytest.raises(IndexError, match="out of range"):
        getattr(b, method)(2)
    with pytest.raises(IndexError):
        getattr(b, method)(-1)


def test_hash_policies_spread_keyless_requests_by_rotation(impl):
    for b in (
        impl.RingHash(NAMES, [1] * 4, virtual_nodes=10),
        impl.MaglevHash(NAMES, [1] * 4, table_size=101),
        impl.JumpHash(NAMES, [1] * 4),
    ):
        assert b.hashed
        assert picks(b, 5) == [0, 1, 2, 3, 0]
        b.mark_down(1)
        assert picks(b, 3) == [2, 3, 0]


def test_non_hash_policies_ignore_the_key(impl):
    b = impl.RoundRobin(NAMES[:2], [1, 1])
    assert not b.hashed
    assert [b.pick(b"k"), b.pick(b"k"), b.pick_hash(5)] == [0, 1, 0]


def test_hash_pick_takes_bytes_like_keys_only(impl):
    b = impl.JumpHash(NAMES, [1] * 4)
    key = b"user-42"
    assert b.pick(key) == b.pick(bytearray(key)) == b.pick(memoryview(key)) == b.pick_hash(impl.hash_key(key))
    with pytest.raises(TypeError):
        b.pick("user-42")
    with pytest.raises(TypeError):
        b.pick(42)
    with pytest.raises(OverflowError):
        b.pick_hash(-1)
    with pytest.raises(OverflowError):
        b.pick_hash(1 << 64)


# -- constructor checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "weights", "error", "match"),
    [
        ([], [], ValueError, "at least one server"),
        (NAMES[:2], [1], ValueError, "2 servers but 1 weights"),
        (["a:1", "a:1"], [1, 1], ValueError, "listed twice"),
        (["a:1"], [0], ValueError, "out of range"),
        (["a:1"], [65536], ValueError, "out of range"),
        (["a:1"], [True], TypeError, "must be an int"),
        ([1], [1], TypeError, "str or bytes"),
        ("a:1", [1], TypeError, "not one string"),
    ],
)
def test_bad_servers_are_refused(impl, names, weights, error, match):
    for cls in (impl.RoundRobin, impl.RingHash, impl.JumpHash):
        with pytest.raises(error, match=match):
            cls(names, weights)


def test_bad_hashing_arguments_are_refused(impl):
    with pytest.raises(ValueError, match="out of range"):
        impl.RingHash(NAMES, [1] * 4, bounded_load=0.5)
    with pytest.raises(ValueError, match="at least 1"):
        impl.RingHash(NAMES, [1] * 4, virtual_nodes=0)
    with pytest.raises(ValueError, match="ring points"):
        impl.RingHash(NAMES, [1000] * 4, virtual_nodes=1000)
    with pytest.raises(ValueError, match="must be a prime"):
        impl.MaglevHash(NAMES, [1] * 4, table_size=65536)
    with pytest.raises(ValueError, match="smaller than the number of servers"):
        impl.MaglevHash(NAMES, [1] * 4, table_size=3)
    with pytest.raises(OverflowError):
        impl.Random(NAMES, [1] * 4, seed=-1)
    assert impl.MaglevHash(NAMES, [1] * 4, bounded_load=1.25).bounded_load == 1.25
    assert impl.RingHash([b"a:1"], [1], virtual_nodes=3).names == ("a:1",)


# -- build() from a config --------------------------------------------------------


def upstream(**keys):
    data = {
        "listener": [{"bind": "127.0.0.1:8080"}],
        "route": [{"upstream": "api"}],
        "upstream": {
            "api": {"servers": ["127.0.0.1:9001", {"address": "127.0.0.1:9002", "weight": 3}], **keys}
        },
    }
    return parse_config(data).upstream("api")


@pytest.mark.parametrize(
    ("keys", "cls", "policy"),
    [
        ({}, "RoundRobin", "round_robin"),
        ({"balance": "weighted_round_robin"}, "WeightedRoundRobin", "weighted_round_robin"),
        ({"balance": "random"}, "Random", "random"),
        ({"balance": "least_conn"}, "LeastConn", "least_conn"),
        ({"balance": "p2c"}, "PowerOfTwoChoices", "p2c"),
        ({"balance": "ip_hash"}, "RingHash", "ring"),
        ({"balance": "consistent_hash", "hash_key": "uri", "hash": "maglev"}, "MaglevHash", "maglev"),
        ({"balance": "consistent_hash", "hash_key": "uri", "hash": "jump"}, "JumpHash", "jump"),
    ],
)
def test_build_from_config(impl, keys, cls, policy):
    b = balancers.build(upstream(**keys), impl=impl)
    assert type(b) is getattr(impl, cls) and b.policy == policy
    assert b.names == ("127.0.0.1:9001", "127.0.0.1:9002") and b.weights == (1, 3)


def test_build_passes_hashing_settings(impl):
    ring = balancers.build(
        upstream(balance="consistent_hash", hash_key="uri", virtual_nodes=7, bounded_load=1.5), impl=impl
    )
    assert (ring.virtual_nodes, ring.bounded_load, len(ring.ring())) == (7, 1.5, 28)
    maglev = balancers.build(upstream(balance="ip_hash", hash="maglev", table_size=101), impl=impl)
    # Weights 1:3 fill round by round: server 1 every round, server 0 every
    # third (rounds 1, 4, ..., 76, where the table fills).
    assert maglev.table_size == 101 and Counter(maglev.table()) == {0: 26, 1: 75}
    assert balancers.key_extractor(upstream(balance="ip_hash"), impl=impl).spec == "client_ip"
    assert balancers.key_extractor(upstream(), impl=impl) is None


# -- keys -------------------------------------------------------------------------

HEADERS = [
    (b"Host", b"example.com"),
    (b"X-User", b"alice"),
    (b"Cookie", b"theme=dark; session=abc123"),
    (b"x-user", b"bob"),
    (b"Cookie", b'other=1; lang="fr"'),
]


@pytest.mark.parametrize(
    ("spec", "client_ip", "target", "want"),
    [
        ("client_ip", b"192.0.2.7", b"/", b"192.0.2.7"),
        ("client_ip", None, b"/", None),
        ("uri", None, b"/a/b?c=d", b"/a/b?c=d"),
        ("header:X-User", None, b"/", b"alice"),  # the first field, name case-insensitive
        ("header:x-missing", None, b"/", None),
        ("cookie:session", None, b"/", b"abc123"),
        ("cookie:lang", None, b"/", b'"fr"'),  # in the second Cookie field, quotes kept
        ("cookie:Session", None, b"/", None),  # cookie names are case-sensitive
        ("query:id", None, b"/p?a=1&id=42&id=7", b"42"),
        ("query:flag", None, b"/p?flag&x=1", b""),
        ("query:id", None, b"/p?a=%20&id=a%2Fb#frag", b"a%2Fb"),
        ("query:id", None, b"/p", None),
        ("query:id", None, b"/p?ids=1", None),
    ],
)
def test_key_extraction(impl, spec, client_ip, target, want):
    assert impl.KeyExtractor(spec).extract(client_ip, target, HEADERS) == want


def test_key_extractor_kinds_and_bad_specs(impl):
    header = impl.KeyExtractor("header:X-User")
    assert (header.kind, header.name, repr(header)) == (2, b"x-user", "KeyExtractor('header:X-User')")
    assert impl.KeyExtractor("cookie:SID").name == b"SID"
    for bad in ("", "header:", "host", "header:é"):
        with pytest.raises(ValueError):
            impl.KeyExtractor(bad)


def test_cookie_and_query_helpers(impl):
    assert impl.cookie_value(b"a=1;b=2 ; c = 3", b"c") == b"3"
    assert impl.cookie_value(b"a", b"a") is None
    assert impl.query_value(b"/?x=1&y", b"y") == b""
