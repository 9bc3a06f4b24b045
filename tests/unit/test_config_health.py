"""fastproxy.config.health: [upstream.NAME.health_check], .passive and .retry,
their defaults, and every problem with its key path."""

from __future__ import annotations

import copy

import pytest

from fastproxy.config import parse_config
from fastproxy.config.schema import HealthCheck, Passive, Retry
from fastproxy.errors import ConfigError

BASE = {
    "listener": [{"bind": "127.0.0.1:8080"}],
    "route": [{"upstream": "api"}],
    "upstream": {"api": {"servers": ["127.0.0.1:9001", "127.0.0.1:9002"]}},
}


def upstream(**tables):
    data = copy.deepcopy(BASE)
    data["upstream"]["api"].update(tables)
    return parse_config(data).upstream("api")


def problems(**tables):
    data = copy.deepcopy(BASE)
    data["upstream"]["api"].update(tables)
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.problems


def test_defaults():
    api = upstream()
    assert api.health_check is None
    assert api.passive == Passive()
    assert api.retry == Retry()
    assert api.retry.failures == ("connect_failure", "reset", "timeout") and api.retry.statuses == ()
    assert upstream(health_check={}).health_check == HealthCheck()


def test_a_full_health_check():
    check = upstream(health_check={
        "type": "http", "path": "/healthz?deep=1", "host": "api.internal", "interval": "2s", "timeout": "500ms",
        "expected_statuses": [200, "3xx", "404-405"], "rise": 1, "fall": 5, "jitter": 0,
    }).health_check
    assert check == HealthCheck("http", "/healthz?deep=1", "api.internal", 2.0, 0.5,
                                ((200, 200), (300, 399), (404, 405)), 1, 5, 0.0)


def test_retry_on_mixes_failure_names_and_statuses():
    retry = upstream(retry={"on": ["reset", "502-503", 504, "reset"], "tries": 3, "per_try_timeout": "1.5s"}).retry
    assert retry.on == ("reset", 502, 503, 504)
    assert (retry.failures, retry.statuses) == (("reset",), (502, 503, 504))
    assert (retry.tries, retry.per_try_timeout) == (3, 1.5)
    assert upstream(retry={"on": []}).retry.on == ()


def test_passive_statuses_are_spelt_out():
    assert upstream(passive={"statuses": ["5xx"]}).passive.statuses == tuple(range(500, 600))


@pytest.mark.parametrize("tables, path, message", [
    ({"health_check": {"type": "udp"}}, "upstream.api.health_check.type", '"udp" is not a check type'),
    ({"health_check": {"path": "healthz"}}, "upstream.api.health_check.path", "must start with"),
    ({"health_check": {"path": "/a b"}}, "upstream.api.health_check.path", "must start with"),
    ({"health_check": {"type": "tcp", "path": "/"}}, "upstream.api.health_check.path", 'only applies with type = "http"'),
    ({"health_check": {"interval": "1s", "timeout": "2s"}}, "upstream.api.health_check.timeout", "longer than the interval"),
    ({"health_check": {"interval": "1ms"}}, "upstream.api.health_check.interval", "shorter than 10ms"),
    ({"health_check": {"expected_statuses": ["2xx", 700]}}, "upstream.api.health_check.expected_statuses[1]",
     "700 is not an HTTP status"),
    ({"health_check": {"expected_statuses": []}}, "upstream.api.health_check.expected_statuses", "at least one"),
    ({"health_check": {"expected_statuses": ["299-200"]}}, "upstream.api.health_check.expected_statuses[0]",
     "low first"),
    ({"health_check": {"jitter": 0.9}}, "upstream.api.health_check.jitter", "from 0 to 0.5"),
    ({"health_check": {"rise": 0}}, "upstream.api.health_check.rise", "out of range"),
    ({"health_check": {"host": "a\nb"}}, "upstream.api.health_check.host", "not a valid Host"),
    ({"health_check": {"intervall": "1s"}}, "upstream.api.health_check.intervall", 'did you mean "interval"'),
    ({"health_check": "yes"}, "upstream.api.health_check", "expected a table"),
    ({"passive": {"consecutive_failures": 0}}, "upstream.api.passive.consecutive_failures", "out of range"),
    ({"passive": {"base_ejection_time": "1m", "max_ejection_time": "30s"}}, "upstream.api.passive.max_ejection_time",
     "shorter than base_ejection_time"),
    ({"passive": {"max_ejection_percent": 101}}, "upstream.api.passive.max_ejection_percent", "out of range"),
    ({"passive": {"statuses": ["5xy"]}}, "upstream.api.passive.statuses[0]", 'such as 503, "5xx"'),
    ({"passive": {"enabled": "no"}}, "upstream.api.passive.enabled", "true or false"),
    ({"retry": {"tries": 11}}, "upstream.api.retry.tries", "out of range"),
    ({"retry": {"on": ["tiemout"]}}, "upstream.api.retry.on[0]", '"connect_failure", "reset", "timeout"'),
    ({"retry": {"on": [404]}}, "upstream.api.retry.on", "only 5xx statuses"),
    ({"retry": {"on": "reset"}}, "upstream.api.retry.on", "expected an array"),
    ({"retry": {"per_try_timeout": "0s"}}, "upstream.api.retry.per_try_timeout", "longer than zero"),
    ({"retry": {"budget_percent": 120}}, "upstream.api.retry.budget_percent", "from 0 to 100"),
    ({"retry": {"budget_min_per_second": -1}}, "upstream.api.retry.budget_min_per_second", "per second"),
])
def test_problems_name_their_key(tables, path, message):
    found = problems(**tables)
    assert len(found) == 1, found
    assert found[0][0] == path and message in found[0][1], found
