"""Health and resilience of the upstream servers, per worker.

Theory of operation
-------------------
Each upstream Group (balance.py) carries an :class:`UpstreamHealth`
(``group.health``): the one place that knows, per server, what the checks
said and what the traffic did.  Three sources of verdicts, each owning one
OUT_* bit of ``Group.set_out``:

- active checks (active.py): one asyncio task per server probes it (HTTP
  GET or TCP connect) every jittered interval; ``fall`` failures in a row
  take it out (OUT_ACTIVE), ``rise`` passes bring it back;
- passive checks (state.py): the data path reports each exchange's
  outcome; ``consecutive_failures`` in a row eject the server (OUT_PASSIVE)
  for a backoff that doubles while it keeps failing after its return; one
  timer per ejection brings it back;
- retries (state.py, decided there, carried out by downstream.py): an
  idempotent request held whole goes to another server after a connect
  failure, a reset, a timeout or a configured status, within a count and a
  retry budget.

``snapshot()`` gives all of it as plain data, for the admin API and metrics.
"""

from fastproxy.health.state import UpstreamHealth, health_snapshot

__all__ = ["UpstreamHealth", "health_snapshot"]
