"""The typed, frozen form of a configuration.

Built once by :func:`fastproxy.config.parse_config` after every check has
passed, so every value here is already valid: durations are float seconds,
sizes are int bytes, hosts are normalised.  Each component receives only its
own section (the parser gets ``config.server.limits``, a pool gets
``upstream.pool``), never the whole tree nor a dict of options.

Field names follow the TOML keys, except that arrays of tables are plural
here (``[[listener]]`` -> ``listeners``).  Defaults live here and only here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass, field, fields, is_dataclass

from fastproxy.config.addresses import format_host_port

__all__ = [
    "ACCESS_LOG_FORMATS",
    "BALANCERS",
    "BOUNDED_HASH_METHODS",
    "DEFAULT_HASH",
    "DEFAULT_TABLE_SIZE",
    "DEFAULT_VIRTUAL_NODES",
    "HASH_BALANCERS",
    "HASH_METHODS",
    "HEALTH_CHECK_TYPES",
    "LOG_FORMATS",
    "MAX_RING_POINTS",
    "MAX_TABLE_SIZE",
    "RETRY_ON",
    "TLS_VERSIONS",
    "AccessLogConfig",
    "AdminConfig",
    "Certificate",
    "Config",
    "HeaderEdits",
    "HeaderMatch",
    "Headers",
    "HealthCheck",
    "Hsts",
    "Limits",
    "Listener",
    "ListenerTLS",
    "LogConfig",
    "Passive",
    "Pool",
    "Redirect",
    "Respond",
    "Retry",
    "Route",
    "Server",
    "ServerConfig",
    "Timeouts",
    "Upstream",
    "UpstreamTLS",
]

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

BALANCERS = (
    "round_robin",
    "weighted_round_robin",
    "random",
    "least_conn",
    "p2c",
    "ip_hash",
    "consistent_hash",
)
# The balancers that hash a key (ip_hash: the client address) to a server.
HASH_BALANCERS = ("consistent_hash", "ip_hash")
HASH_METHODS = ("ring", "maglev", "jump")
# The hash methods that support bounded_load.
BOUNDED_HASH_METHODS = ("ring", "maglev")
DEFAULT_HASH = "ring"
# Ring points per unit of weight.  With 100 servers, 2000 keeps the busiest
# server within 1.10 of the mean (measured: at most 1.09 over 20 server
# sets); ketama's customary 160 gives about 1.2.
DEFAULT_VIRTUAL_NODES = 2000
# 16 bytes each: 32 MiB per ring at most.  An unset virtual_nodes shrinks to
# fit (MAX_RING_POINTS // total weight); a set one must fit.
MAX_RING_POINTS = 1 << 21
DEFAULT_TABLE_SIZE = 65537
MAX_TABLE_SIZE = 1048573  # the largest prime below 2^20 (a 4 MiB table)
LOG_FORMATS = ("text", "json")
ACCESS_LOG_FORMATS = ("json", "combined")
HEALTH_CHECK_TYPES = ("http", "tcp")
# The failures a retry may follow, besides statuses (see Retry).
RETRY_ON = ("connect_failure", "reset", "timeout")
# TLS 1.0 and 1.1 are deprecated (RFC 8996): not even on request.
TLS_VERSIONS = ("1.2", "1.3")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds.  ``client_header`` bounds the whole request head (slowloris)."""

    client_header: float = 10.0
    client_idle: float = 60.0
    upstream_connect: float = 3.0
    upstream_read: float = 60.0
    upstream_write: float = 60.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Bytes and counts; ``max_body_bytes`` 0 means unlimited."""

    max_header_bytes: int = 16 * KIB
    max_header_count: int = 100
    max_uri_bytes: int = 8 * KIB
    max_body_bytes: int = 1 * GIB


@dataclass(frozen=True, slots=True)
class Headers:
    trusted_proxies: tuple[Network, ...] = ()
    request_id: bool = True
    hide_response_headers: tuple[str, ...] = ("Server", "X-Powered-By")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    # None: one worker per usable core, resolved by worker_count().
    workers: int | None = 1
    drain_timeout: float = 30.0
    # Large bodies between plain TCP sockets move by splice(2) where the OS has it (splice.py).
    splice: bool = True
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    headers: Headers = field(default_factory=Headers)

    @property
    def worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        # The affinity mask, when there is one, is what this process may use.
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate chain file and its private key file (absolute paths)."""

    cert: str
    key: str


