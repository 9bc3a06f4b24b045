"""A socket-level upstream whose every connection runs a test-given script.

For what the scriptable Origin cannot do on purpose: answer a kept-alive
connection once and then drop it silently, stop reading a request body,
send bytes in a hostile order.  Each accepted connection runs
``handler(conn, index)`` in its own thread (``conn`` a blocking socket with a
timeout, ``index`` 0, 1, 2, ... in accept order).  ``close()`` stops it and
closes every connection; handler exceptions are collected in ``errors``
(a timeout or reset after close() is not an error).
"""

from __future__ import annotations

import socket
import threading


class ScriptedUpstream:
    def __init__(self, handler, timeout: float = 10.0) -> None:
        self.handler = handler
        self.timeout = timeout
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.conns: list[socket.socket] = []
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.accepted = 0
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.settimeout(self.timeout)
            with self.cond:
                index = self.accepted
                self.accepted += 1
                self.conns.append(conn)
                self.cond.notify_all()
            t = threading.Thread(target=self._run, args=(conn, index), daemon=True)
            self.threads.append(t)
            t.start()

    def _run(self, conn: socket.socket, index: int) -> None:
        try:
            self.handler(conn, index)
        except OSError:
            if not self.closed:
                raise
        except BaseException as exc:  # noqa: BLE001 (reported by close(), which fails the test)
            self.errors.append(exc)
        finally:
            conn.close()

    def wait_for_connections(self, n: int, timeout: float = 5.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.accepted >= n, timeout):
                raise TimeoutError(f"{self.accepted} connections, expected {n}")

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self.listener.close()
        self.thread.join(5)
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(5)
        assert not self.errors, self.errors


def read_head(conn: socket.socket, buf: bytearray) -> bytes | None:
    """Reads one request head from ``conn`` (``buf`` keeps what follows); None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    return head
