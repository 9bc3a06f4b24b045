"""The floors: 1:1 TCP relays that do none of a proxy's work, to measure what the work costs.

``relay-c`` (plain C over epoll) costs what the kernel charges any proxy for
the same segments; ``relay-uvloop`` adds what CPython and uvloop charge any
proxy built on them.  A proxy's distance above each floor is its own work:
parsing, routing, rewriting headers, timeouts, counting.  Neither runs by
default; name them with ``--target``.

A relay forwards each connection to one origin, unread, so it has no
scenario that needs a balancer (consistent hashing) or a TLS listener.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fastproxy
from fastproxy.bench.targets import Setup, Target, Unsupported, first_line
from fastproxy.bench.targets.fastproxy import importable_environment

__all__ = ["CRelayTarget", "UvloopRelayTarget"]

# A source checkout's bench/floor: the C relay is built from it, it is not part of the package.
C_SOURCE = Path(fastproxy.__file__).resolve().parent.parent / "bench" / "floor" / "relay.c"


def _one_origin(setup: Setup) -> int:
    if setup.scenario.route != "plain" or len(setup.origins) != 1:
        raise Unsupported(f"a relay only forwards plain TCP to one origin (route {setup.scenario.route!r})")
    return setup.origins[0][1]


class UvloopRelayTarget(Target):
    name = "relay-uvloop"
    binary = sys.executable

    def unavailable(self) -> str | None:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            return "uvloop is not installed"
        return None

    def version(self) -> str:
        import uvloop

        return f"uvloop {uvloop.__version__} relay, Python {sys.version.split()[0]}"

    def prepare(self, setup: Setup) -> list[str]:
        upstream = _one_origin(setup)
        return [sys.executable, "-m", "fastproxy.bench.relay", str(setup.port), str(upstream)]

    def environment(self) -> dict[str, str]:
        return importable_environment()


class CRelayTarget(Target):
    name = "relay-c"
    binary = "cc"
    install_hint = "apt-get install -y gcc"

    def unavailable(self) -> str | None:
        if not C_SOURCE.is_file():
            return f"{C_SOURCE} is not here (the C relay is built from a source checkout)"
        return super().unavailable()

    def version(self) -> str:
        return f"C relay, {first_line([self.executable() or self.binary, '--version'])}"

    def prepare(self, setup: Setup) -> list[str]:
        upstream = _one_origin(setup)
        exe = setup.workdir / "relay"
        built = subprocess.run(
            [self.executable() or self.binary, "-O2", "-o", str(exe), str(C_SOURCE)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if built.returncode != 0:
            raise Unsupported(f"the C relay does not build: {built.stderr.strip()}")
        return [str(exe), str(setup.port), str(upstream)]
