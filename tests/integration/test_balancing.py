"""Balancing in the data path, with several real origins: every policy the
config offers runs, hash keys come from the request, the in-flight counts
follow the exchanges, and no server up means a 503 at once."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from fastproxy.config import parse_config
from tests.integration.rawhttp import build_request


@pytest.fixture
def balanced(start_proxy, origin_factory):
    """``make(balance, n=3, weights=None, server=None, **options) -> (proxy, origins)``:
    the proxy in front of ``n`` origins named o1..oN, one upstream with this
    balance setting, catch-all route; stopped (and checked) at teardown."""

    def make(balance: str, n: int = 3, weights=None, server=None, **options):
        origins = [origin_factory(f"o{i + 1}") for i in range(n)]
        servers = [{"address": f"127.0.0.1:{o.port}", "weight": w}
                   for o, w in zip(origins, weights or [1] * n)]
        data = {
            "listener": [{"bind": "127.0.0.1:0"}],
            "upstream": {"api": {"servers": servers, "balance": balance, **options}},
            "route": [{"upstream": "api"}],
        }
        if server:
            data["server"] = server
        return start_proxy(parse_config(data)), origins

    return make


def loads(proxy) -> dict[int, int]:
    """The balancer's in-flight count per origin port (the upstream of route 0)."""
    def read():
        group = proxy.proxy.ctx.router.routes[0].upstream
        return {pool.port: group.balancer.load(i) for i, pool in enumerate(group.pools)}
    return proxy.call(read)


def served_by(proxy, requests) -> list[str]:
    """The X-Origin of each response to ``requests`` ((target, headers) pairs), on one connection."""
    names = []
    with proxy.client() as c:
        for target, headers in requests:
            r = c.request("GET", target, headers=headers)
            assert r.status == 200, r.body
            names.append(r.header("X-Origin"))
    return names


def test_round_robin_spreads_evenly(balanced):
    proxy, _ = balanced("round_robin")
    names = served_by(proxy, [("/echo", None)] * 30)
    assert Counter(names) == {"o1": 10, "o2": 10, "o3": 10}
    # Consecutive requests go to different origins: a rotation, not runs.
    assert all(a != b for a, b in pairwise(names))


@pytest.mark.parametrize("balance", ["round_robin", "weighted_round_robin"])
def test_weights_are_honoured(balanced, balance):
    proxy, _ = balanced(balance, n=2, weights=[1, 3])
    assert Counter(served_by(proxy, [("/echo", None)] * 40)) == {"o1": 10, "o2": 30}


def test_random_and_p2c_reach_every_origin(balanced):
    for balance in ("random", "p2c"):
        proxy, _ = balanced(balance)
        assert set(served_by(proxy, [("/echo", None)] * 60)) == {"o1", "o2", "o3"}


@pytest.mark.parametrize("method", ["ring", "maglev", "jump"])
def test_consistent_hash_on_a_header_is_sticky(balanced, method):
    proxy, _ = balanced("consistent_hash", hash_key="header:X-User", hash=method)
    users = [f"user-{i}" for i in range(24)]
    first = dict(zip(users, served_by(proxy, [("/echo", {"X-User": u}) for u in users])))
    # Again, in another order and on another connection: the same origins.
    again = served_by(proxy, [("/echo", {"X-User": u}) for u in reversed(users)])
    assert again == [first[u] for u in reversed(users)]
    # Different keys spread over the origins (24 keys all on one of 3: p < 1e-10).
    assert len(set(first.values())) >= 2


def test_consistent_hash_on_the_uri_serves_the_bench_config(balanced):
    # The shape of the benchmark's chash scenario.
    proxy, _ = balanced("consistent_hash", hash_key="uri", hash="ring")
    targets = [f"/echo?page={i}" for i in range(12)]
    first = served_by(proxy, [(t, None) for t in targets])
    assert served_by(proxy, [(t, None) for t in targets]) == first
    assert len(set(first)) >= 2


def test_ip_hash_is_stable_and_sees_the_client_behind_a_trusted_proxy(balanced):
    proxy, _ = balanced("ip_hash", server={"headers": {"trusted_proxies": ["127.0.0.0/8"]}})
    clients = [f"203.0.113.{i}" for i in range(1, 25)]
    first = served_by(proxy, [("/echo", {"X-Forwarded-For": ip}) for ip in clients])
    assert served_by(proxy, [("/echo", {"X-Forwarded-For": ip}) for ip in clients]) == first
    assert len(set(first)) >= 2
    # The peer itself when no chain is given: one origin, every time.
    assert len(set(served_by(proxy, [("/echo", None)] * 6))) == 1


def test_ip_hash_ignores_the_chain_of_an_untrusted_peer(balanced):
    proxy, _ = balanced("ip_hash")
    names = served_by(proxy, [("/echo", {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(1, 13)])
    assert len(set(names)) == 1


def test_least_conn_prefers_the_idle_server(balanced):
    proxy, origins = balanced("least_conn", n=2)
    by_name = {o.name: o for o in origins}
    with proxy.client() as held:
        held.send(build_request("GET", "/gate/busy"))
        proxy.wait_until(lambda: any(o.gate_reached("busy").is_set() for o in origins),
                         what="gated request at an origin")
        busy = next(o.name for o in origins if o.gate_reached("busy").is_set())
        idle = next(name for name in by_name if name != busy)
        # While one exchange is in flight on ``busy``, every new one goes to ``idle``.
        assert served_by(proxy, [("/echo", None)] * 8) == [idle] * 8
        assert loads(proxy) == {by_name[busy].port: 1, by_name[idle].port: 0}
        by_name[busy].release("busy")
        r = held.read_response()
        assert r.status == 200 and r.header("X-Origin") == busy
    # Both idle again: requests alternate (ties rotate).
    assert set(served_by(proxy, [("/echo", None)] * 4)) == {"o1", "o2"}


def test_no_server_up_is_a_503_at_once(balanced):
    proxy, origins = balanced("round_robin", n=2)

    def all_down():
        group = proxy.proxy.ctx.router.routes[0].upstream
        for i in range(group.balancer.size):
            group.balancer.mark_down(i)

    proxy.call(all_down)
    with proxy.client() as c:
        r = c.request("GET", "/echo")
    assert r.status == 503
    assert r.body == b"no upstream server is available\n"
    assert all(o.heads_received == 0 for o in origins)


def test_in_flight_counts_return_to_zero(balanced):
    proxy, _ = balanced("least_conn", n=2)
    served_by(proxy, [("/echo", None)] * 5)
    with proxy.client() as c:
        assert c.request("GET", "/status/500").status == 500
        assert c.request("GET", "/nothing-here").status == 404
    assert set(loads(proxy).values()) == {0}
