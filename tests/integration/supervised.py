"""``fastproxy run`` as a subprocess, for the process-lifecycle tests.

``Supervised(config_path, parser_name, tmp_path)`` starts ``python -m
fastproxy run -c CONFIG --pid-file PID`` in a session of its own (so that
cleanup can end the supervisor and every worker it forked by their group
id, whatever state a failed test left them in), collects its stderr lines
in a thread, and returns once it logged "serving with N workers".

``wait_for(pattern, after=0)`` blocks (on a condition, no polling) until a
line from index ``after`` on matches the regular expression, and returns
the match; ``mark()`` is the index to pass to see only lines logged from
now on.  ``port`` is the first listener's port; ``workers()`` maps each
serving worker's slot to its pid, from the log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import fastproxy

REPO = Path(fastproxy.__file__).resolve().parent.parent


def environment(parser_name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTPROXY_")}
    env["PYTHONPATH"] = str(REPO)
    env["FASTPROXY_NO_EXTENSIONS" if parser_name == "python" else "FASTPROXY_REQUIRE_EXTENSIONS"] = "1"
    return env


class Supervised:
    def __init__(self, config_path: Path, parser_name: str, tmp_path: Path, *extra: str,
                 timeout: float = 20.0) -> None:
        self.pid_file = tmp_path / "fastproxy.pid"
        self.env = environment(parser_name)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fastproxy", "run", "-c", str(config_path), "--pid-file", str(self.pid_file),
             *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=self.env, start_new_session=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(r"listening on 127\.0\.0\.1:(\d+)", timeout=timeout).group(1))
        self.wait_for(r"serving with \d+ workers", timeout=timeout)

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 10.0) -> re.Match:
        regex = re.compile(pattern)
        found: list[re.Match] = []

        def seen() -> bool:
            for line in self.lines[after:]:
                match = regex.search(line)
                if match:
                    found.append(match)
                    return True
            return self.proc.poll() is not None and not self._reader.is_alive()

        with self._cond:
            self._cond.wait_for(seen, timeout)
        if not found:
            raise AssertionError(f"no line matching {pattern!r} within {timeout}s; the log:\n" + self.log())
        return found[0]

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def workers(self, after: int = 0) -> dict[int, int]:
        """slot -> pid of the workers that logged "serving" (the latest per slot)."""
        out = {}
        with self._cond:
            for line in self.lines[after:]:
                match = re.search(r"worker (\d+) \(generation \d+, pid (\d+)\) serving", line)
                if match:
                    out[int(match.group(1))] = int(match.group(2))
        return out

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Sends ``signum`` and returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def cleanup(self) -> None:
        """Ends the supervisor and its workers, however they are (the session's group)."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if self.proc.poll() is None:
                self.proc.wait(5)
            self._reader.join(5)  # EOF once every process holding stderr is gone
            self.proc.stderr.close()
