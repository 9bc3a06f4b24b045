"""Bounded memory, measured on a real ``fastproxy run`` process.

The proxy runs in a subprocess so that its resident set is its own: a 1 GiB
upload and a 1 GiB download must raise its peak RSS by less than 32 MiB, and
idle keep-alive connections must cost less than 10 KiB each (the issue's
10,000 connections under 100 MiB; 2,000 here to stay fast).  Peak RSS is
read from /proc (VmHWM, reset through clear_refs after warm-up).
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import fastproxy
from tests.integration.origin import Origin

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")

MIB = 1024 * 1024
GIB = 1024 * MIB
REPO = Path(fastproxy.__file__).resolve().parent.parent


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


class ProxyProcess:
    """``python -m fastproxy run`` in front of ``origin``, on a free port."""

    def __init__(self, origin: Origin, parser_name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FASTPROXY_")}
        env["PYTHONPATH"] = str(REPO)
        env["FASTPROXY_NO_EXTENSIONS" if parser_name == "python" else "FASTPROXY_REQUIRE_EXTENSIONS"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastproxy", "run", "--listen", "127.0.0.1:0",
             "--upstream", f"127.0.0.1:{origin.port}"],
            stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self.port = None
        # The supervisor binds and forks; the worker is the process that
        # serves, so its memory is what these tests measure.
        self.worker_pid = None
        for line in self.proc.stderr:
            self.lines.append(line)
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
            found = re.search(r"pid (\d+)\) serving", line)
            if found:
                self.worker_pid = int(found.group(1))
            if self.port and self.worker_pid:
                break
        assert self.port and self.worker_pid, "".join(self.lines)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.worker_pid

    def reset_peak(self) -> int:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return _status(self.pid, "VmRSS")

    def peak(self) -> int:
        return _status(self.pid, "VmHWM")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        self.reader.join(5)
        return code


@pytest.fixture
def proxy_process(parser_impl):
    origin = Origin(hash_bodies=False, keep_body_limit=0)
    name = "python" if parser_impl.__name__.endswith("_pyparser") else "c"
    proc = ProxyProcess(origin, name)
    try:
        yield proc
    finally:
        code = proc.stop()
        origin.close()
    assert code == 0, "".join(proc.lines)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock


def _read_body(sock: socket.socket, size: int) -> None:
    buf = bytearray()
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    assert buf.startswith(b"HTTP/1.1 200 "), bytes(buf[:100])
    got = len(buf) - buf.index(b"\r\n\r\n") - 4
    while got < size:
        data = sock.recv(MIB)
        assert data, "closed early"
        got += len(data)
    assert got == size


def _warm_up(sock: socket.socket) -> None:
    sock.sendall(b"GET /bytes/1000000 HTTP/1.1\r\nHost: a\r\n\r\n")
    _read_body(sock, 1000000)


def test_one_gib_download_in_bounded_memory(proxy_process):
    with _connect(proxy_process.port) as sock:
        _warm_up(sock)
        base = proxy_process.reset_peak()
        sock.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: a\r\n\r\n" % GIB)
        _read_body(sock, GIB)
    growth = proxy_process.peak() - base
    assert growth < 32 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"


def test_one_gib_upload_in_bounded_memory(proxy_process):
    block = memoryview(os.urandom(MIB))
    with _connect(proxy_process.port) as sock:
        _warm_up(sock)
        base = proxy_process.reset_peak()
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % GIB)
        for _ in range(GIB // MIB):
            sock.sendall(block)
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head_end = buf.index(b"\r\n\r\n") + 4
        length = int(re.search(rb"Content-Length: (\d+)", buf[:head_end]).group(1))
        while len(buf) < head_end + length:
            buf += sock.recv(65536)
        assert buf.startswith(b"HTTP/1.1 200 "), bytes(buf[:100])
        assert b'"body_length": %d' % GIB in buf
    growth = proxy_process.peak() - base
    assert growth < 32 * MIB, f"peak RSS grew by {growth / MIB:.1f} MiB"


IDLE_CONNECTIONS = 2000


async def _open_idle(port: int, n: int) -> list:
    writers = []
    gate = asyncio.Semaphore(100)

    async def one() -> None:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /bytes/10 HTTP/1.1\r\nHost: a\r\nUser-Agent: idle\r\nAccept: */*\r\n\r\n")
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(10)
            writers.append(writer)

    await asyncio.gather(*(one() for _ in range(n)))
    return writers


def test_idle_keep_alive_connections_are_cheap(proxy_process):
    loop = asyncio.new_event_loop()
    try:
        warm = loop.run_until_complete(_open_idle(proxy_process.port, 50))
        base = _status(proxy_process.pid, "VmRSS")
        idle = loop.run_until_complete(_open_idle(proxy_process.port, IDLE_CONNECTIONS))
        per_connection = (_status(proxy_process.pid, "VmRSS") - base) / IDLE_CONNECTIONS
        for writer in warm + idle:
            writer.close()
    finally:
        loop.close()
    assert per_connection < 10 * 1024, f"{per_connection / 1024:.1f} KiB per idle connection"


def test_closed_connections_are_freed_without_the_cycle_collector(proxy_factory, origin):
    # Each exchange closes both connections (no idle pool, a new client
    # connection each time); without the cyclic collector, only reference
    # counting can free them, so nothing may keep a closed one in a cycle.
    from fastproxy.downstream import Downstream
    from fastproxy.upstream.connection import UpstreamConnection

    proxy = proxy_factory({"default": [origin]}, pool={"max_idle": 0})

    def live() -> int:
        return proxy.call(lambda: sum(isinstance(o, (Downstream, UpstreamConnection)) for o in gc.get_objects()))

    gc.disable()
    try:
        for _ in range(50):
            with proxy.client() as c:
                assert c.request("GET", "/bytes/10").status == 200
        proxy.wait_until(lambda: live() == 0, what="closed connections freed")
    finally:
        gc.enable()
