"""One worker process: serves its share of the listening sockets until told to stop.

A worker is forked by the supervisor (supervisor.py) and inherits what it
serves: the config, its share of the listening sockets (bound and listening
already) and the listeners' TLS contexts.  It builds the rest on a fresh
uvloop loop with :func:`fastproxy.server.start`, then writes READY to its
status pipe: from then on the supervisor counts it as serving.

Stopping:
    SIGTERM, SIGINT   graceful: Proxy.drain, for up to server.drain_timeout
    SIGQUIT           immediate: Proxy.close (busy connections are cut);
                      also cuts a graceful stop short
    lifeline EOF      graceful: the supervisor is gone (no worker outlives it)
    SIGHUP            ignored: reloading is the supervisor's job
    SIGUSR1           reopen the access log file (log rotation; the
                      supervisor forwards its own SIGUSR1)
Exit codes: 0 stopped; 1 could not serve; 2 the config cannot run here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

from fastproxy.errors import ConfigError
from fastproxy.server import start

__all__ = ["READY", "WorkerSpec", "run"]

log = logging.getLogger("fastproxy.worker")

READY = b"R"


@dataclass
class WorkerSpec:
    """What a worker serves: ``sockets`` and ``tls`` hold one entry per
    listener of ``config``; ``status_fd`` is the write end of its status
    pipe, ``lifeline_fd`` the read end of the pipe only the supervisor
    writes to."""

    config: object
    sockets: list
    tls: list
    status_fd: int
    lifeline_fd: int
    # The worker's end of its control channel (control.py), -1: none (no
    # admin API); the (upstream, server) pairs the admin API has drained.
    control_fd: int = -1
    drained: tuple = ()


def run(spec: WorkerSpec) -> int:
    """Serves until stopped (see the module docstring); the exit code."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_serve(spec))
    return uvloop.run(_serve(spec))


async def _serve(spec: WorkerSpec) -> int:
    loop = asyncio.get_running_loop()
    try:
        proxy = await start(spec.config, sockets=spec.sockets, tls=spec.tls)
    except ConfigError as exc:
        for key, message in exc.problems:
            log.error("%s: %s", key, message)
        return 2
    except OSError as exc:
        log.error("cannot serve: %s", exc)
        return 1
    channel = None
    if spec.control_fd >= 0:
        from fastproxy.control import ControlChannel, set_admin_out

        for upstream, server in spec.drained:
            set_admin_out(proxy.ctx, spec.config, upstream, server, True)
        channel = await ControlChannel.open(spec.control_fd, proxy.ctx, spec.config)
    graceful = loop.create_future()
    immediate = loop.create_future()

    def request(future) -> None:
        if not future.done():
            future.set_result(None)

    def lifeline() -> None:
        if not os.read(spec.lifeline_fd, 64):
            loop.remove_reader(spec.lifeline_fd)
            log.warning("the supervisor is gone: stopping")
            request(graceful)

    loop.add_signal_handler(signal.SIGTERM, request, graceful)
    loop.add_signal_handler(signal.SIGINT, request, graceful)
    loop.add_signal_handler(signal.SIGQUIT, request, immediate)
    loop.add_signal_handler(signal.SIGUSR1, proxy.reopen_logs)
    loop.add_reader(spec.lifeline_fd, lifeline)
    try:
        os.write(spec.status_fd, READY)
    except BrokenPipeError:
        pass  # the supervisor is gone: the lifeline says so too
    os.close(spec.status_fd)
    await asyncio.wait((graceful, immediate), return_when=asyncio.FIRST_COMPLETED)
    if not immediate.done():
        clients, _ = proxy.open_connections()
        log.info("draining: %d client connections open, up to %gs", clients, spec.config.server.drain_timeout)
        drain = loop.create_task(proxy.drain(spec.config.server.drain_timeout))
        await asyncio.wait((drain, immediate), return_when=asyncio.FIRST_COMPLETED)
        if not drain.done():
            drain.cancel()
            try:
                await drain
            except asyncio.CancelledError:
                pass
    await proxy.close()
    if channel is not None:
        await channel.finish()
    return 0
