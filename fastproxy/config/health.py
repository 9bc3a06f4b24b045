"""Checks the resilience tables of an ``[upstream.NAME]``: ``health_check``
(active checks, off unless present), ``passive`` (ejections, on by
default) and ``retry``.  Defaults come from :mod:`fastproxy.config.schema`.

Statuses are written as numbers (503), classes ("5xx") or inclusive ranges
("500-504"); a retry or an ejection takes whole classes and ranges apart
into the numbers they hold.
"""

from __future__ import annotations

import re

from fastproxy.config import _text
from fastproxy.config.reader import MISSING, Section
from fastproxy.config.schema import HEALTH_CHECK_TYPES, RETRY_ON, HealthCheck, Passive, Retry

__all__ = ["read_health_check", "read_passive", "read_retry"]

_CLASS = re.compile(r"([1-5])xx")
_RANGE = re.compile(r"(\d{3})-(\d{3})")
_STATUS_HINT = 'a status such as 503, "5xx" or "500-504"'
_MAX_TRIES = 10
# Probing faster than this is a load test, not a health check.
_MIN_INTERVAL = 0.01


def read_health_check(sec: Section) -> HealthCheck | None:
    """``[upstream.NAME.health_check]`` of the upstream table ``sec``; None when absent."""
    if sec.data.get("health_check", MISSING) is MISSING:
        sec.raw("health_check")
        return None
    hc = sec.table("health_check")
    d = HealthCheck()
    kind = hc.string("type", d.type)
    if kind is not None and kind not in HEALTH_CHECK_TYPES:
        hc.problem("type", f"{_text.show(kind)} is not a check type (use {_text.quoted_list(HEALTH_CHECK_TYPES)})")
        kind = None
    path = hc.string("path", d.path)
    if path is not None and not _is_origin_form(path):
        hc.problem("path", f'{_text.show(path)} must start with "/" and hold no spaces or control characters')
    host = hc.string("host", d.host)
    if host is not None and not _is_field_value(host):
        hc.problem("host", f"{_text.show(host)} is not a valid Host header value")
    if kind == "tcp":
        for key in ("path", "host", "expected_statuses"):
            if key in hc.data:
                hc.problem(key, 'only applies with type = "http" (this check has type = "tcp")')
    interval = hc.duration("interval", d.interval)
    if interval is not None and interval < _MIN_INTERVAL:
        hc.problem("interval", f"{_text.show(hc.data['interval'])} is shorter than {_MIN_INTERVAL * 1000:g}ms")
        interval = None
    timeout = hc.duration("timeout", d.timeout)
    if interval is not None and timeout is not None and timeout > interval:
        hc.problem("timeout", f"{_text.show(hc.data.get('timeout', timeout))} is longer than the interval "
                   f"({interval:g}s): a probe would overlap the next")
    statuses = _statuses(hc, "expected_statuses", [f"{lo}-{hi}" for lo, hi in d.expected_statuses])
    jitter = hc.number("jitter", d.jitter, 0, 0.5, "a fraction of the interval from 0 to 0.5 (e.g. 0.15)")
    check = HealthCheck(
        type=kind,
        path=path,
        host=host,
        interval=interval,
        timeout=timeout,
        expected_statuses=statuses,
        rise=hc.integer("rise", d.rise, 1, 100),
        fall=hc.integer("fall", d.fall, 1, 100),
        jitter=None if jitter is None else float(jitter),
    )
    hc.finish()
    return check


def read_passive(sec: Section) -> Passive:
    """``[upstream.NAME.passive]`` of the upstream table ``sec``."""
    ps = sec.table("passive")
    d = Passive()
    statuses = _statuses(ps, "statuses", list(d.statuses))
    base = ps.duration("base_ejection_time", d.base_ejection_time)
    longest = ps.duration("max_ejection_time", d.max_ejection_time)
    if base is not None and longest is not None and longest < base:
        ps.problem("max_ejection_time", f"{longest:g}s is shorter than base_ejection_time ({base:g}s)")
    passive = Passive(
        enabled=ps.boolean("enabled", d.enabled),
        consecutive_failures=ps.integer("consecutive_failures", d.consecutive_failures, 1, 1000),
        statuses=None if statuses is None else _numbers(statuses),
        base_ejection_time=base,
        max_ejection_time=longest,
        max_ejection_percent=ps.integer("max_ejection_percent", d.max_ejection_percent, 0, 100),
    )
    ps.finish()
    return passive


def read_retry(sec: Section) -> Retry:
    """``[upstream.NAME.retry]`` of the upstream table ``sec``."""
    rs = sec.table("retry")
    d = Retry()
    per_try = rs.duration("per_try_timeout", 0.0)
    if rs.data.get("per_try_timeout", MISSING) is MISSING:
        per_try = d.per_try_timeout
    on = rs.array("on", list(d.on), "failure names")
    if on is not None:
        names = []
        numbers = []
        for index, item in enumerate(on):
            path = f"{rs.at('on')}[{index}]"
            if isinstance(item, str) and item in RETRY_ON:
                names.append(item)
                continue
            status = _range(rs, path, item, f"{_text.quoted_list(RETRY_ON)} or {_STATUS_HINT}")
            if status is None:
                on = None
            else:
                numbers.append(status)
        if on is not None:
            on = tuple(dict.fromkeys(names)) + _numbers(tuple(numbers))
    retry = Retry(
        tries=rs.integer("tries", d.tries, 1, _MAX_TRIES),
        per_try_timeout=per_try,
        on=on,
        budget_percent=rs.number("budget_percent", d.budget_percent, 0, 100, "a percentage from 0 to 100"),
        budget_min_per_second=rs.number("budget_min_per_second", d.budget_min_per_second, 0, 1_000_000,
                                        "a number of retries per second from 0 up"),
    )
    if on is not None and any(s < 500 for s in retry.statuses):
        rs.problem("on", "only 5xx statuses may be retried (a 4xx is the request's fault, "
                   "the same everywhere)")
    rs.finish()
    return retry


def _statuses(sec: Section, key: str, default: list) -> tuple[tuple[int, int], ...] | None:
    """The ranges of the array ``key``: numbers, "5xx" classes, "500-504"."""
    items = sec.array(key, default, "statuses")
    if items is None:
        return None
    if not items:
        sec.problem(key, f"expected at least one status ({_STATUS_HINT})")
        return None
    return sec.each(key, items, lambda path, item: _range(sec, path, item, _STATUS_HINT))


def _range(sec: Section, path: str, item: object, hint: str) -> tuple[int, int] | None:
    if isinstance(item, int) and not isinstance(item, bool):
        if 100 <= item <= 599:
            return (item, item)
        sec.problems.add(path, f"{item} is not an HTTP status (100..599)")
        return None
    if isinstance(item, str):
        match = _CLASS.fullmatch(item)
        if match:
            low = int(match.group(1)) * 100
            return (low, low + 99)
        match = _RANGE.fullmatch(item)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if 100 <= low <= high <= 599:
                return (low, high)
            sec.problems.add(path, f"{_text.show(item)} is not a range of HTTP statuses (100..599, low first)")
            return None
    sec.problems.add(path, f"expected {hint}, got {_text.got(item)}")
    return None


def _numbers(ranges: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    return tuple(sorted({s for low, high in ranges for s in range(low, high + 1)}))


def _is_origin_form(path: str) -> bool:
    return path.startswith("/") and all(33 <= ord(c) <= 126 for c in path)


def _is_field_value(value: str) -> bool:
    return bool(value) and all(32 <= ord(c) <= 126 for c in value) and value.strip() == value
