"""accounting.py: where each exchange is counted (compiled or from source,
whichever the run loads)."""

from __future__ import annotations

import pytest

from fastproxy.accounting import LATENCY_BOUNDS, Accounting, Exchange


class Peer:
    client = "192.0.2.1"
    request_id = b"abc"


def run(acct: Accounting, x: Exchange, *, route=-1, server=-1, status=0, start=10.0, took=0.0,
        end_status=0) -> None:
    acct.begin(x, start, 1)
    x.route = route
    x.server = server
    x.status = status
    acct.end(x, end_status, start + took, Peer(), b"GET", b"/")


def test_counts_by_route_server_and_class():
    acct = Accounting(routes=2, servers=3)
    x = Exchange()
    run(acct, x, route=1, server=2, status=200, took=0.003)
    run(acct, x, route=1, server=2, status=503)
    run(acct, x, route=0, status=0, end_status=404)  # the proxy's own answer
    snap = acct.snapshot()
    classes = snap["classes"]
    assert snap["by_route"][1 * classes:2 * classes] == [0, 0, 1, 0, 0, 1]
    assert snap["by_route"][0:classes] == [0, 0, 0, 0, 1, 0]
    assert snap["by_server"][2 * classes:3 * classes] == [0, 0, 1, 0, 0, 1]
    assert len(snap["by_server"]) == 3 * classes
    assert snap["in_flight"] == 0


def test_the_status_a_client_saw_wins():
    acct = Accounting(1, 1)
    x = Exchange()
    run(acct, x, route=0, status=200, end_status=502)  # cut mid-response
    assert acct.snapshot()["by_route"][:6] == [0, 0, 1, 0, 0, 0]


def test_counted_once_however_often_ended():
    acct = Accounting(1, 1)
    x = Exchange()
    acct.begin(x, 1.0, 1)
    acct.end(x, 0, 2.0, None, None, None)
    acct.end(x, 0, 3.0, None, None, None)
    acct.end(x, 0, 3.0, None, None, None)
    snap = acct.snapshot()
    assert sum(snap["by_route"]) == 1 and snap["by_route"][6] == 1  # unrouted, no status
    assert snap["in_flight"] == 0


def test_an_answer_without_a_parsed_head_is_counted_unrouted():
    acct = Accounting(1, 1)
    x = Exchange()
    acct.end(x, 400, 5.0, None, None, None)
    assert acct.snapshot()["by_route"][6:] == [0, 0, 0, 0, 1, 0]


def test_begin_closes_a_forgotten_exchange():
    acct = Accounting(1, 1)
    x = Exchange()
    acct.begin(x, 1.0, 1)
    acct.begin(x, 2.0, 1)
    assert acct.in_flight == 1 and sum(acct.snapshot()["by_route"]) == 1


@pytest.mark.parametrize(("took", "bucket"), [(0.0, 0), (0.001, 0), (0.0011, 1), (0.7, 9), (10.0, 12),
                                               (11.0, 13)])
def test_latency_buckets(took, bucket):
    acct = Accounting(1, 1)
    x = Exchange()
    run(acct, x, route=0, status=200, took=took)
    snap = acct.snapshot()
    buckets = len(LATENCY_BOUNDS) + 1
    expected = [0] * buckets
    expected[bucket] = 1
    assert snap["latency"][:buckets] == expected
    assert snap["latency_sum"][0] == pytest.approx(took)


def test_bytes_move_to_the_totals_and_reset():
    acct = Accounting(1, 1)
    x = Exchange()
    acct.begin(x, 1.0, 1)
    x.bytes_in += 100
    x.bytes_out += 2000
    acct.end(x, 200, 2.0, None, None, None)
    assert (acct.bytes_in, acct.bytes_out) == (100, 2000)
    assert (x.bytes_in, x.bytes_out, x.open) == (0, 0, False)


def test_out_of_range_indexes_are_not_counted_anywhere_else():
    acct = Accounting(1, 1)
    x = Exchange()
    run(acct, x, route=7, server=9, status=200)
    snap = acct.snapshot()
    assert snap["by_route"] == [0] * 6 + [0, 0, 1, 0, 0, 0]  # unrouted slot
    assert snap["by_server"] == [0] * 6


def test_records_go_to_the_log():
    records = []

    class Log:
        def record(self, x, elapsed, peer, method, target):
            records.append((x.status, x.route, round(elapsed, 3), peer.client, method, target, x.minor))

    acct = Accounting(1, 1)
    acct.log = Log()
    run(acct, Exchange(), route=0, status=200, took=0.25)
    assert records == [(200, 0, 0.25, "192.0.2.1", b"GET", b"/", 1)]
