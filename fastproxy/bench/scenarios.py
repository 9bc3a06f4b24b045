"""The scenarios: what wrk asks for, through which kind of route.

Every scenario is one response size at one concurrency through one route
kind: ``plain`` (one origin, round-robin of one), ``chash`` (four origins
behind a consistent hash of the request URI, with wrk cycling over
:data:`CHASH_PATHS` so all four are used) or ``tls`` (the proxy terminates
TLS; the origin side stays plain HTTP).  wrk's connections are keep-alive,
so a TLS handshake is paid once per connection, not per request.

An upload scenario POSTs ``request_body_bytes`` with a Content-Length to
``/``, which the origin reads, discards and answers with its 12 bytes: the
cost measured is that of moving the request body.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHASH_ORIGINS", "CHASH_PATHS", "QUICK", "SCENARIOS", "Scenario", "select"]

ROUTES = ("plain", "chash", "tls")
CHASH_ORIGINS = 4
# Distinct request URIs for the hash to spread; the origin ignores the query.
CHASH_PATHS = tuple(f"/?key={i}" for i in range(64))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    path: str
    body_bytes: int
    connections: int
    route: str = "plain"
    method: str = "GET"
    request_body_bytes: int = 0  # sent with a Content-Length; 0 sends no body

    @property
    def origins(self) -> int:
        """How many origin servers the route spreads over."""
        return CHASH_ORIGINS if self.route == "chash" else 1

    @property
    def paths(self) -> tuple[str, ...]:
        """The request paths wrk cycles over; one path means wrk's static request."""
        return CHASH_PATHS if self.route == "chash" else (self.path,)

    @property
    def scheme(self) -> str:
        return "https" if self.route == "tls" else "http"


def _sized(size: str, body: int, path: str, conns: int) -> Scenario:
    return Scenario(
        name=f"{size}-c{conns}",
        description=f"{size} response, {conns} connections",
        path=path,
        body_bytes=body,
        connections=conns,
    )


SCENARIOS: tuple[Scenario, ...] = (
    _sized("12B", 12, "/", 50),
    _sized("12B", 12, "/", 256),
    _sized("16KiB", 16 * 1024, "/bytes/16384", 50),
    _sized("16KiB", 16 * 1024, "/bytes/16384", 256),
    _sized("1MiB", 1024 * 1024, "/bytes/1048576", 50),
    _sized("1MiB", 1024 * 1024, "/bytes/1048576", 256),
    Scenario(
        name="chash-12B-c50",
        description=f"12B response, consistent hash of the URI over {CHASH_ORIGINS} origins, 50 connections",
        path="/",
        body_bytes=12,
        connections=50,
        route="chash",
    ),
    Scenario(
        name="tls-12B-c50",
        description="12B response over TLS (keep-alive), 50 connections",
        path="/",
        body_bytes=12,
        connections=50,
        route="tls",
    ),
    Scenario(
        name="upload-1MiB-c50",
        description="1MiB request body, 12B response, 50 connections",
        path="/",
        body_bytes=12,
        connections=50,
        method="POST",
        request_body_bytes=1024 * 1024,
    ),
)

# --quick keeps the shapes users compare first and drops the costliest runs.
QUICK = ("12B-c50", "12B-c256", "16KiB-c50", "1MiB-c50", "chash-12B-c50", "tls-12B-c50")

_BY_NAME = {s.name: s for s in SCENARIOS}


def select(names: list[str] | None, quick: bool) -> list[Scenario]:
    """The scenarios named (in the given order), else the quick or the full set.

    Raises ValueError naming the unknown ones and listing the known.
    """
    if names:
        unknown = [n for n in names if n not in _BY_NAME]
        if unknown:
            raise ValueError(f"unknown scenario {', '.join(unknown)} (known: {', '.join(_BY_NAME)})")
        return [_BY_NAME[n] for n in dict.fromkeys(names)]
    if quick:
        return [_BY_NAME[n] for n in QUICK]
    return list(SCENARIOS)
