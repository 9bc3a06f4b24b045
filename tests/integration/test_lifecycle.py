"""The process lifecycle, through ``fastproxy run`` as a subprocess: workers
sharing the listeners, a worker replaced, graceful and immediate stops,
reloads under load, a bad reload, and TLS sessions across workers."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from tests.integration.origin import Origin
from tests.integration.rawhttp import Client, Closed
from tests.integration.tlsfiles import Pki


def config(main: Origin, workers: int = 2, drain: str = "20s", extra: str = "", ws: Origin | None = None) -> str:
    ws_route = '[[route]]\npath_prefix = "/ws-echo"\nupstream = "ws"\n' if ws else ""
    ws_upstream = f'[upstream.ws]\nservers = ["127.0.0.1:{ws.port}"]\n' if ws else ""
    return f"""
[server]
workers = {workers}
drain_timeout = "{drain}"
[[listener]]
bind = "127.0.0.1:0"
{extra}
{ws_route}
[[route]]
upstream = "main"
[upstream.main]
servers = ["127.0.0.1:{main.port}"]
{ws_upstream}
"""


def echo(port: int) -> dict:
    """GET /echo on a connection of its own: the origin's name and the request id."""
    with Client(("127.0.0.1", port)) as client:
        response = client.request("GET", "/echo", headers={"Connection": "close"})
    assert response.status == 200, response
    headers = dict(json.loads(response.body)["headers"])
    return {"origin": response.header("X-Origin"), "worker": headers["X-Request-ID"][:16]}


def workers_answering(port: int, want: int, tries: int = 200) -> set[str]:
    """The workers (request-id prefixes) seen until ``want`` answered, over
    fresh connections (the kernel spreads them over the sockets)."""
    seen: set[str] = set()
    for _ in range(tries):
        seen.add(echo(port)["worker"])
        if len(seen) >= want:
            break
    return seen


def test_workers_share_the_listener_and_a_dead_one_is_replaced(run_proxy, origins):
    proxy = run_proxy(config(origins("a"), workers=2))
    first = workers_answering(proxy.port, 2)
    assert len(first) == 2
    pids = proxy.workers()
    assert len(pids) == 2
    mark = proxy.mark()
    os.kill(pids[0], signal.SIGKILL)
    proxy.wait_for(rf"worker 0 \(generation 1, pid {pids[0]}\) was killed by SIGKILL; a new one starts in 0s",
                   after=mark)
    proxy.wait_for(r"worker 0 \(generation 1, pid \d+\) serving", after=mark)
    replacement = proxy.workers(after=mark)[0]
    assert replacement != pids[0]
    second = workers_answering(proxy.port, 2)
    assert len(second) == 2 and len(second - first) == 1  # the survivor, and the new worker
    assert proxy.stop() == 0
    assert "stopped" in proxy.lines[-1]


def test_graceful_stop_finishes_the_request_in_flight(run_proxy, origins):
    origin = origins("a")
    proxy = run_proxy(config(origin, workers=1))
    with Client(("127.0.0.1", proxy.port)) as client:
        client.send(b"GET /gate/slow HTTP/1.1\r\nHost: a\r\n\r\n")
        assert origin.gate_reached("slow").wait(10)
        proxy.send(signal.SIGTERM)
        proxy.wait_for(r"draining: 1 client connections open")
        origin.release("slow")
        response = client.read_response()
        assert response.status == 200
        assert response.body == b"gate slow part 1\ngate slow part 2\n"
    assert proxy.stop() == 0
    assert proxy.wait_for(r"worker 0 \(generation 1, pid \d+\) stopped \(exited with code 0\)")


def test_sigquit_stops_at_once(run_proxy, origins):
    origin = origins("a")
    proxy = run_proxy(config(origin, workers=1, drain="60s"))
    with Client(("127.0.0.1", proxy.port)) as client:
        client.send(b"GET /gate/never HTTP/1.1\r\nHost: a\r\n\r\n")
        assert origin.gate_reached("never").wait(10)
        started = time.monotonic()
        assert proxy.stop(signal.SIGQUIT) == 0
        assert time.monotonic() - started < 10  # not the 60s drain
        with pytest.raises(Closed):
            client.read_response()


