"""The listening sockets of a supervisor, shared out among its workers.

Each listener is bound as a group of SO_REUSEPORT sockets, one per worker
slot: the kernel spreads new connections over the group, each socket has
its own accept queue, and no worker wakes for a connection another takes.

The supervisor binds them and keeps them open for as long as their listener
stays in the config; workers inherit them when they fork.  A connection
queued on a socket therefore survives a change of the worker serving it (a
reload, a restart): the next worker accepts it.  A socket is never closed
while its listener exists, so the group only grows: when a reload lowers the
worker count, a worker serves several sockets (slot i of N serves sockets
i, i + N, ...).  Only a listener removed from the config loses its sockets,
and with them the connections still queued on them.
"""

from __future__ import annotations

import socket

from fastproxy.config.addresses import format_host_port

__all__ = ["BACKLOG", "ListenerSockets"]

BACKLOG = 1024


class ListenerSockets:
    """The sockets of one listener address (``host``, ``port`` as configured;
    port 0: one free port, chosen at the first bind, for the whole group).

    ``grow`` raises OSError if a socket cannot be bound (nothing is left
    half-bound: sockets made in a failed call are closed).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.sockets: list[socket.socket] = []

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) actually bound."""
        return self.sockets[0].getsockname()[:2] if self.sockets else (self.host, self.port)

    def describe(self) -> str:
        return format_host_port(*self.address)

    def grow(self, count: int) -> None:
        """Binds sockets until there are at least ``count``."""
        made = []
        first = self.sockets[0] if self.sockets else None
        try:
            while len(self.sockets) + len(made) < count:
                sock = self._bind(first)
                made.append(sock)
                first = first or sock
        except BaseException:
            for sock in made:
                sock.close()
            raise
        self.sockets.extend(made)

    def _bind(self, first: socket.socket | None) -> socket.socket:
        if first is not None:
            family, address = first.family, first.getsockname()
        else:
            info = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, address = info[0][0], info[0][4]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        return sock

    def share(self, slot: int, count: int) -> list[socket.socket]:
        """The sockets worker ``slot`` of ``count`` serves (at least one)."""
        return self.sockets[slot::count]

    def shrink(self, count: int) -> None:
        """Closes the sockets past the first ``count`` (undoes a grow)."""
        for sock in self.sockets[count:]:
            sock.close()
        del self.sockets[count:]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets = []
