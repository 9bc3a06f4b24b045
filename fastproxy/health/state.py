"""What one worker knows of the health of an upstream's servers.

:class:`UpstreamHealth` is built once per upstream and worker (context.py)
and hung on its Group as ``group.health``.  The data path reports to it
once per exchange (``response``, ``failed``) and asks it about retries
(``retries_on``, ``spend_retry``); active checks report their probes
(``check_result``).  Everything here runs on the worker's loop thread.

Per exchange the cost is one C call (compiled: state.pxd) and a few
integer operations: no clock reads, no logging, no allocation; statuses
are looked up in byte tables.  Time enters through timers only: one per
ejection (its end) and one per upstream that rolls the retry budget's
window.
"""

from __future__ import annotations

import logging

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

__all__ = ["BUDGET_WINDOW", "UpstreamHealth", "health_snapshot"]

log = logging.getLogger("fastproxy.health")

# balance.OUT_* (balance.py cannot be imported from here: it is compiled
# first, and these are plain values anyway).
OUT_ACTIVE = 1
OUT_PASSIVE = 2
# Statuses are looked up by index: 100..999 is what a status line can say.
STATUS_TABLE = 1000

# The retry budget weighs the requests and retries of the current window
# and the one before it (10 to 20 seconds of history, as Linkerd's 10s TTL).
BUDGET_WINDOW = 10.0



def _retry_kinds() -> dict[str, tuple[int, ...]]:
    """The failure kinds of upstream/connection.py each retry ``on`` name covers."""
    # Imported when used: connection.py sits below this module in the data
    # path, which loads from its top (downstream.py).
    from fastproxy.upstream import connection as c

    return {
        "connect_failure": (c.FAIL_CONNECT, c.FAIL_CONNECT_TIMEOUT),
        "reset": (c.FAIL_CLOSED,),
        "timeout": (c.FAIL_READ_TIMEOUT, c.FAIL_WRITE_TIMEOUT),
    }


def _table(statuses) -> bytearray:
    table = bytearray(STATUS_TABLE)
    for status in statuses:
        table[status] = 1
    return table