@dataclass(frozen=True, slots=True)
class ListenerTLS:
    """TLS on a listener.  The first certificate is the default (no SNI, or
    an SNI name no certificate lists); the others are chosen by the names in
    their own subjectAltName.  ``client_ca`` set: clients must present a
    certificate it signed (mTLS).  Paths are absolute; the files are read
    when the proxy starts or reloads, not when the config is checked."""

    certificates: tuple[Certificate, ...]
    min_version: str = "1.2"
    client_ca: str | None = None
    # With client_ca: the header that carries the verified client subject
    # upstream (any such header from the client is removed first).
    client_subject_header: str | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """A bound address; port 0 (a kernel-chosen port) appears only in tests.
    ``tls`` None: plain HTTP."""

    host: str
    port: int
    tls: ListenerTLS | None = None

    @property
    def address(self) -> str:
        return format_host_port(self.host, self.port)


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """A condition on a request header or query argument ``name``: present
    (``present`` True, no value), absent (``present`` False), equal to
    ``value``, or matching the regular expression ``regex`` (search)."""

    name: str
    present: bool = True
    value: str | None = None
    regex: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderEdits:
    """Header edits, in this order: ``remove`` names, ``set`` (replace any
    field of that name), ``add`` (append, keeping the others)."""

    remove: tuple[str, ...] = ()
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Redirect:
    """``location`` is a template with {scheme}, {host}, {path}, {query} and
    {uri} (path and query as received); "https" means https://{host}{uri}."""

    location: str
    status: int


@dataclass(frozen=True, slots=True)
class Respond:
    status: int
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Hsts:
    """Strict-Transport-Security, sent on responses over TLS only (RFC 6797 7.2)."""

    max_age: int = 31536000
    include_subdomains: bool = False
    preload: bool = False


# The statuses a redirect may use, and its default for a location / the https upgrade.
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DEFAULT_REDIRECT_STATUS = 302
DEFAULT_HTTPS_REDIRECT_STATUS = 308
DEFAULT_CLIENT_SUBJECT_HEADER = "X-Client-Subject"


@dataclass(frozen=True, slots=True)
class Route:
    """First match wins: every condition set must hold (empty/None: any);
    ``redirect = "https"`` implies ``scheme = "http"``.
    Exactly one action: ``upstream``, ``redirect`` or ``respond``.  With an
    upstream, at most one path rewrite: ``strip_prefix`` (the same as
    ``rewrite_prefix = "/"``), ``rewrite_prefix`` (replaces path_prefix) or
    ``rewrite_path`` (a template over path_regex's groups, $1 or ${name})."""

    upstream: str | None = None
    host: tuple[str, ...] = ()
    # "http" or "https": how the request came (None: either).
    scheme: str | None = None
    path_prefix: str | None = None
    path_regex: str | None = None
    methods: tuple[str, ...] = ()
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[HeaderMatch, ...] = ()
    client_subject: tuple[str, ...] = ()
    client_cn: tuple[str, ...] = ()
    strip_prefix: bool = False
    rewrite_prefix: str | None = None
    rewrite_path: str | None = None
    redirect: Redirect | None = None
    respond: Respond | None = None
    request_headers: HeaderEdits = field(default_factory=HeaderEdits)
    response_headers: HeaderEdits = field(default_factory=HeaderEdits)
    hsts: Hsts | None = None


@dataclass(frozen=True, slots=True)
class Server:
    """One upstream server; ``scheme`` "https" (written "https://host:port")
    means TLS to it, with its upstream's ``tls`` settings."""

    host: str
    port: int
    weight: int = 1
    scheme: str = "http"

    @property
    def address(self) -> str:
        return format_host_port(self.host, self.port)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"


@dataclass(frozen=True, slots=True)
class UpstreamTLS:
    """How to talk TLS to an upstream's https:// servers.  ``verify`` is on
    unless explicitly turned off: the server's certificate must chain to
    ``ca_file`` (None: the system's trust store) and name ``server_name``
    (None: the server's host), which is also sent as SNI.  ``cert`` and
    ``key``: a client certificate, for upstreams that require one."""

    ca_file: str | None = None
    verify: bool = True
    server_name: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    """Per upstream server and worker; ``max_requests`` 0 means unlimited.
    ``max_idle`` is a cap, not a target: the pool is a stack, so connections
    beyond what the load needs sit at its bottom and expire after
    ``idle_timeout``; a cap below the load's concurrency would close and
    reopen connections all the time."""

    max_idle: int = 1024
    idle_timeout: float = 60.0
    max_requests: int = 1000


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """Active checks of every server of an upstream, from each worker.

    ``type`` "http": a GET of ``path`` (Host: ``host``, else the server's
    address), passing on a status within one of the inclusive ``expected_statuses``
    ranges; "tcp": a connect.  A server goes out after ``fall`` failures in
    a row and back after ``rise`` passes in a row (HAProxy's defaults).
    Each wait between probes is ``interval`` times a random factor within
    1 +- ``jitter``, so that workers do not probe in lock-step.
    """

    type: str = "http"
    path: str = "/"
    host: str | None = None
    interval: float = 5.0
    timeout: float = 2.0
    expected_statuses: tuple[tuple[int, int], ...] = ((200, 399),)
    rise: int = 2
    fall: int = 3
    jitter: float = 0.15


