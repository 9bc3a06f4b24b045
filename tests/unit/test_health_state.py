"""fastproxy.health.state: passive ejections and their backoff, the retry
budget, rise/fall of active checks, and the snapshot, on a manual clock."""

from __future__ import annotations

import asyncio
import heapq
import itertools

from fastproxy import balancers
from fastproxy.balance import OUT_ACTIVE, OUT_ADMIN, OUT_PASSIVE, Group
from fastproxy.clientip import TrustedProxies
from fastproxy.config import parse_config
from fastproxy.health.state import BUDGET_WINDOW, UpstreamHealth
from fastproxy.upstream.connection import FAIL_BAD_RESPONSE, FAIL_CLOSED, FAIL_CONNECT, FAIL_READ_TIMEOUT


class ManualLoop:
    """The part of an event loop UpstreamHealth uses, with a clock moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_later(self, delay, callback, *args):
        handle = _Handle(callback, args)
        heapq.heappush(self._queue, (self.now + delay, next(self._order), handle))
        return handle

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while self._queue and self._queue[0][0] <= end:
            when, _, handle = heapq.heappop(self._queue)
            self.now = when
            if not handle.cancelled:
                handle.callback(*handle.args)
        self.now = end

    def pending(self) -> int:
        return sum(1 for _, _, h in self._queue if not h.cancelled)


class _Handle:
    def __init__(self, callback, args) -> None:
        self.callback, self.args, self.cancelled = callback, args, False

    def cancel(self) -> None:
        self.cancelled = True


def make(servers: int = 3, **tables) -> tuple[UpstreamHealth, ManualLoop]:
    config = parse_config({
        "listener": [{"bind": "127.0.0.1:0"}],
        "upstream": {"api": {"servers": [f"127.0.0.1:{9001 + i}" for i in range(servers)], **tables}},
        "route": [{"upstream": "api"}],
    })
    upstream = config.upstreams[0]
    group = Group("api", [object() for _ in upstream.servers], balancers.build(upstream), None, TrustedProxies(()))
    health = UpstreamHealth(group, upstream)
    group.health = health
    loop = ManualLoop()
    health.loop = loop  # start() would also start the budget's window timer
    return health, loop


def test_consecutive_failures_eject_and_a_success_in_between_resets_the_count():
    h, _ = make(passive={"consecutive_failures": 3})
    h.failed(0, FAIL_CONNECT, False, 1)
    h.failed(0, FAIL_READ_TIMEOUT, False, 1)
    h.response(0, 200, 1)
    h.failed(0, FAIL_BAD_RESPONSE, False, 1)
    h.failed(0, FAIL_CONNECT, False, 1)
    assert h.group.out[0] == 0
    h.response(0, 503, 1)  # a passive status counts as a failure
    assert h.group.out[0] == OUT_PASSIVE
    assert h.ejections == [1, 0, 0] and h.failures[0] == 5


def test_a_kept_alive_connection_closed_by_the_server_is_not_a_failure():
    h, _ = make(passive={"consecutive_failures": 1})
    h.failed(0, FAIL_CLOSED, True, 1)
    assert h.failures[0] == 0 and h.group.out[0] == 0
    h.failed(0, FAIL_CLOSED, False, 1)
    assert h.group.out[0] == OUT_PASSIVE


def test_ejection_backoff_doubles_up_to_the_maximum_and_resets_after_a_success():
    h, loop = make(passive={"consecutive_failures": 1, "base_ejection_time": "10s", "max_ejection_time": "35s"})
    spans = []
    for _ in range(4):
        h.failed(1, FAIL_CONNECT, False, 1)
        spans.append(h.ejected_until[1] - loop.now)
        loop.advance(spans[-1])
        assert h.group.out[1] == 0  # back, one timer per ejection
    assert spans == [10.0, 20.0, 35.0, 35.0]
    h.response(1, 200, 1)
    h.failed(1, FAIL_CONNECT, False, 1)
    assert h.ejected_until[1] - loop.now == 10.0
    assert h.ejections[1] == 5


def test_max_ejection_percent_bounds_the_ejected_servers():
    h, _ = make(servers=4, passive={"consecutive_failures": 1, "max_ejection_percent": 50})
    for i in range(4):
        h.failed(i, FAIL_CONNECT, False, 1)
    assert [bool(bits) for bits in h.group.out] == [True, True, False, False]
    h2, _ = make(servers=2, passive={"consecutive_failures": 1, "max_ejection_percent": 10})
    h2.failed(0, FAIL_CONNECT, False, 1)
    h2.failed(1, FAIL_CONNECT, False, 1)
    assert h2.group.out == [OUT_PASSIVE, 0]  # one at least, never both


def test_a_single_server_and_disabled_passive_checks_never_eject():
    h, _ = make(servers=1, passive={"consecutive_failures": 1})
    h.failed(0, FAIL_CONNECT, False, 1)
    assert h.group.out == [0]
    h, _ = make(passive={"enabled": False, "consecutive_failures": 1})
    h.failed(0, FAIL_CONNECT, False, 1)
    h.response(0, 503, 1)
    assert h.group.out == [0, 0, 0]


def test_an_admin_drain_survives_the_end_of_an_ejection():
    h, loop = make(passive={"consecutive_failures": 1, "base_ejection_time": "1s"})
    h.failed(0, FAIL_CONNECT, False, 1)
    h.group.set_out(0, OUT_ADMIN, True)
    loop.advance(1.0)
    assert h.group.out[0] == OUT_ADMIN


def test_retry_conditions_follow_the_config():
    h, _ = make(retry={"on": ["timeout", 503]})
    assert h.retries_on(FAIL_READ_TIMEOUT) and not h.retries_on(FAIL_CONNECT)
    assert h.response(0, 503, 1) is True and h.response(0, 502, 1) is False


def test_the_budget_counts_first_tries_only_and_keeps_a_reserve_per_second():
    h, _ = make(retry={"budget_percent": 25, "budget_min_per_second": 0.2})
    reserve = 0.2 * BUDGET_WINDOW  # 2 retries
    assert h.spend_retry(0) and h.spend_retry(0)
    assert not h.spend_retry(0)
    for _ in range(8):
        h.response(1, 200, 1)
    h.response(1, 200, 2)  # a retry's own response is no new request
    assert h.requests_now == 8
    assert h.spend_retry(1) and h.spend_retry(1)  # 2 + 25% of 8 = 4
    assert not h.spend_retry(1)
    assert (h.retries, h.retries_refused, h.retried_from) == (4, 2, [2, 2, 0])
    assert reserve == 2


def test_the_budget_window_rolls_over_two_windows():
    h, _ = make(retry={"budget_percent": 0, "budget_min_per_second": 0.1})
    real = ManualLoop()
    h.start(real)
    assert h.spend_retry(0) and not h.spend_retry(0)  # reserve: 1 per window
    real.advance(BUDGET_WINDOW)
    assert not h.spend_retry(0)  # the previous window still counts
    real.advance(BUDGET_WINDOW)
    assert h.spend_retry(0)


def test_active_checks_fall_and_rise_exactly():
    h, _ = make(health_check={"rise": 2, "fall": 3})
    for n in range(2):
        h.check_result(0, False, "status 500")
    h.check_result(0, True, "status 200")  # breaks the streak
    for n in range(2):
        h.check_result(0, False, "status 500")
    assert h.group.out[0] == 0
    h.check_result(0, False, "refused")
    assert h.group.out[0] == OUT_ACTIVE and h.transitions[0] == 1
    h.check_result(0, True, "status 200")
    assert h.group.out[0] == OUT_ACTIVE
    h.check_result(0, True, "status 200")
    assert h.group.out[0] == 0 and h.transitions[0] == 2
    assert (h.checks_passed[0], h.checks_failed[0]) == (3, 5)


def test_snapshot_is_plain_data():
    h, loop = make(passive={"consecutive_failures": 1, "base_ejection_time": "4s"})
    h.failed(2, FAIL_CONNECT, False, 1)
    loop.advance(1.0)
    h.spend_retry(2)
    snap = h.snapshot()
    assert snap["name"] == "api" and snap["retries"] == 1 and snap["active_checks"] is False
    third = snap["servers"][2]
    assert third == {
        "address": "127.0.0.1:9003", "state": "down", "reasons": ["ejected"], "consecutive_failures": 0,
        "failures": 1, "ejections": 1, "ejected_for": 3.0, "retries": 1,
        "checks": {"passed": 0, "failed": 0, "last": None, "transitions": 0},
    }
    assert snap["servers"][0]["state"] == "up"


def test_close_cancels_every_timer():
    h, loop = make(passive={"consecutive_failures": 1})
    h.start(loop)
    h.failed(0, FAIL_CONNECT, False, 1)
    assert loop.pending() == 2  # the budget's window, the ejection
    asyncio.run(h.close())
    assert loop.pending() == 0
