"""Sends one real request through an installed fastproxy; exit status 0 when it came back right.

Run by wheels/check.sh (and cibuildwheel's test command) with the Python of
the environment the wheel is installed in, from outside the source tree:

    python wheels/check_request.py

It starts the installed package's origin (``python -m fastproxy.origin
--port 0``, which announces its port) and ``fastproxy run --listen
127.0.0.1:P --upstream 127.0.0.1:O`` with P a port that was free a moment
ago, waits until the proxy answers, and checks the status, the body and the
origin's ``X-Origin`` field.  Every wait has a deadline; both processes are
stopped whatever happens.
"""

from __future__ import annotations

import http.client
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import time

NAME = "wheel-check"
DEADLINE_S = 30.0


def fail(message: str) -> None:
    print(f"check_request: FAIL: {message}", file=sys.stderr)
    raise SystemExit(1)


def origin_port(origin: subprocess.Popen) -> int:
    """The port in the origin's first line ("origin NAME listening on http://HOST:PORT")."""
    sel = selectors.DefaultSelector()
    sel.register(origin.stdout, selectors.EVENT_READ)
    if not sel.select(timeout=DEADLINE_S):
        fail(f"the origin announced nothing within {DEADLINE_S:g}s")
    line = origin.stdout.readline().decode(errors="replace").strip()
    m = re.search(r":(\d+)$", line)
    if m is None:
        fail(f"the origin said {line!r} (status {origin.poll()}), not where it listens")
    return int(m.group(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_through(proxy: subprocess.Popen, port: int) -> tuple[int, bytes, str | None]:
    """GET / through the proxy once it accepts; (status, body, X-Origin)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        if proxy.poll() is not None:
            out = proxy.stdout.read().decode(errors="replace")
            fail(f"fastproxy run exited with status {proxy.returncode}:\n{out[-2000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            return resp.status, resp.read(), resp.getheader("X-Origin")
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                fail(f"fastproxy did not accept on 127.0.0.1:{port} within {DEADLINE_S:g}s")
            time.sleep(0.05)  # still starting: it binds its listener after importing
        finally:
            conn.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    env = dict(os.environ, FASTPROXY_REQUIRE_EXTENSIONS="1")
    fastproxy = shutil.which("fastproxy")
    run = [fastproxy] if fastproxy else [sys.executable, "-m", "fastproxy"]
    origin = subprocess.Popen(
        [sys.executable, "-m", "fastproxy.origin", "--port", "0", "--name", NAME],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    proxy = None
    try:
        upstream = origin_port(origin)
        port = free_port()
        proxy = subprocess.Popen(
            [*run, "run", "--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{upstream}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        status, body, origin_name = get_through(proxy, port)
    finally:
        if proxy is not None:
            stop(proxy)
        stop(origin)
    if status != 200 or body != b"hello world\n" or origin_name != NAME:
        fail(f"through the proxy: status {status}, body {body[:100]!r}, X-Origin {origin_name!r}")
    print(f"check_request: OK: GET / through fastproxy answered 200 from origin {origin_name!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
