"""A small HTTP/1.1 origin whose behaviour a test switches, for the health tests.

``Switchable(name)`` serves on 127.0.0.1, port 0, on its own loop in a
background thread.  Its mode, for every request from the next one on:

``"ok"``        200, body ``NAME``, keep-alive
``"status"``    ``status`` (set with ``set("status", 503)``), body ``NAME status N``
``"hang"``      reads the request, never answers
``"reset"``     reads the request, resets the connection (SO_LINGER 0)
``"down"``      no listener: connections are refused (the port stays bound
                without listening, so nobody else takes it), and the open
                connections are cut; ``set("ok")`` listens again on the same port

It records each request's path and the monotonic time its head arrived
(``requests``), and ``wait_for(predicate)`` waits on a condition variable.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

_RST = struct.pack("ii", 1, 0)


class Switchable:
    def __init__(self, name: str) -> None:
        self.name = name
        self.mode = "ok"
        self.status = 200
        self.requests: list[tuple[str, float]] = []
        self.heads: list[str] = []
        self.errors: list[BaseException] = []
        self._cond = threading.Condition()
        self._writers: set = set()
        self._hung: list[asyncio.Future] = []
        self.loop = asyncio.new_event_loop()
        self.sock = self._bound_socket(0)
        self.port = self.sock.getsockname()[1]
        self.server = None
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"origin {name}", daemon=True)
        self.thread.start()
        self._call(self._listen)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def _bound_socket(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock

    def _call(self, coro_fn, *args):
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self.loop).result(10)

    # -- switching ---------------------------------------------------------------

    def set(self, mode: str, status: int = 200) -> None:
        self._call(self._set, mode, status)

    async def _set(self, mode: str, status: int) -> None:
        was = self.mode
        self.mode, self.status = mode, status
        if mode == "down" and was != "down":
            self.server.close()  # closes the listening socket at once
            self.server = None
            self._cut_all()
            # A bound socket that does not listen: connects get a reset (refused).
            self.sock = self._bound_socket(self.port)
        elif mode != "down" and was == "down":
            await self._listen()

    async def _listen(self) -> None:
        self.sock.listen(64)
        self.server = await asyncio.start_server(self._serve, sock=self.sock)

    def _cut_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()
        for hung in self._hung:
            if not hung.done():
                hung.set_result(None)

    # -- serving -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length:
                    await reader.readexactly(length)
                with self._cond:
                    self.requests.append((path, time.monotonic()))
                    self.heads.append(head.decode("latin-1"))
                    self._cond.notify_all()
                mode = self.mode
                if mode == "hang":
                    hung = self.loop.create_future()
                    self._hung.append(hung)
                    await hung
                    return
                if mode in ("reset", "down"):
                    _reset(writer)
                    return
                status = self.status if mode == "status" else 200
                body = f"{self.name} status {status}" if mode == "status" else self.name
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                             f"X-Origin: {self.name}\r\n\r\n{body}".encode("ascii"))
                await writer.drain()
        except ConnectionError:
            pass
        except Exception as exc:  # noqa: BLE001  (a bug in this helper: close() reports it)
            self.errors.append(exc)
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    # -- reading --------------------------------------------------------------------

    def paths(self, path: str | None = None) -> list[str]:
        with self._cond:
            return [p for p, _ in self.requests if path is None or p == path]

    def times(self, path: str) -> list[float]:
        with self._cond:
            return [t for p, t in self.requests if p == path]

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition") -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise TimeoutError(f"origin {self.name}: no {what} within {timeout}s ({len(self.requests)} requests)")

    def close(self) -> None:
        async def stop():
            if self.server is not None:
                self.server.close()
            self._cut_all()
            self.sock.close()
        self._call(stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        assert not self.errors, self.errors


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
        except OSError:
            pass
    writer.transport.abort()
