"""Active health checks: one asyncio task per server of an upstream, per worker.

Off the data path (plain Python).  Each probe is an HTTP/1.1 GET of the
check's path with ``Connection: close`` (its status line is all that is
read), or a bare TCP connect; over TLS, with the upstream's TLS context,
for https:// servers.  A probe that does not finish within the check's
timeout fails.  Between probes each task waits the interval times a random
factor in 1 +- jitter: workers started together drift apart instead of
probing in lock-step (and the first probe of each comes after a random part
of one interval, for the same reason).
"""

from __future__ import annotations

import asyncio
import random
import ssl

__all__ = ["ActiveChecks", "probe_request"]

# A status line longer than this is not one.
_MAX_STATUS_LINE = 1024


def probe_request(path: str, host: str) -> bytes:
    """The bytes of an HTTP probe."""
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fastproxy-health-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n").encode("ascii")


def _status_of(line: bytes) -> int | None:
    """The status code of an HTTP/1.x status line, or None."""
    parts = line.rstrip(b"\r\n").split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


class ActiveChecks:
    """The probing tasks of one upstream (``health``: its UpstreamHealth)."""

    def __init__(self, health, loop) -> None:
        self.health = health
        self.loop = loop
        self.check = health.check
        # Seeded per worker by the OS: workers must not draw the same waits.
        self.random = random.Random()
        self.tasks: list[asyncio.Task] = []
        self.probes = 0
        self.closed = False

    def start(self) -> None:
        for i in range(len(self.health.addresses)):
            self.tasks.append(self.loop.create_task(self._run(i), name=f"health-check {self.health.name}[{i}]"))

    async def close(self) -> None:
        # The flag too: wait_for may swallow a cancellation that arrives as
        # its probe ends (Python < 3.12), and the loop must end all the same.
        self.closed = True
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def next_wait(self) -> float:
        """Seconds until the next probe: the interval, jittered."""
        jitter = self.check.jitter
        return self.check.interval * (1.0 + self.random.uniform(-jitter, jitter))

    async def _run(self, i: int) -> None:
        check = self.check
        # A first probe soon, but not at the same moment in every worker.
        await asyncio.sleep(self.random.uniform(0, check.interval * max(check.jitter, 0.05)))
        while not self.closed:
            self.probes += 1
            try:
                ok, detail = await asyncio.wait_for(self._probe(i), check.timeout)
            except asyncio.TimeoutError:  # (not the builtin on Python 3.10)
                ok, detail = False, f"no answer within {check.timeout:g}s"
            except (OSError, ssl.SSLError, EOFError, ValueError) as exc:
                ok, detail = False, _describe(exc)
            if self.closed:
                return
            self.health.check_result(i, ok, detail)
            await asyncio.sleep(self.next_wait())

    async def _probe(self, i: int) -> tuple[bool, str]:
        pool = self.health.group.pools[i]
        options = {}
        if pool.ssl is not None:
            options = {"ssl": pool.ssl, "server_hostname": pool.server_hostname}
        reader, writer = await asyncio.open_connection(pool.host, pool.port, **options)
        try:
            if self.check.type == "tcp":
                return True, "connected"
            host = self.check.host or pool.address
            writer.write(probe_request(self.check.path, host))
            line = await reader.readline()
            if not line:
                return False, "closed without a response"
            status = _status_of(line[:_MAX_STATUS_LINE])
            if status is None:
                return False, "not an HTTP response"
            if any(low <= status <= high for low, high in self.check.expected_statuses):
                return True, f"status {status}"
            return False, f"status {status}"
        finally:
            writer.transport.abort()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
