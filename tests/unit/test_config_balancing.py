"""fastproxy.config.balancing: the balancing keys of [upstream.NAME], their
defaults, and every problem with its key path."""

import copy

import pytest

from fastproxy.config import parse_config
from fastproxy.config.schema import (
    BALANCERS,
    DEFAULT_TABLE_SIZE,
    DEFAULT_VIRTUAL_NODES,
    MAX_RING_POINTS,
    Upstream,
)
from fastproxy.errors import ConfigError

BASE = {
    "listener": [{"bind": "127.0.0.1:8080"}],
    "route": [{"upstream": "api"}],
    "upstream": {"api": {"servers": ["127.0.0.1:9001", {"address": "127.0.0.1:9002", "weight": 3}]}},
}


def config(**keys):
    data = copy.deepcopy(BASE)
    data["upstream"]["api"].update(keys)
    return data


def upstream(**keys) -> Upstream:
    return parse_config(config(**keys)).upstream("api")


def problems(**keys):
    with pytest.raises(ConfigError) as info:
        parse_config(config(**keys))
    return info.value.problems


@pytest.mark.parametrize("balance", [b for b in BALANCERS if b not in ("consistent_hash",)])
def test_every_balancer_is_accepted(balance):
    assert upstream(balance=balance).balance == balance


def test_defaults():
    plain = upstream()
    assert (plain.balance, plain.hash_key, plain.hash, plain.bounded_load) == (
        "round_robin",
        None,
        None,
        None,
    )
    assert (plain.virtual_nodes, plain.table_size) == (None, None)
    ring = upstream(balance="consistent_hash", hash_key="uri")
    assert (ring.hash, ring.virtual_nodes, ring.table_size, ring.bounded_load) == (
        "ring",
        DEFAULT_VIRTUAL_NODES,
        None,
        None,
    )
    ip = upstream(balance="ip_hash", hash="maglev")
    assert (ip.hash_key, ip.hash, ip.table_size, ip.virtual_nodes) == (
        "client_ip",
        "maglev",
        DEFAULT_TABLE_SIZE,
        None,
    )
    jump = upstream(balance="ip_hash", hash="jump")
    assert (jump.virtual_nodes, jump.table_size, jump.bounded_load) == (None, None, None)


@pytest.mark.parametrize(
    "spec", ["client_ip", "uri", "header:X-User", "cookie:session_id", "query:user%5Bid%5D"]
)
def test_hash_keys_accepted(spec):
    assert upstream(balance="consistent_hash", hash_key=spec).hash_key == spec


def test_set_values_are_kept_and_typed():
    up = upstream(balance="consistent_hash", hash_key="uri", hash="maglev", table_size=101, bounded_load=2)
    assert (up.table_size, up.bounded_load) == (101, 2.0) and isinstance(up.bounded_load, float)
    assert upstream(balance="ip_hash", virtual_nodes=7, bounded_load=1.0).virtual_nodes == 7


def test_unset_virtual_nodes_shrink_to_fit_large_weights():
    data = config(balance="ip_hash")
    data["upstream"]["api"]["servers"] = [{"address": f"10.0.0.{i}:80", "weight": 1000} for i in range(1, 5)]
    assert parse_config(data).upstream("api").virtual_nodes == MAX_RING_POINTS // 4000