class UpstreamHealth:
    """The health state of the servers of one upstream ``group`` (balance.Group),
    under its config ``upstream`` (schema.Upstream): passive ejections, the
    retry policy and budget, and what active checks found."""

    def __init__(self, group, upstream) -> None:
        self.group = group
        self.name = upstream.name
        self.addresses = tuple(server.address for server in upstream.servers)
        self.check = upstream.health_check
        passive = upstream.passive
        retry = upstream.retry
        n = len(self.addresses)
        self.loop = None
        # Passive checks.
        self.passive_on = passive.enabled and n > 1
        self.max_fails = passive.consecutive_failures
        self.bad_status = _table(passive.statuses if passive.enabled else ())
        self.base_ejection = passive.base_ejection_time
        self.max_ejection = passive.max_ejection_time
        # At most this many servers ejected at once; one at least, two servers or more.
        self.max_ejected = max(1, n * passive.max_ejection_percent // 100) if n > 1 else 0
        if passive.max_ejection_percent == 0:
            self.max_ejected = 0
        # Retries.
        self.tries = retry.tries
        kinds = _retry_kinds()
        self.fail_closed = kinds["reset"][0]
        self.retry_kinds = 0  # a bit per FAIL_* kind
        for name in retry.failures:
            for kind in kinds[name]:
                self.retry_kinds |= 1 << kind
        self.retry_status = _table(retry.statuses)
        self.budget_ratio = retry.budget_percent / 100.0
        self.budget_reserve = retry.budget_min_per_second * BUDGET_WINDOW
        self.requests_now = self.requests_before = 0
        self.retries_now = self.retries_before = 0
        self.retries = 0
        self.retries_refused = 0
        self._roller = None
        # Per server.
        self.fails = [0] * n           # consecutive failures (passive)
        self.failures = [0] * n        # all failures counted (passive)
        self.level = [0] * n           # ejections since the last success: the backoff's exponent
        self.ejections = [0] * n
        self.ejected_until = [0.0] * n
        self.retried_from = [0] * n    # retries of requests that failed on this server
        self._timers: list = [None] * n
        # Active checks.
        self.check_passes = [0] * n    # in a row
        self.check_fails = [0] * n     # in a row
        self.checks_passed = [0] * n
        self.checks_failed = [0] * n
        self.last_check = [""] * n     # "" never; "ok" or why it failed
        self.transitions = [0] * n     # active up/down changes
        self.checker = None

    # -- lifecycle (once per worker) ------------------------------------------

    def start(self, loop) -> None:
        """Starts the budget's window and, if configured, the active checks."""
        self.loop = loop
        self._roller = loop.call_later(BUDGET_WINDOW, self._roll)
        if self.check is not None:
            from fastproxy.health.active import ActiveChecks

            self.checker = ActiveChecks(self, loop)
            self.checker.start()

    async def close(self) -> None:
        """Stops every timer and check task of this upstream."""
        if self._roller is not None:
            self._roller.cancel()
            self._roller = None
        for i, timer in enumerate(self._timers):
            if timer is not None:
                timer.cancel()
                self._timers[i] = None
        if self.checker is not None:
            checker = self.checker
            self.checker = None
            await checker.close()

    def _roll(self) -> None:
        self.requests_before, self.requests_now = self.requests_now, 0
        self.retries_before, self.retries_now = self.retries_now, 0
        self._roller = self.loop.call_later(BUDGET_WINDOW, self._roll)

    # -- reports from the data path (per exchange) ------------------------------

    def response(self, i: int, status: int, tries: int) -> bool:
        """Server ``i`` answered with a final ``status`` on the request's try
        number ``tries``; True when that status asks for a retry."""
        if tries == 1:
            self.requests_now += 1
        if not 0 <= status < STATUS_TABLE:
            return False  # (the parser allows none of these)
        if self.bad_status[status]:
            self._failure(i)
        elif self.fails[i] or self.level[i]:
            self.fails[i] = 0
            self.level[i] = 0
        return self.retry_status[status] != 0

    def failed(self, i: int, kind: int, reused: bool, tries: int) -> None:
        """The exchange with server ``i`` failed before any response (``kind``:
        a FAIL_* of upstream/connection.py) on try number ``tries``;
        ``reused``: on a kept-alive connection."""
        if tries == 1:
            self.requests_now += 1
        if kind == self.fail_closed and reused:
            return  # a kept-alive connection the server let go: not a sign of trouble
        self._failure(i)

    # -- retries ----------------------------------------------------------------

    def retries_on(self, kind: int) -> bool:
        """True when a failure of ``kind`` (FAIL_*) may be retried."""
        return 0 <= kind < 32 and (self.retry_kinds >> kind) & 1 != 0

    def spend_retry(self, i: int) -> bool:
        """Takes one retry of a request that failed on server ``i`` from the
        budget; False (counted as refused) when the budget is spent."""
        requests = self.requests_now + self.requests_before
        retries = self.retries_now + self.retries_before
        if retries >= self.budget_ratio * requests + self.budget_reserve:
            self.retries_refused += 1
            return False
        self.retries_now += 1
        self.retries += 1
        self.retried_from[i] += 1
        return True

    # -- passive checks ---------------------------------------------------------

    def _failure(self, i: int) -> None:
        self.failures[i] += 1
        self.fails[i] += 1
        if self.fails[i] >= self.max_fails and self.passive_on and not self.group.out[i] & OUT_PASSIVE:
            self._eject(i)

    def _eject(self, i: int) -> None:
        group = self.group
        ejected = sum(1 for bits in group.out if bits & OUT_PASSIVE)
        if ejected >= self.max_ejected or self.loop is None:
            return
        seconds = min(self.base_ejection * (1 << min(self.level[i], 30)), self.max_ejection)
        self.level[i] += 1
        self.ejections[i] += 1
        self.fails[i] = 0
        group.set_out(i, OUT_PASSIVE, True)
        self.ejected_until[i] = self.loop.time() + seconds
        self._timers[i] = self.loop.call_later(seconds, self._readmit, i)
        log.warning("upstream %s: server %s ejected for %gs (%d failures in a row)",
                    self.name, self.addresses[i], seconds, self.max_fails)

    def _readmit(self, i: int) -> None:
        self._timers[i] = None
        self.ejected_until[i] = 0.0
        self.fails[i] = 0
        self.group.set_out(i, OUT_PASSIVE, False)
        log.info("upstream %s: server %s back from ejection", self.name, self.addresses[i])

    # -- active checks ----------------------------------------------------------

    def check_result(self, i: int, ok: bool, detail: str) -> None:
        """An active probe of server ``i`` passed (``ok``) or failed (``detail`` says why)."""
        self.last_check[i] = "ok" if ok else detail
        check = self.check
        down = bool(self.group.out[i] & OUT_ACTIVE)
        if ok:
            self.checks_passed[i] += 1
            self.check_fails[i] = 0
            self.check_passes[i] += 1
            if down and self.check_passes[i] >= check.rise:
                self._set_active(i, False, detail)
        else:
            self.checks_failed[i] += 1
            self.check_passes[i] = 0
            self.check_fails[i] += 1
            if not down and self.check_fails[i] >= check.fall:
                self._set_active(i, True, detail)

    def _set_active(self, i: int, out: bool, detail: str) -> None:
        self.transitions[i] += 1
        self.group.set_out(i, OUT_ACTIVE, out)
        if out:
            log.warning("upstream %s: server %s down after %d failed checks (%s)",
                        self.name, self.addresses[i], self.check.fall, detail)
        else:
            log.info("upstream %s: server %s up after %d passed checks",
                     self.name, self.addresses[i], self.check.rise)

    # -- reading ----------------------------------------------------------------

    def snapshot(self) -> dict:
        """Plain data: the upstream's retry counts and, per server, its state."""
        group = self.group
        now = self.loop.time() if self.loop is not None else 0.0
        servers = []
        for i, address in enumerate(self.addresses):
            reasons = group.out_reasons(i)
            servers.append({
                "address": address,
                "state": "down" if reasons else "up",
                "reasons": reasons,
                "consecutive_failures": self.fails[i],
                "failures": self.failures[i],
                "ejections": self.ejections[i],
                "ejected_for": max(0.0, self.ejected_until[i] - now) if self.ejected_until[i] else 0.0,
                "retries": self.retried_from[i],
                "checks": {
                    "passed": self.checks_passed[i],
                    "failed": self.checks_failed[i],
                    "last": self.last_check[i] or None,
                    "transitions": self.transitions[i],
                },
            })
        return {
            "name": self.name,
            "retries": self.retries,
            "retries_refused": self.retries_refused,
            "active_checks": self.check is not None,
            "servers": servers,
        }


def health_snapshot(ctx) -> list[dict]:
    """The snapshot of every upstream of a proxy context, in config order."""
    return [group.health.snapshot() for group in ctx.groups]
