"""Balancer micro-benchmarks: time per pick of each policy with 10 and 1000
servers, ours (the extension and the pure-Python twin) against a plain-Python
implementation of the same policy (plain_balancers.py).

    python3 -m pytest bench/test_balancer_bench.py --benchmark-columns=median --benchmark-sort=name \\
        --benchmark-max-time=0.2

Each round makes BATCH picks over distinct keys (hash policies hash every
key), so a row's time divided by BATCH is the time per pick; extra_info
records it as ``ns_per_pick`` (``--benchmark-json`` keeps it).  Weights cycle
1..4; the load-aware policies see random in-flight counts.  Rings use 160
points per unit of weight on both sides (ketama's number, so the rings have
the same size); ``ring-default`` is ours with the config's default (2000
points per unit of weight, fewer where that passes MAX_RING_POINTS: 838 for
the 1000 servers here).
"""

import random

import plain_balancers as plain
import pytest

from fastproxy.balancers import implementations
from fastproxy.config.schema import DEFAULT_VIRTUAL_NODES, MAX_RING_POINTS

IMPLS = implementations()
BATCH = 256
SIZES = [10, 1000]
POLICIES = [
    "round_robin",
    "weighted_round_robin",
    "random",
    "least_conn",
    "p2c",
    "ring",
    "ring-default",
    "maglev",
    "jump",
]
KEYS = [b"/users/%d/profile?session=%d" % (i, i * 7) for i in range(BATCH)]


def servers(n):
    names = [f"10.0.{i // 250}.{i % 250 + 1}:8080" for i in range(n)]
    weights = [1 + i % 4 for i in range(n)]
    in_flight = [random.Random(i).randrange(20) for i in range(n)]
    return names, weights, in_flight


def ours(module, policy, n):
    names, weights, in_flight = servers(n)
    make = {
        "round_robin": lambda: module.RoundRobin(names, weights),
        "weighted_round_robin": lambda: module.WeightedRoundRobin(names, weights),
        "random": lambda: module.Random(names, weights, seed=1),
        "least_conn": lambda: module.LeastConn(names, weights),
        "p2c": lambda: module.PowerOfTwoChoices(names, weights, seed=1),
        "ring": lambda: module.RingHash(names, weights, virtual_nodes=160),
        # What the config resolves for an unset virtual_nodes.
        "ring-default": lambda: module.RingHash(
            names, weights, virtual_nodes=min(DEFAULT_VIRTUAL_NODES, MAX_RING_POINTS // sum(weights))
        ),
        "maglev": lambda: module.MaglevHash(names, weights),
        "jump": lambda: module.JumpHash(names, weights),
    }
    b = make[policy]()
    for i, count in enumerate(in_flight):
        for _ in range(count):
            b.acquire(i)
    return b


def baseline(policy, n):
    names, weights, in_flight = servers(n)
    make = {
        "round_robin": lambda: plain.PlainRoundRobin(names, weights),
        "weighted_round_robin": lambda: plain.PlainSmoothWeighted(names, weights),
        "random": lambda: plain.PlainRandom(names, weights),
        "least_conn": lambda: plain.PlainLeastConn(names, weights, in_flight),
        "p2c": lambda: plain.PlainP2C(names, weights, in_flight),
        "ring": lambda: plain.PlainRing(names, weights),
        "maglev": lambda: plain.PlainMaglev(names, weights),
        "jump": lambda: plain.PlainJump(names, weights),
    }
    if policy not in make:
        pytest.skip("ours only")
    return make[policy]()


def run_batch(pick):
    def run():
        for key in KEYS:
            pick(key)

    return run


def measure(benchmark, pick, policy, n):
    benchmark.group = f"{policy}-{n:04d}"
    benchmark(run_batch(pick))
    benchmark.extra_info["ns_per_pick"] = round(benchmark.stats.stats.median / BATCH * 1e9, 1)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("impl", ["c", "python"], ids=["ours-c", "ours-python"])
def test_ours(benchmark, impl, policy, n):
    if impl not in IMPLS:
        pytest.skip("the C extension is not built or not allowed")
    if impl == "python" and policy == "ring-default" and n == 1000:
        pytest.skip("2M points: the twin takes seconds to build it; the C row shows the lookup")
    b = ours(IMPLS[impl], policy, n)
    assert 0 <= b.pick(KEYS[0]) < n
    measure(benchmark, b.pick, policy, n)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("policy", POLICIES)
def test_plain_python(benchmark, policy, n):
    b = baseline(policy, n)
    assert 0 <= b.pick(KEYS[0]) < n
    measure(benchmark, b.pick, policy, n)