# One case per line: a table reads better than the formatter's layout.
# fmt: off
CASES = [
    ({"balance": "consistent_hash"}, "upstream.api.hash_key",
     'is required with balance = "consistent_hash" (e.g. hash_key = "uri", "header:X-User" or "cookie:session")'),
    ({"balance": "consistent_hash", "hash_key": 5}, "upstream.api.hash_key", "expected a string, got 5"),
    ({"balance": "consistent_hash", "hash_key": "url"}, "upstream.api.hash_key",
     '"url" is not a hash key (did you mean "uri"?)'),
    ({"balance": "consistent_hash", "hash_key": "cookie"}, "upstream.api.hash_key",
     '"cookie" is not a hash key (did you mean "cookie:NAME"?)'),
    ({"balance": "consistent_hash", "hash_key": "headers:X-User"}, "upstream.api.hash_key",
     '"headers:X-User" is not a hash key (did you mean "header:X-User"?)'),
    ({"balance": "consistent_hash", "hash_key": "body"}, "upstream.api.hash_key",
     '"body" is not a hash key (use "client_ip", "uri", "header:NAME", "cookie:NAME" or "query:NAME")'),
    ({"balance": "consistent_hash", "hash_key": "header:"}, "upstream.api.hash_key",
     '"header:" needs a name after the colon (e.g. "header:X-User")'),
    ({"balance": "consistent_hash", "hash_key": "header:X User"}, "upstream.api.hash_key",
     '"header:X User": "X User" is not a valid header name'),
    ({"balance": "consistent_hash", "hash_key": "cookie:a=b"}, "upstream.api.hash_key",
     '"cookie:a=b": "a=b" is not a valid cookie name'),
    ({"balance": "consistent_hash", "hash_key": "query:a&b"}, "upstream.api.hash_key",
     '"query:a&b": "a&b" is not a valid query name'),
    ({"balance": "ip_hash", "hash_key": "uri"}, "upstream.api.hash_key",
     'ip_hash always hashes the client address (to hash another key, use balance = "consistent_hash")'),
    ({"hash_key": "uri"}, "upstream.api.hash_key",
     'only applies with balance = "consistent_hash" (this upstream has balance = "round_robin")'),
    ({"balance": "least_conn", "hash": "ring"}, "upstream.api.hash",
     'only applies with balance = "consistent_hash" or "ip_hash" (this upstream has balance = "least_conn")'),
    ({"balance": "ip_hash", "hash": "rings"}, "upstream.api.hash",
     '"rings" is not a hash method (did you mean "ring"?)'),
    ({"balance": "ip_hash", "hash": "crc"}, "upstream.api.hash",
     '"crc" is not a hash method (use "ring", "maglev", "jump")'),
    ({"balance": "ip_hash", "hash": True}, "upstream.api.hash", "expected a string, got true"),
    ({"balance": "random", "bounded_load": 1.25}, "upstream.api.bounded_load",
     'only applies with balance = "consistent_hash" or "ip_hash" (this upstream has balance = "random")'),
    ({"balance": "ip_hash", "hash": "jump", "bounded_load": 1.25}, "upstream.api.bounded_load",
     'is not supported with hash = "jump" (use hash = "ring" or "maglev")'),
    ({"balance": "ip_hash", "bounded_load": 0.9}, "upstream.api.bounded_load",
     "0.9 is out of range (1.0..100.0: the most a server may take, as a multiple of its fair share)"),
    ({"balance": "ip_hash", "bounded_load": float("inf")}, "upstream.api.bounded_load",
     "inf is out of range (1.0..100.0: the most a server may take, as a multiple of its fair share)"),
    ({"balance": "ip_hash", "bounded_load": "1.25"}, "upstream.api.bounded_load",
     'expected a number such as 1.25, got "1.25"'),
    ({"balance": "ip_hash", "bounded_load": True}, "upstream.api.bounded_load",
     "expected a number such as 1.25, got true"),
    ({"virtual_nodes": 100}, "upstream.api.virtual_nodes",
     'only applies with hash = "ring" (this upstream has balance = "round_robin")'),
    ({"balance": "ip_hash", "hash": "maglev", "virtual_nodes": 100}, "upstream.api.virtual_nodes",
     'only applies with hash = "ring" (this upstream has hash = "maglev")'),
    ({"balance": "ip_hash", "virtual_nodes": 0}, "upstream.api.virtual_nodes", "0 is out of range (1..100000)"),
    ({"balance": "ip_hash", "virtual_nodes": 1.5}, "upstream.api.virtual_nodes", "expected an integer, got 1.5"),
    ({"balance": "ip_hash", "table_size": 101}, "upstream.api.table_size",
     'only applies with hash = "maglev" (this upstream has hash = "ring")'),
    ({"balance": "ip_hash", "hash": "maglev", "table_size": 65536}, "upstream.api.table_size",
     "65536 is not a prime (the nearest primes are 65521 and 65537)"),
    ({"balance": "ip_hash", "hash": "maglev", "table_size": 1}, "upstream.api.table_size",
     "1 is out of range (2..1048573)"),
    ({"balance": "ip_hash", "hash": "maglev", "table_size": 1048583}, "upstream.api.table_size",
     "1048583 is out of range (2..1048573)"),
    ({"balance": "ip_hash", "hash": "maglev", "table_size": "big"}, "upstream.api.table_size",
     'expected an integer, got "big"'),
    ({"balance": "ip_hash", "hash_fn": "ring"}, "upstream.api.hash_fn", 'unknown key (did you mean "hash"?)'),
]
# fmt: on


@pytest.mark.parametrize(("keys", "path", "message"), CASES, ids=[f"{c[1]}={c[0]}"[:70] for c in CASES])
def test_problem_names_key_path_and_value(keys, path, message):
    assert problems(**keys) == [(path, message)]


def heavy(count, weight, **keys):
    data = config(**keys)
    data["upstream"]["api"]["servers"] = [
        {"address": f"10.0.{i // 250}.{i % 250 + 1}:80", "weight": weight} for i in range(count)
    ]
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.problems


def test_ring_points_must_fit():
    assert heavy(4, 1000, balance="ip_hash", virtual_nodes=1000) == [
        (
            "upstream.api.virtual_nodes",
            (
                "1000 per unit of weight, times a total weight of 4000, is 4000000 ring points, "
                "more than 2097152 (use at most 524)"
            ),
        )
    ]
    assert heavy(3000, 1000, balance="ip_hash") == [
        ("upstream.api.servers", "the weights add up to 3000000, more points than a ring holds (2097152)")
    ]


def test_table_smaller_than_the_servers():
    assert heavy(3, 1, balance="ip_hash", hash="maglev", table_size=2) == [
        ("upstream.api.table_size", "2 is smaller than the number of servers (3)")
    ]


def test_a_bad_balance_is_one_message_not_several():
    assert problems(balance="fastest", hash="ring", virtual_nodes=5, bounded_load=2.0) == [
        (
            "upstream.api.balance",
            (
                '"fastest" is not a balancing method (use one of "round_robin", "weighted_round_robin", '
                '"random", "least_conn", "p2c", "ip_hash", "consistent_hash")'
            ),
        )
    ]


def test_several_problems_in_one_pass():
    assert problems(
        balance="consistent_hash", hash_key="cookie:", hash="jump", bounded_load=3, table_size=7
    ) == [
        ("upstream.api.hash_key", '"cookie:" needs a name after the colon (e.g. "cookie:session")'),
        ("upstream.api.bounded_load", 'is not supported with hash = "jump" (use hash = "ring" or "maglev")'),
        ("upstream.api.table_size", 'only applies with hash = "maglev" (this upstream has hash = "jump")'),
    ]
