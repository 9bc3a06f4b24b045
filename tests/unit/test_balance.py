"""The balance stage: a Group picks a server of its upstream, and a hash key
out of the parsed request only for the policies that hash."""

from collections import Counter

import pytest

from fastproxy import balancers
from fastproxy.balance import Group
from fastproxy.clientip import TrustedProxies
from fastproxy.config import parse_config
from fastproxy.heads import ParsedHead
from fastproxy.rewrite import Peer

SERVERS = ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]


def group(balance="round_robin", servers=SERVERS, trusted=(), **options):
    config = parse_config({
        "listener": [{"bind": "127.0.0.1:0"}],
        "upstream": {"api": {"servers": servers, "balance": balance, **options}},
        "route": [{"upstream": "api"}],
    })
    upstream = config.upstreams[0]
    pools = [object() for _ in upstream.servers]
    return Group("api", pools, balancers.build(upstream), balancers.key_extractor(upstream),
                 TrustedProxies(trusted))


def request(parser_impl, *fields, target=b"/"):
    head = ParsedHead(parser_impl.RequestParser())
    buf = bytearray(b"GET " + target + b" HTTP/1.1\r\nHost: a\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n")
    assert head.parse(buf, len(buf)) == len(buf)
    return head, buf, target


def pick(g, parser_impl, *fields, target=b"/", peer=None):
    head, buf, target = request(parser_impl, *fields, target=target)
    return g.pick(head, buf, target, peer or Peer("10.0.0.1", False))