# -- reloads -----------------------------------------------------------------------


class RequestLoop(threading.Thread):
    """GET /echo as fast as answers come, until stopped (bounded by ``deadline``).

    ``keep_alive``: over one connection, reconnecting when it closes, with the
    one retry HTTP allows (RFC 9112 9.3.1: an idempotent request on a reused
    connection that closed before any byte of the answer); otherwise a new
    connection per request and no retry at all.  Any other error, or a
    status other than 200, is a failure.
    """

    def __init__(self, port: int, keep_alive: bool, deadline: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.keep_alive = keep_alive
        self.deadline = deadline
        self.halt = threading.Event()
        self.cond = threading.Condition()
        self.answered: collections.Counter[str] = collections.Counter()
        self.last: str | None = None
        self.failures: list[str] = []
        self.retries = 0

    def run(self) -> None:
        client = None
        reused = False
        while not self.halt.is_set() and time.monotonic() < self.deadline:
            try:
                if client is None:
                    client = Client(("127.0.0.1", self.port), timeout=10)
                    reused = False
                headers = None if self.keep_alive else {"Connection": "close"}
                try:
                    response = client.request("GET", "/echo", headers=headers)
                except (Closed, ConnectionResetError, BrokenPipeError):
                    if reused and not client.buf:
                        self.retries += 1
                        client.close()
                        client = None
                        continue
                    raise
                reused = True
                if response.status != 200:
                    raise AssertionError(f"status {response.status}: {response.body[:200]!r}")
                if response.closes or not self.keep_alive:
                    client.close()
                    client = None
                with self.cond:
                    self.answered[response.header("X-Origin")] += 1
                    self.last = response.header("X-Origin")
                    self.cond.notify_all()
            except Exception as exc:  # noqa: BLE001 (each one is recorded as a failure)
                self.failures.append(repr(exc))
                if client is not None:
                    client.close()
                    client = None
        if client is not None:
            client.close()

    def wait_for_origin(self, name: str, timeout: float = 10.0) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.last == name or not self.is_alive(), timeout) \
                    or self.last != name:
                raise AssertionError(f"not answered by {name!r} within {timeout}s (last: {self.last!r}, "
                                     f"failures: {self.failures})")


def open_websocket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /ws-echo HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        assert data, f"closed during the upgrade: {head!r}"
        head += data
    assert head.startswith(b"HTTP/1.1 101 "), head
    assert head.endswith(b"\r\n\r\n")  # nothing echoed yet
    return sock


