"""Smooth weighted round-robin."""

from collections import Counter

import pytest

from fastproxy.balance import RoundRobin


def test_equal_weights_rotate():
    rr = RoundRobin("abc", [1, 1, 1])
    assert [rr.pick() for _ in range(7)] == list("abcabca")


def test_weights_are_interleaved_not_bursty():
    rr = RoundRobin("abc", [5, 1, 1])
    assert "".join(rr.pick() for _ in range(7)) == "aabacaa"


def test_weights_give_the_shares():
    rr = RoundRobin("ab", [3, 1])
    assert Counter(rr.pick() for _ in range(400)) == {"a": 300, "b": 100}


def test_bad_arguments():
    with pytest.raises(ValueError):
        RoundRobin([], [])
    with pytest.raises(ValueError):
        RoundRobin("ab", [1])
