"""Plain-Python balancers: each policy written the way a Python proxy
usually writes it (standard library only, hashlib.md5 for key hashing as
ketama does), as the baseline of test_balancer_bench.py.

Same surface as ours where the benchmark uses it: ``pick(key)``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random


def md5_64(data: bytes) -> int:
    return int.from_bytes(hashlib.md5(data).digest()[:8], "little")


class PlainRoundRobin:
    def __init__(self, names, weights):
        self._cycle = itertools.cycle([i for i, w in enumerate(weights) for _ in range(w)])

    def pick(self, key=None):
        return next(self._cycle)


class PlainSmoothWeighted:
    """nginx's smooth weighted round robin over lists."""

    def __init__(self, names, weights):
        self.weights = list(weights)
        self.current = [0] * len(weights)
        self.total = sum(weights)

    def pick(self, key=None):
        current, weights = self.current, self.weights
        best = 0
        for i in range(len(current)):
            current[i] += weights[i]
            if current[i] > current[best]:
                best = i
        current[best] -= self.total
        return best


class PlainRandom:
    def __init__(self, names, weights):
        self.rng = random.Random(0)
        self.population = range(len(weights))
        self.cum = list(itertools.accumulate(weights))

    def pick(self, key=None):
        return self.rng.choices(self.population, cum_weights=self.cum)[0]


class PlainLeastConn:
    def __init__(self, names, weights, in_flight):
        self.weights = list(weights)
        self.in_flight = list(in_flight)

    def pick(self, key=None):
        return min(range(len(self.weights)), key=lambda i: self.in_flight[i] / self.weights[i])


class PlainP2C:
    def __init__(self, names, weights, in_flight):
        self.rng = random.Random(0)
        self.weights = list(weights)
        self.in_flight = list(in_flight)
        self.latency = [0.0] * len(weights)

    def pick(self, key=None):
        a, b = self.rng.sample(range(len(self.weights)), 2)
        la, lb = self.in_flight[a] / self.weights[a], self.in_flight[b] / self.weights[b]
        if la != lb:
            return a if la < lb else b
        return b if self.latency[b] < self.latency[a] else a


class PlainRing:
    """ketama: md5 points, ``points`` per unit of weight, bisect."""

    def __init__(self, names, weights, points=160):
        ring = sorted(
            (md5_64(f"{name}-{r}".encode()), i)
            for i, (name, w) in enumerate(zip(names, weights))
            for r in range(points * w)
        )
        self.points = [p for p, _ in ring]
        self.owners = [s for _, s in ring]

    def pick(self, key):
        i = bisect.bisect_left(self.points, md5_64(key))
        return self.owners[i if i < len(self.points) else 0]


class PlainMaglev:
    def __init__(self, names, weights, m=65537):
        n = len(names)
        offsets = [md5_64(b"o" + name.encode()) % m for name in names]
        skips = [md5_64(b"s" + name.encode()) % (m - 1) + 1 for name in names]
        table = [-1] * m
        nxt = [0] * n
        count = [0] * n
        top = max(weights)
        filled = 0
        for rnd in itertools.count(1):
            for i in range(n):
                if count[i] * top >= rnd * weights[i]:
                    continue
                while True:
                    slot = (offsets[i] + nxt[i] * skips[i]) % m
                    nxt[i] += 1
                    if table[slot] < 0:
                        break
                table[slot] = i
                count[i] += 1
                filled += 1
                if filled == m:
                    self.table = table
                    return

    def pick(self, key):
        return self.table[md5_64(key) % len(self.table)]


class PlainJump:
    def __init__(self, names, weights):
        self.owner = [i for i, w in enumerate(weights) for _ in range(w)]

    def pick(self, key):
        k, b, j, buckets = md5_64(key), -1, 0, len(self.owner)
        while j < buckets:
            b = j
            k = (k * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
            j = int((b + 1) * ((1 << 31) / ((k >> 33) + 1)))
        return self.owner[b]