def websocket_echoes(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        data = sock.recv(4096)
        assert data, f"the upgraded connection closed (got {got!r})"
        got += data
    assert got == payload


def test_reloads_under_load_drop_nothing(run_proxy, origins, tmp_path, parser_name):
    a, b, ws = origins("a"), origins("b"), origins("ws")
    proxy = run_proxy(config(a, ws=ws))
    tunnel = open_websocket(proxy.port)
    websocket_echoes(tunnel, b"before")
    deadline = time.monotonic() + 40
    loops = [RequestLoop(proxy.port, keep_alive=True, deadline=deadline),
             RequestLoop(proxy.port, keep_alive=False, deadline=deadline)]
    for loop in loops:
        loop.start()
    try:
        for loop in loops:
            loop.wait_for_origin("a")
        for generation in range(2, 7):
            target = b if generation % 2 == 0 else a
            (tmp_path / "proxy.toml").write_text(config(target, ws=ws))
            mark = proxy.mark()
            if generation == 2:  # the command, once; the signal it sends, after
                done = subprocess.run([sys.executable, "-m", "fastproxy", "reload", "--pid-file",
                                       str(proxy.pid_file)], env=proxy.env, capture_output=True, text=True,
                                      timeout=30, check=False)
                assert done.returncode == 0, done.stderr
            else:
                proxy.send(signal.SIGHUP)
            proxy.wait_for(rf"reloaded: generation {generation} serving with 2 workers", after=mark)
            for loop in loops:
                loop.wait_for_origin(target.name)
            websocket_echoes(tunnel, b"after reload %d" % generation)
    finally:
        for loop in loops:
            loop.halt.set()
        for loop in loops:
            loop.join(15)
    for loop in loops:
        assert not loop.failures, (loop.keep_alive, loop.failures)
        assert loop.answered["a"] and loop.answered["b"], loop.answered
    tunnel.close()
    # Generation 1 drained all but the tunnel; the tunnel's end ends it.
    proxy.wait_for(r"worker \d \(generation 1, pid \d+\) stopped \(exited with code 0\)")
    assert proxy.stop() == 0
    assert "killing" not in proxy.log()


def test_a_bad_reload_keeps_the_old_config(run_proxy, origins, tmp_path):
    good = config(origins("a"), workers=1)
    proxy = run_proxy(good, "--log-format", "json")
    before = echo(proxy.port)
    path = tmp_path / "proxy.toml"
    path.write_text(good.replace('upstream = "main"', 'upstream = "mian"') + "\n[log]\nformt = 1\n")
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)
    proxy.wait_for(r"reload failed: still serving the previous configuration", after=mark)
    errors = [json.loads(line) for line in proxy.lines[mark:]]
    messages = [entry["message"] for entry in errors if entry["level"] == "error"]
    assert f'reload: {path}: route[0].upstream: no upstream named "mian" (did you mean "main"?)' in messages
    assert f'reload: {path}: log.formt: unknown key (did you mean "format"?)' in messages
    # A listener whose certificate file does not exist: the same.
    missing = tmp_path / "missing.pem"
    path.write_text(good.replace('bind = "127.0.0.1:0"', f'bind = "127.0.0.1:0"\n[listener.tls]\n'
                                 f'certificates = [{{ cert = "{missing}", key = "{missing}" }}]'))
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)
    proxy.wait_for(r"reload failed: still serving the previous configuration", after=mark)
    assert "listener[0].tls.certificates[0]: cannot load" in proxy.log()
    after = echo(proxy.port)
    assert after == before  # the same worker, the same config
    assert proxy.stop() == 0
    for line in proxy.lines:
        entry = json.loads(line)
        assert set(entry) >= {"time", "level", "logger", "pid", "message"}, entry


def test_tls_sessions_resume_across_workers_and_reloads(run_proxy, origins, tmp_path):
    pki = Pki(tmp_path / "pki")
    site = pki.issue("site", "site.example")
    tls = f'[listener.tls]\ncertificates = [{{ cert = "{site.cert}", key = "{site.key}" }}]'
    text = config(origins("a"), workers=2, extra=tls)
    proxy = run_proxy(text)
    context = pki.client_context(maximum=ssl.TLSVersion.TLSv1_2)

    def request(session=None) -> tuple[ssl.SSLSocket, str, bool]:
        client = Client(("127.0.0.1", proxy.port))
        client.sock = context.wrap_socket(client.sock, server_hostname="site.example", session=session)
        with client:
            response = client.request("GET", "/echo", headers={"Connection": "close"})
            assert response.status == 200
            worker = dict(json.loads(response.body)["headers"])["X-Request-ID"][:16]
            return client.sock.session, worker, client.sock.session_reused

    session, _, _ = request()
    workers = set()
    for _ in range(200):
        _, worker, reused = request(session)
        assert reused  # whichever worker took the connection
        workers.add(worker)
        if len(workers) == 2:
            break
    assert len(workers) == 2
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)  # the same TLS settings: the same session keys
    proxy.wait_for(r"reloaded: generation 2 serving", after=mark)
    for _ in range(200):  # an old worker may take a connection or two while it stops accepting
        _, worker, reused = request(session)
        assert reused
        if worker not in workers:
            break
    assert worker not in workers
    assert proxy.stop() == 0
