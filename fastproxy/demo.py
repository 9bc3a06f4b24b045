"""``fastproxy demo``: the proxy in front of three built-in origins, a burst, the figures.

Starts three :mod:`fastproxy.origin` servers on ephemeral ports and the
proxy on 127.0.0.1:8080 (or a free port when 8080 is taken) with the
embedded :data:`DEMO_CONFIG`, sends a short burst of requests through it
over a few keep-alive connections, prints how they were spread over the
origins (from ``X-Origin``) and their latency, then serves until Ctrl-C or
``--duration`` seconds.  Needs nothing beyond fastproxy itself.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import math
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from fastproxy import _ext
from fastproxy.origin import start_origin

DEFAULT_PORT = 8080
ORIGINS = 3
BURST_REQUESTS = 300
BURST_CONNECTIONS = 4
REQUEST_TIMEOUT = 5.0

# The whole configuration of the demo; the ports are filled in at start.
DEMO_CONFIG = """\
# fastproxy demo: one listener, three built-in origins, round robin.
[[listener]]
bind = "127.0.0.1:{port}"

[[route]]
upstream = "demo"

[upstream.demo]
servers = [{servers}]
balance = "round_robin"
"""


@dataclass
class Burst:
    """What the burst saw: latencies (s) of good answers, who answered, what failed."""

    latencies: list[float] = field(default_factory=list)
    origins: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def main(args: argparse.Namespace | list[str] | None = None) -> int:
    """Runs the demo; ``args`` is the CLI's namespace (``duration``, optional ``port``) or argv."""
    if args is None or isinstance(args, (list, tuple)):
        args = _parser().parse_args(args)
    duration = getattr(args, "duration", None)
    port = getattr(args, "port", None)
    coro = run_demo(duration, DEFAULT_PORT if port is None else port)
    try:
        import uvloop
    except ImportError:  # a bare checkout; the package depends on uvloop
        return asyncio.run(coro)
    return uvloop.run(coro)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fastproxy.demo", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds (default: at Ctrl-C)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"the proxy's port (default {DEFAULT_PORT}; 0: any free port)")
    return p


async def run_demo(duration: float | None, port: int = DEFAULT_PORT, out: TextIO | None = None) -> int:
    """The demo on the running loop; 0 when every request of the burst was answered."""
    out = out or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    try:
        from fastproxy.server import start
    except ImportError as exc:
        say(f"fastproxy demo: the proxy is not available: {exc}")
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    origins = []
    proxy = None
    try:
        for i in range(1, ORIGINS + 1):
            origins.append(await start_origin(name=f"origin-{i}"))
        try:
            proxy, taken = await _start_proxy(start, origins, port)
        except OSError as exc:
            say(f"fastproxy demo: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
            return 1
        host, bound = proxy.addresses[0]
        say(f"fastproxy demo: {ORIGINS} built-in origins behind the proxy, round robin "
            f"(parser: {_ext.ACTIVE.get('parser', '?')})")
        for o in origins:
            say(f"  {o.name}  http://{o.address[0]}:{o.address[1]}")
        if taken:
            say(f"Port {port} is taken; the proxy listens on port {bound} instead.")
        say(f"Proxy listening on http://{host}:{bound}")
        say()
        burst = await _race(_burst(host, bound), stop)
        if burst is None:
            say("Interrupted.")
            return 0
        _report(burst, [o.name for o in origins], say)
        if burst.failures:
            return 1
        say()
        say(f"Try it:  curl -i http://{host}:{bound}/")
        say(f"         curl http://{host}:{bound}/bytes/1000   (or /status/404)")
        say("Serving until Ctrl-C." if duration is None else f"Serving for {duration:g} s (Ctrl-C stops sooner).")
        try:
            await asyncio.wait_for(stop.wait(), duration)
        except asyncio.TimeoutError:
            pass
        say("Stopped.")
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        if proxy is not None:
            await proxy.close()
        for o in origins:
            await o.close()


async def _start_proxy(start, origins, port: int):
    """(proxy, whether ``port`` was taken); falls back to a free port only when it is in use."""
    from fastproxy.config import parse_config, parse_toml

    def config(p: int):
        servers = ", ".join(f'"{host}:{po}"' for host, po in (o.address for o in origins))
        text = DEMO_CONFIG.format(port=p, servers=servers)
        return parse_config(parse_toml(text.encode()), source="demo")

    try:
        return await start(config(port)), False
    except OSError as exc:
        if port == 0 or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
    return await start(config(0)), True


async def _race(coro, stop: asyncio.Event):
    """The result of ``coro``, or None if ``stop`` is set first."""
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return None


# -- the burst ---------------------------------------------------------------


async def _burst(host: str, port: int) -> Burst:
    """BURST_REQUESTS GETs of / over BURST_CONNECTIONS keep-alive connections at once."""
    burst = Burst()
    shares = [BURST_REQUESTS // BURST_CONNECTIONS + (i < BURST_REQUESTS % BURST_CONNECTIONS)
              for i in range(BURST_CONNECTIONS)]
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(host, port, n, burst) for n in shares))
    burst.elapsed = time.perf_counter() - t0
    return burst


async def _client(host: str, port: int, count: int, burst: Burst) -> None:
    request = f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: fastproxy-demo\r\n\r\n".encode()
    reader = writer = None
    done = 0
    try:
        for done in range(count):
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            t0 = time.perf_counter()
            writer.write(request)
            status, fields = await asyncio.wait_for(_response(reader), REQUEST_TIMEOUT)
            latency = time.perf_counter() - t0
            burst.statuses[status] += 1
            if status == 200:
                burst.latencies.append(latency)
                burst.origins[fields.get(b"x-origin", b"(none)").decode("latin-1")] += 1
            else:
                burst.failures.append(f"status {status}")
            if b"close" in fields.get(b"connection", b"").lower():
                writer.close()
                writer = None
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        # This request and the ones this connection had yet to send.
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        burst.failures.extend([what] * (count - done))
    finally:
        if writer is not None:
            writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    """Reads one response (Content-Length or chunked body); (status, lowercased fields)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        while await reader.readuntil(b"\r\n") != b"\r\n":
            pass
    elif status >= 200 and status not in (204, 304):
        length = fields.get(b"content-length")
        if length is None:
            raise ValueError(f"a {status} response without Content-Length")
        await reader.readexactly(int(length))
    return status, fields


# -- the report --------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _report(burst: Burst, names: list[str], say) -> None:
    answered = len(burst.latencies)
    rate = answered / burst.elapsed if burst.elapsed > 0 else 0.0
    say(f"Sent {BURST_REQUESTS} requests through the proxy over {BURST_CONNECTIONS} keep-alive "
        f"connections: {answered} answered 200 in {burst.elapsed:.2f} s ({rate:,.0f} requests/s)")
    say()
    say(f"  {'origin':<10} {'requests':>8} {'share':>7}")
    for name in names + sorted(set(burst.origins) - set(names)):
        count = burst.origins.get(name, 0)
        share = 100 * count / answered if answered else 0.0
        say(f"  {name:<10} {count:>8} {share:>6.1f}%")
    if burst.latencies:
        lat = sorted(burst.latencies)
        figures = "  ".join(f"{label} {percentile(lat, p) * 1000:.2f}"
                            for label, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)))
        say()
        say(f"  latency (ms)  {figures}")
        say("  (client, proxy and origins share this one process)")
    if burst.failures:
        say()
        say(f"{len(burst.failures)} requests failed: " + ", ".join(
            f"{what} x{n}" for what, n in Counter(burst.failures).most_common()))


if __name__ == "__main__":
    raise SystemExit(main())
