"""The floor of the benchmark for any uvloop design: ``fastproxy bench --target relay-uvloop``.

A 1:1 TCP relay on uvloop: each client connection gets its own upstream
connection and bytes go both ways unread, with backpressure and nothing
else (no parsing, no headers, no timeouts, no pooling).  What it costs per
request is what CPython, uvloop and the kernel charge before a proxy does
any work of its own.

usage: python -m fastproxy.bench.relay LISTEN_PORT UPSTREAM_PORT   (both on 127.0.0.1)
"""

from __future__ import annotations

import asyncio
import signal
import sys

__all__ = ["main"]

HOST = "127.0.0.1"


class _Side(asyncio.Protocol):
    """One socket of a pair; what it reads goes to the other one's transport."""

    def __init__(self, peer: _Side | None = None) -> None:
        self.peer = peer
        self.transport: asyncio.Transport | None = None
        self.early: list[bytes] = []  # read before the upstream connection was made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(data)
        else:
            peer.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    # the peer's transport is full: stop reading what would be written to it
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Client(_Side):
    def __init__(self, upstream_port: int) -> None:
        super().__init__()
        self.upstream_port = upstream_port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await loop.create_connection(lambda: _Side(self), HOST, self.upstream_port)
        except OSError:
            if self.transport is not None:
                self.transport.close()
            return
        self.peer = upstream
        for data in self.early:
            upstream.transport.write(data)
        self.early.clear()


async def _serve(listen_port: int, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGINT, signal.SIGTERM):  # a clean exit, so profilers write their output
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    server = await loop.create_server(lambda: _Client(upstream_port), HOST, listen_port, backlog=4096)
    await stop
    server.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not all(a.isdigit() for a in args):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    import uvloop

    uvloop.run(_serve(int(args[0]), int(args[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
