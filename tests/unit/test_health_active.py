"""fastproxy.health.active: the probe's bytes, reading its status line, and
the jittered waits between probes."""

from __future__ import annotations

import random
import statistics

import pytest

from fastproxy.config.schema import HealthCheck
from fastproxy.health.active import ActiveChecks, _status_of, probe_request


class _Health:
    def __init__(self, check: HealthCheck) -> None:
        self.check = check


def test_probe_request_is_a_short_get_that_closes():
    assert probe_request("/healthz?full=1", "api.internal") == (
        b"GET /healthz?full=1 HTTP/1.1\r\nHost: api.internal\r\nUser-Agent: fastproxy-health-check\r\n"
        b"Accept: */*\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize("line, status", [
    (b"HTTP/1.1 200 OK\r\n", 200),
    (b"HTTP/1.0 503 Service Unavailable\r\n", 503),
    (b"HTTP/1.1 204\r\n", 204),
    (b"HTTP/2 200\r\n", None),
    (b"HTTP/1.1 20 OK\r\n", None),
    (b"HTTP/1.1 abc OK\r\n", None),
    (b"SSH-2.0-OpenSSH\r\n", None),
    (b"", None),
])
def test_status_line(line, status):
    assert _status_of(line) == status


def test_waits_stay_within_the_jitter_and_spread():
    checks = ActiveChecks(_Health(HealthCheck(interval=10.0, jitter=0.2)), loop=None)
    checks.random = random.Random(7)
    waits = [checks.next_wait() for _ in range(2000)]
    assert 8.0 <= min(waits) and max(waits) <= 12.0
    assert min(waits) < 8.2 and max(waits) > 11.8  # the whole band is used
    assert statistics.pstdev(waits) > 1.0


def test_no_jitter_means_a_fixed_interval():
    checks = ActiveChecks(_Health(HealthCheck(interval=3.0, jitter=0.0)), loop=None)
    assert {checks.next_wait() for _ in range(50)} == {3.0}


def test_two_workers_draw_different_waits():
    a = ActiveChecks(_Health(HealthCheck()), loop=None)
    b = ActiveChecks(_Health(HealthCheck()), loop=None)
    assert [a.next_wait() for _ in range(5)] != [b.next_wait() for _ in range(5)]
