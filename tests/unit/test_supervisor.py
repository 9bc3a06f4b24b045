"""fastproxy.supervisor pieces that need no process: the restart backoff.
The processes themselves are tested in tests/integration/test_lifecycle.py."""

from __future__ import annotations

from fastproxy.supervisor import Backoff


def test_backoff_grows_while_workers_die_young_and_resets():
    backoff = Backoff(first=0.5, most=4.0, stable=60.0)
    assert [backoff.delay(1.0) for _ in range(6)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.delay(60.0) == 0.0  # it had served a while: a fresh start
    assert backoff.delay(0.1) == 0.5
