"""Choosing a server of an upstream group: smooth weighted round-robin.

Each pick adds every server's weight to its running score, takes the server
with the highest score and subtracts the total weight from it, which
interleaves heavier servers instead of sending them bursts (weights 5,1,1
give a a b a c a a).  With equal weights this is plain rotation, done
without the arithmetic.  The other balancers come in their own issue.
"""

from __future__ import annotations

from collections.abc import Sequence

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)


class RoundRobin:
    __slots__ = ("equal", "next", "scores", "servers", "total", "weights")

    def __init__(self, servers: Sequence, weights: Sequence[int]) -> None:
        if not servers or len(servers) != len(weights):
            raise ValueError("a balancer needs one weight per server and at least one server")
        self.servers = tuple(servers)
        self.weights = tuple(int(w) for w in weights)
        self.scores = [0] * len(self.servers)
        self.total = sum(self.weights)
        self.next = 0
        self.equal = len(set(self.weights)) == 1

    def pick(self):
        """The next server."""
        if self.equal:
            i = self.next
            self.next = (i + 1) % len(self.servers)
            return self.servers[i]
        scores = self.scores
        best = 0
        for i in range(len(scores)):
            scores[i] += self.weights[i]
            if scores[i] > scores[best]:
                best = i
        scores[best] -= self.total
        return self.servers[best]