def test_round_robin_needs_no_key_and_rotates(parser_impl):
    g = group()
    assert g.key_kind == -1
    assert [pick(g, parser_impl) for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_weighted_shares(parser_impl):
    g = group("weighted_round_robin", servers=["127.0.0.1:9001", {"address": "127.0.0.1:9002", "weight": 3}])
    assert Counter(pick(g, parser_impl) for _ in range(400)) == {0: 100, 1: 300}


def test_header_key_is_sticky_and_missing_header_rotates(parser_impl):
    g = group("consistent_hash", hash_key="header:X-User")
    for user in (b"alice", b"bob", b"carol"):
        first = pick(g, parser_impl, b"X-User: " + user)
        assert {pick(g, parser_impl, b"x-user: " + user) for _ in range(5)} == {first}
    head, buf, target = request(parser_impl, b"X-Other: 1")
    assert g.key(head, buf, target, Peer("10.0.0.1", False)) is None
    assert {pick(g, parser_impl) for _ in range(30)} == {0, 1, 2}


@pytest.mark.parametrize(("spec", "fields", "target", "key"), [
    ("uri", (), b"/a/b?c=1", b"/a/b?c=1"),
    ("query:id", (), b"/x?a=1&id=42", b"42"),
    ("query:id", (), b"/x?a=1", None),
    ("cookie:sid", (b"Cookie: a=1", b"Cookie: sid=s3; b=2"), b"/", b"s3"),
    ("cookie:sid", (b"Cookie: a=1",), b"/", None),
    ("header:X-User", (b"X-User: u1",), b"/", b"u1"),
])
def test_keys_from_the_request(parser_impl, spec, fields, target, key):
    g = group("consistent_hash", hash_key=spec)
    head, buf, target = request(parser_impl, *fields, target=target)
    assert g.key(head, buf, target, Peer("10.0.0.1", False)) == key


def test_ip_hash_sees_the_client_behind_trusted_proxies(parser_impl):
    g = group("ip_hash", trusted=["10.0.0.0/8"])
    xff = b"X-Forwarded-For: 203.0.113.7, 10.1.1.1"
    head, buf, target = request(parser_impl, xff)
    assert g.key(head, buf, target, Peer("10.0.0.1", True)) == b"203.0.113.7"
    # An untrusted peer's chain is ignored: the peer is the client.
    assert g.key(head, buf, target, Peer("192.0.2.9", False)) == b"192.0.2.9"
    # Without a chain, the trusted peer itself.
    head, buf, target = request(parser_impl)
    assert g.key(head, buf, target, Peer("10.0.0.1", True)) == b"10.0.0.1"
    same = {pick(g, parser_impl, xff, peer=Peer("10.0.0.2", True)) for _ in range(5)}
    assert len(same) == 1


def test_acquire_and_release_count_the_load():
    g = group("least_conn")
    g.acquire(1)
    assert g.balancer.load(1) == 1
    g.release(1, 0.01)
    assert g.balancer.load(1) == 0


def test_all_down_is_minus_one(parser_impl):
    g = group()
    for i in range(3):
        g.balancer.mark_down(i)
    assert pick(g, parser_impl) == -1


def test_one_pool_per_server():
    g = group()
    with pytest.raises(ValueError):
        Group("api", g.pools[:2], g.balancer, None, TrustedProxies(()))


def test_a_server_returns_only_when_every_reason_to_be_out_is_gone(parser_impl):
    from fastproxy.balance import OUT_ACTIVE, OUT_ADMIN, OUT_PASSIVE

    g = group()
    assert g.set_out(1, OUT_ADMIN, True) is True
    assert g.set_out(1, OUT_PASSIVE, True) is False  # already out: the balancer hears nothing
    assert g.out_reasons(1) == ["ejected", "drained"]
    assert {pick(g, parser_impl) for _ in range(6)} == {0, 2}
    assert g.set_out(1, OUT_ADMIN, False) is False  # still ejected
    assert not g.balancer.is_up(1)
    assert g.set_out(1, OUT_PASSIVE, False) is True
    assert g.balancer.is_up(1) and g.out_reasons(1) == []
    assert g.set_out(0, OUT_ACTIVE, False) is False  # clearing a clear reason changes nothing
    with pytest.raises(IndexError):
        g.set_out(3, OUT_ACTIVE, True)


def test_pick_other_leaves_the_tried_servers_out_and_restores_them(parser_impl):
    g = group()
    assert g.pick_other(None, 0b011) == 2
    assert g.pick_other(None, 0b111) == -1  # everything tried: no retry
    assert [g.balancer.is_up(i) for i in range(3)] == [True, True, True]
    assert {g.pick_other(None, 0b001) for _ in range(6)} == {1, 2}


def test_pick_other_keeps_a_server_that_is_out_for_another_reason_out(parser_impl):
    from fastproxy.balance import OUT_PASSIVE

    g = group()
    g.set_out(2, OUT_PASSIVE, True)
    assert g.pick_other(None, 0b101) == 1
    assert g.pick_other(None, 0b011) == -1
    assert [g.balancer.is_up(i) for i in range(3)] == [True, True, False]


@pytest.mark.parametrize("method", ["ring", "maglev", "jump"])
def test_pick_other_sends_a_key_to_its_next_choice(parser_impl, method):
    g = group("consistent_hash", hash_key="header:X-User", hash=method)
    for user in (b"alice", b"bob", b"carol", b"dave"):
        head, buf, target = request(parser_impl, b"X-User: " + user)
        peer = Peer("10.0.0.1", False)
        key = g.key(head, buf, target, peer)
        first = g.pick(head, buf, target, peer)
        other = g.pick_other(key, 1 << first)
        assert other != first
        # The next choice is where the key goes while its first server is down.
        g.balancer.mark_down(first)
        assert g.pick(head, buf, target, peer) == other
        g.balancer.mark_up(first)
        assert g.pick_other(key, 1 << first) == other  # the same, every time


def test_retries_keep_smooth_weighted_round_robin_in_step(parser_impl):
    # Weights 5:1:1 and a retry off server 0 after every second request: the
    # first tries keep 5:1:1 and the retries split 1:1 between the others.
    # (Hiding server 0 for each retry restarted the smoothing: every first
    # try then went to server 0, and every retry to server 1.)
    g = group("weighted_round_robin", servers=[{"address": a, "weight": w} for a, w in zip(SERVERS, (5, 1, 1))])
    first, retries = [], []
    for n in range(7000):
        first.append(pick(g, parser_impl))
        if n % 2:
            retries.append(g.pick_other(None, 0b001))
    assert [first.count(i) for i in range(3)] == [5000, 1000, 1000]
    assert retries.count(0) == 0 and abs(retries.count(1) - retries.count(2)) <= 4
