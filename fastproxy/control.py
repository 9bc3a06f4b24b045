"""A worker's end of its control channel to the supervisor (admin.py).

One socketpair per worker, made at fork when the admin API is on.  The
supervisor writes one JSON object per line, ``{"seq": n, "op": ...}``; the
worker answers each, in order, with one line ``{"seq": n, ...}``:

    snapshot                      -> {"snapshot": metrics.worker_snapshot}
    set_out upstream server out   -> {"found": bool}: the admin drain switch
                                     (Group.set_out with OUT_ADMIN)

When the worker stops it writes a last line, ``{"seq": 0, "final": ...}``,
its final snapshot, so that the supervisor's totals lose none of its counts.
Everything here is per admin request or rarer: plain Python.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import orjson

from fastproxy.balance import OUT_ADMIN
from fastproxy.metrics import worker_snapshot

__all__ = ["ControlChannel", "set_admin_out"]

log = logging.getLogger("fastproxy.control")

# Longest command line accepted; the supervisor's are far shorter.
MAX_LINE = 64 * 1024
FINAL_WAIT = 2.0


def set_admin_out(ctx, config, upstream_name: str, server_text: str, out: bool) -> bool:
    """Drains (``out``) or enables a server in this worker; False when
    ``config`` has no such upstream and server."""
    try:
        upstream = config.upstream(upstream_name)
    except KeyError:
        return False
    for i, server in enumerate(upstream.servers):
        if server_text in (server.address, server.url):
            for group in ctx.groups:  # one per upstream, in config order
                if group.name == upstream_name:
                    group.set_out(i, OUT_ADMIN, out)
            return True
    return False


class ControlChannel(asyncio.Protocol):
    """Serves the supervisor's commands for the worker of ``ctx`` and ``config``."""

    def __init__(self, ctx, config) -> None:
        self.ctx = ctx
        self.config = config
        self.transport = None
        self.buf = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, fd: int, ctx, config) -> ControlChannel:
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        _, channel = await asyncio.get_running_loop().connect_accepted_socket(lambda: cls(ctx, config), sock)
        return channel

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\n")
            if end < 0:
                if len(self.buf) > MAX_LINE:
                    log.error("control channel: command line too long; closing it")
                    self.transport.close()
                return
            line = bytes(self.buf[:end])
            del self.buf[:end + 1]
            try:
                reply = self.handle(orjson.loads(line))
            except Exception:  # a bug on either side: say so, keep serving
                log.exception("control channel: bad command %r", line[:200])
                continue
            self.transport.write(orjson.dumps(reply) + b"\n")

    def handle(self, command: dict) -> dict:
        op = command.get("op")
        reply = {"seq": command.get("seq", 0)}
        if op == "snapshot":
            reply["snapshot"] = worker_snapshot(self.ctx, self.config)
        elif op == "set_out":
            reply["found"] = set_admin_out(self.ctx, self.config, command["upstream"], command["server"],
                                           bool(command["out"]))
        else:
            reply["error"] = f"unknown op {op!r}"
        return reply

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    async def finish(self) -> None:
        """Sends the final snapshot and closes, waiting (a little) until it is out."""
        if self.transport is None or self.transport.is_closing():
            return
        final = {"seq": 0, "final": worker_snapshot(self.ctx, self.config)}
        self.transport.write(orjson.dumps(final) + b"\n")
        self.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), FINAL_WAIT)
        except asyncio.TimeoutError:  # not the builtin TimeoutError on Python 3.10
            log.warning("control channel: the final snapshot was not taken within %gs", FINAL_WAIT)
