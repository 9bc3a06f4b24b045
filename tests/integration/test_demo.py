"""``fastproxy demo``: three origins behind the proxy, the burst spread over all three, exit 0.

The demo's default port is 8080; these tests pass ``--port 0`` so that they
never depend on (or take) a fixed port.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("fastproxy.server") is None,
    reason="fastproxy/server.py (the proxy) does not exist yet: the demo has nothing to run",
)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 20.0
SPREAD_LINE = re.compile(r"^\s+(origin-\d)\s+(\d+)\s+([\d.]+)%$", re.MULTILINE)
LATENCY_LINE = re.compile(r"latency \(ms\)\s+p50 [\d.]+\s+p90 [\d.]+\s+p99 [\d.]+\s+max [\d.]+")
TRY_LINE = re.compile(r"curl -i http://127\.0\.0\.1:(\d+)/")


class Demo:
    """The demo in a subprocess, its stdout read line by line by a thread."""

    def __init__(self, *argv: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", *argv], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")  # EOF

    def until(self, marker: str) -> str:
        """The output up to and including the first line containing ``marker``."""
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no {marker!r} within {TIMEOUT}s; output so far:\n{self.text}") from None
            if not line:
                raise AssertionError(f"the demo ended before {marker!r}:\n{self.text}\n{self.proc.stderr.read()}")
            self.output.append(line)
            if marker in line:
                return self.text

    def finish(self) -> tuple[int, str, str]:
        """(exit code, whole stdout, stderr) once the demo exits."""
        try:
            code = self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(TIMEOUT)
        while not self.lines.empty():
            self.output.append(self.lines.get_nowait())
        return code, self.text, self.proc.stderr.read()

    @property
    def text(self) -> str:
        return "".join(self.output)


def _check_burst(text: str) -> int:
    """Asserts the burst went to all three origins; returns the proxy's port."""
    spread = {name: int(count) for name, count, _ in SPREAD_LINE.findall(text)}
    assert set(spread) == {"origin-1", "origin-2", "origin-3"}, text
    assert all(count > 0 for count in spread.values()), text
    assert sum(spread.values()) == 300, text
    assert "300 answered 200" in text
    assert LATENCY_LINE.search(text), text
    return int(TRY_LINE.search(text).group(1))


def test_demo_spreads_the_burst_and_serves_for_the_duration():
    demo = Demo("fastproxy.demo", "--duration", "3", "--port", "0")
    try:
        text = demo.until("Serving for 3 s")
        port = _check_burst(text)
        # Still serving: what the printed curl line would get.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=TIMEOUT) as resp:
            assert resp.status == 200 and resp.read() == b"hello world\n"
            assert resp.headers["X-Origin"] in ("origin-1", "origin-2", "origin-3")
    finally:
        code, text, err = demo.finish()
    assert code == 0, err
    assert text.rstrip().endswith("Stopped."), text


def test_demo_stops_cleanly_on_ctrl_c():
    demo = Demo("fastproxy.demo", "--port", "0")
    try:
        demo.until("Serving until Ctrl-C.")
        demo.proc.send_signal(signal.SIGINT)
    finally:
        code, text, err = demo.finish()
    assert code == 0, err
    assert text.rstrip().endswith("Stopped."), text


def _cli_has_port() -> bool:
    from fastproxy import cli

    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text):
        cli.main(["demo", "--help"])
    return "--port" in help_text.getvalue()


def test_demo_through_the_cli():
    if not _cli_has_port():
        pytest.skip("`fastproxy demo` has no --port yet; without it this test would take port 8080")
    demo = Demo("fastproxy", "demo", "--duration", "1", "--port", "0")
    try:
        _check_burst(demo.until("Serving for 1 s"))
    finally:
        code, _, err = demo.finish()
    assert code == 0, err


def test_a_taken_port_falls_back_to_a_free_one():
    import uvloop

    from fastproxy.demo import run_demo

    with socket.create_server(("127.0.0.1", 0)) as holder:
        taken = holder.getsockname()[1]
        out = io.StringIO()
        assert uvloop.run(run_demo(0.01, taken, out)) == 0, out.getvalue()
    text = out.getvalue()
    found = re.search(rf"Port {taken} is taken; the proxy listens on port (\d+) instead\.", text)
    assert found and int(found.group(1)) != taken, text
    assert _check_burst(text) == int(found.group(1))


def test_percentile_is_nearest_rank():
    from fastproxy.demo import percentile

    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([7.0], 50) == 7.0
