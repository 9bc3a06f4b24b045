"""Starting, pinning, probing and stopping the benchmark's processes.

Every process runs in its own session (so it and anything it forks can be
stopped as a group, by its own id) with its output in a log file of the
run's directory.  Pinning is ``taskset -c CPUS`` in front of the argv, the
same command a user would type, so the PID we hold is the program's own.

A proxy counts as started when an HTTP request through it comes back 200:
that proves the listener, the route and the upstream connection at once.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Process", "StartError", "free_port", "pinned", "wait_http"]


class StartError(RuntimeError):
    pass


def pinned(argv: Sequence[str], cpus: Sequence[int] | None) -> list[str]:
    """``argv`` run on ``cpus`` (via taskset); unchanged when ``cpus`` is None or taskset is missing."""
    if not cpus:
        return list(argv)
    taskset = shutil.which("taskset")
    if taskset is None:
        return list(argv)
    return [taskset, "-c", ",".join(str(c) for c in cpus), *argv]


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the proxies bind it themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process; ``log`` holds its stdout and stderr."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 8) -> str:
        """The last lines of its output, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def exit_report(self) -> str:
        code = self.popen.poll()
        tail = self.tail()
        return f"{self.name} exited with status {code}" + (f":\n{tail}" if tail else " (no output)")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL to its whole session after ``timeout``; reaps it."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Its session: anything it forked (nginx's worker) that outlived it.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.popen.wait()


def wait_http(process: Process, port: int, path: str, *, tls: bool = False, timeout: float = 15.0) -> None:
    """Returns once GET ``path`` on 127.0.0.1:``port`` answers 200.

    Raises StartError when ``process`` exits first or ``timeout`` passes.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    context = None
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the run's own throwaway certificate
    while True:
        if not process.alive():
            raise StartError(process.exit_report())
        try:
            if context is not None:
                conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
            else:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return
                last = f"answered {resp.status} {resp.reason}"
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            tail = process.tail()
            raise StartError(
                f"{process.name} did not answer GET {path} with 200 within {timeout:g}s ({last})"
                + (f":\n{tail}" if tail else "")
            )
        time.sleep(0.02)  # the process is still binding or connecting upstream