@dataclass(frozen=True, slots=True)
class Passive:
    """Passive checks (outlier detection) on the traffic itself.

    A server that fails ``consecutive_failures`` exchanges in a row (a
    connect failure or timeout, a connection reset before any response, a
    response timeout, a malformed response, or one of ``statuses``) is
    ejected for ``base_ejection_time``, doubled for each ejection that
    follows its return without a success in between, at most
    ``max_ejection_time``.  Never more than ``max_ejection_percent`` of the
    servers are ejected at once (at least one may be, when there are two).
    The defaults sit between nginx's max_fails=1/fail_timeout=10s (one lost
    connection ejects) and Envoy's 5 consecutive 5xx: 3 failures in a row
    are rarely bad luck, and retries hide the failures meanwhile.
    """

    enabled: bool = True
    consecutive_failures: int = 3
    statuses: tuple[int, ...] = (502, 503, 504)
    base_ejection_time: float = 10.0
    max_ejection_time: float = 300.0
    max_ejection_percent: int = 50


@dataclass(frozen=True, slots=True)
class Retry:
    """Sending a request again, to another server of the upstream.

    At most ``tries`` attempts in all (1: no retries), for idempotent
    requests held whole (small bodies), and only before any response byte
    reached the client; after one of ``on``: RETRY_ON names and statuses.
    A whole request of any method whose connect failed (nothing of it was
    sent) is retried once too.  ``per_try_timeout`` bounds the wait for each try's
    response head (None: timeouts.upstream_read).  The budget, as in
    Envoy and Linkerd: retries stay below ``budget_percent`` of the
    requests of the last 10-20 seconds plus ``budget_min_per_second``
    per second, so that retries never multiply an outage.
    """

    tries: int = 2
    per_try_timeout: float | None = None
    # RETRY_ON names, then single statuses ("5xx" is spelt out), ascending.
    on: tuple[str | int, ...] = RETRY_ON
    budget_percent: float = 20.0
    budget_min_per_second: float = 10.0

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(item for item in self.on if isinstance(item, str))

    @property
    def statuses(self) -> tuple[int, ...]:
        return tuple(item for item in self.on if isinstance(item, int))


@dataclass(frozen=True, slots=True)
class Upstream:
    """``balance`` is one of BALANCERS.  The hashing fields are set for the
    HASH_BALANCERS only (None otherwise): ``hash_key`` ("client_ip" for
    ip_hash), ``hash`` (one of HASH_METHODS), ``virtual_nodes`` (ring: points
    per unit of weight), ``table_size`` (maglev: a prime); ``bounded_load``
    (ring and maglev) is None when off."""

    name: str
    servers: tuple[Server, ...]
    balance: str = "round_robin"
    pool: Pool = field(default_factory=Pool)
    hash_key: str | None = None
    hash: str | None = None
    bounded_load: float | None = None
    virtual_nodes: int | None = None
    table_size: int | None = None
    # Set (the defaults, unless [upstream.NAME.tls] says otherwise) when a
    # server is https://; None when every server is plain http.
    tls: UpstreamTLS | None = None
    # None: no active checks unless [upstream.NAME.health_check] is set.
    health_check: HealthCheck | None = None
    passive: Passive = field(default_factory=Passive)
    retry: Retry = field(default_factory=Retry)


@dataclass(frozen=True, slots=True)
class LogConfig:
    format: str = "text"


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """The admin listener, served by the supervisor.  A non-loopback
    ``host`` is accepted only with ``allow_remote`` (it has no auth)."""

    host: str
    port: int
    allow_remote: bool = False


@dataclass(frozen=True, slots=True)
class AccessLogConfig:
    """``path`` "-" is the standard output; a file path is absolute."""

    path: str = "-"
    format: str = "json"


@dataclass(frozen=True, slots=True)
class Config:
    listeners: tuple[Listener, ...]
    routes: tuple[Route, ...]
    upstreams: tuple[Upstream, ...]
    server: ServerConfig = field(default_factory=ServerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    # Off (None) unless configured.
    admin: AdminConfig | None = None
    access_log: AccessLogConfig | None = None
    # Where it came from (a path, or "command line"); not part of digest().
    source: str = field(default="<dict>", compare=False)

    def upstream(self, name: str) -> Upstream:
        """The upstream called ``name``; KeyError if there is none."""
        for upstream in self.upstreams:
            if upstream.name == name:
                return upstream
        raise KeyError(name)

    @classmethod
    def from_cli(cls, listen: list[str], upstreams: list[str]) -> Config:
        """The config that ``fastproxy run --listen ... --upstream ...`` means.

        One listener per ``listen`` address, one upstream named "default"
        holding ``upstreams``, one catch-all route to it, defaults elsewhere.
        Raises ConfigError with key paths named after the options
        ("--listen[0]", "--upstream[1]").
        """
        from fastproxy.config.validate import parse_cli

        return parse_cli(listen, upstreams)

    def canonical(self) -> dict:
        """Plain JSON-able data: the same for configs that mean the same."""
        return _canonical(self)

    def digest(self) -> str:
        """sha256 (hex) of the canonical form; stable across runs and spellings."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()


def _canonical(value: object) -> object:
    if is_dataclass(value):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value) if f.name != "source"}
    if isinstance(value, (tuple, list)):
        return [_canonical(v) for v in value]
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(value)
    return value
