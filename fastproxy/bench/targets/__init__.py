"""The proxies under test, each with a generated configuration.

Every target is configured the same way, so the figures compare proxies and
not settings:

- one worker (one process or thread serving connections), pinned by the
  runner to one core;
- upstream keep-alive on, with an idle pool larger than the largest
  concurrency (:data:`IDLE_POOL`) so no scenario churns connections, and
  :data:`UPSTREAM_MAX_REQUESTS` requests per upstream connection (nginx's
  and fastproxy's default);
- client keep-alive with no per-connection request limit;
- ``X-Forwarded-For`` appended; access logs off; errors to a file;
- request bodies streamed to the upstream as they arrive, none refused for
  its size (fastproxy's default limit is 1 GiB);
- fastproxy's timeouts (header 10 s, idle 60 s, connect 3 s, read and write
  60 s) on every proxy.

A target writes its files into its own directory of the run's temporary
directory and returns the argv that runs it in the foreground.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fastproxy.bench.scenarios import Scenario

__all__ = [
    "IDLE_POOL",
    "UPSTREAM_MAX_REQUESTS",
    "Setup",
    "Target",
    "TlsFiles",
    "Unsupported",
    "all_targets",
    "first_line",
]

IDLE_POOL = 1024
UPSTREAM_MAX_REQUESTS = 1000
MAX_CONNECTIONS = 4096


class Unsupported(Exception):
    """The target cannot run this scenario; the message says why (shown to the user)."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path  # PEM certificate
    key: Path  # PEM private key
    combined: Path  # certificate then key, one file (HAProxy's crt)


@dataclass(frozen=True, slots=True)
class Setup:
    """What a target's configuration is generated from."""

    workdir: Path  # the target's own directory, already created
    port: int  # where it listens, on 127.0.0.1
    origins: tuple[tuple[str, int], ...]  # (host, port) of each origin the route uses
    scenario: Scenario
    tls: TlsFiles | None = None


class Target:
    """A proxy under test.  Subclasses set ``name`` and ``binary`` and write the config."""

    name = ""
    binary = ""
    install_hint = ""

    def executable(self) -> str | None:
        return shutil.which(self.binary)

    def unavailable(self) -> str | None:
        """Why this target cannot run on this machine, or None."""
        if self.executable() is None:
            return f"{self.binary} is not installed ({self.install_hint})"
        return None

    def version(self) -> str:
        """A one-line version string, "" if unknown."""
        exe = self.executable()
        if exe is None:
            return ""
        return first_line([exe, "-v"])

    def prepare(self, setup: Setup) -> list[str]:
        """Writes the configuration into ``setup.workdir``; the argv that runs the proxy.

        Raises Unsupported when the scenario needs what this target lacks.
        """
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The process environment to run with; None inherits ours."""
        return None

    def check(self, setup: Setup) -> str | None:
        """Asks the proxy itself whether the config written by prepare() is valid: an error, or None."""
        return None


def first_line(argv: list[str]) -> str:
    """The first line a command prints (stdout, else stderr), "" if it cannot run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0] if text else ""


def need_tls(setup: Setup) -> TlsFiles:
    if setup.tls is None:
        raise Unsupported("no TLS certificate could be made (is openssl installed?)")
    return setup.tls


def all_targets() -> list[Target]:
    """Every known target, nginx first: the reference the ratios are taken against; the floors last."""
    from fastproxy.bench.targets.fastproxy import FastproxyTarget
    from fastproxy.bench.targets.floor import CRelayTarget, UvloopRelayTarget
    from fastproxy.bench.targets.haproxy import HaproxyTarget
    from fastproxy.bench.targets.nginx import NginxTarget

    return [NginxTarget(), HaproxyTarget(), FastproxyTarget(), UvloopRelayTarget(), CRelayTarget()]
