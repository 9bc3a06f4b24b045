"""Checks a parsed TOML document and builds the frozen :class:`Config`.

One builder per section, each reading its table through a
:class:`~fastproxy.config.reader.Section` so that every problem is collected
with its key path.  Cross-checks (URI limit within the header limit,
duplicate listeners, routes naming upstreams) run only on values that passed
their own checks, so one mistake yields one message.  Nothing is built
unless the whole document is clean.
"""

from __future__ import annotations

import ipaddress
import os
import re

from fastproxy.config import _text
from fastproxy.config.addresses import parse_host_port, parse_network
from fastproxy.config.balancing import read_balancing
from fastproxy.config.health import read_health_check, read_passive, read_retry
from fastproxy.config.reader import MISSING, Problems, Section
from fastproxy.config.routing import read_route
from fastproxy.config.schema import (
    ACCESS_LOG_FORMATS,
    LOG_FORMATS,
    MIB,
    AccessLogConfig,
    AdminConfig,
    Config,
    Headers,
    Limits,
    Listener,
    LogConfig,
    Pool,
    Route,
    Server,
    ServerConfig,
    Timeouts,
    Upstream,
)
from fastproxy.config.tls import read_listener_tls, read_upstream_tls, split_scheme
from fastproxy.config.units import format_size
from fastproxy.errors import ConfigError

__all__ = ["parse_cli", "parse_config"]

# RFC 9110 token: what a header field name may contain.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UPSTREAM_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_WORKERS = 1024


def parse_config(data: dict, source: str = "<dict>") -> Config:
    """The Config that ``data`` (a parsed TOML document) describes.

    Raises ConfigError listing every problem found, each with its key path.
    ``source`` names where ``data`` came from; it is kept in Config.source.
    Relative file names (certificates, keys) are taken from the directory
    of ``source``, or the current one when it does not name a file.
    """
    if not isinstance(data, dict):
        raise ConfigError([("", f"expected a table at the top level, got {_text.kind(data)}")])
    problems = Problems()
    root = Section(data, "", problems)
    # abspath first: "<dict>" and "command line" then mean the current directory.
    base = os.path.dirname(os.path.abspath(source))
    server = _server(root.table("server"))
    listeners = _listeners(root, base)
    upstream_names = _upstream_names(data.get("upstream"))
    routes = _routes(root, upstream_names)
    if not problems:
        _check_client_routes(root, listeners, routes)
    upstreams = _upstreams(root, base)
    log = _log(root.table("log"))
    admin = _admin(root)
    access_log = _access_log(root, base)
    root.finish()
    if problems:
        raise ConfigError(problems.items)
    return Config(
        listeners=listeners,
        routes=routes,
        upstreams=upstreams,
        server=server,
        log=log,
        admin=admin,
        access_log=access_log,
        source=source,
    )


def parse_cli(listen: list[str], upstreams: list[str]) -> Config:
    """See :meth:`Config.from_cli`."""
    missing = []
    if not listen:
        missing.append(("--listen", "at least one address is required (e.g. --listen 127.0.0.1:8080)"))
    if not upstreams:
        missing.append(("--upstream", "at least one server is required (e.g. --upstream 127.0.0.1:9000)"))
    if missing:
        raise ConfigError(missing)
    data = {
        "listener": [{"bind": address} for address in listen],
        "upstream": {"default": {"servers": list(upstreams)}},
        "route": [{"upstream": "default"}],
    }
    try:
        return parse_config(data, source="command line")
    except ConfigError as exc:
        raise ConfigError(
            [
                (_cli_path(path), message.replace("(also servers[", "(also --upstream["))
                for path, message in exc.problems
            ]
        ) from None


def _cli_path(path: str) -> str:
    match = re.fullmatch(r"listener\[(\d+)\]\.bind", path)
    if match:
        return f"--listen[{match.group(1)}]"
    match = re.fullmatch(r"upstream\.default\.servers\[(\d+)\]", path)
    if match:
        return f"--upstream[{match.group(1)}]"
    return path


# -- [server] ----------------------------------------------------------------


def _server(sec: Section) -> ServerConfig:
    default = ServerConfig()
    server = ServerConfig(
        workers=_workers(sec, default.workers),
        drain_timeout=sec.duration("drain_timeout", default.drain_timeout, allow_zero=True),
        splice=sec.boolean("splice", default.splice),
        timeouts=_timeouts(sec.table("timeouts")),
        limits=_limits(sec.table("limits")),
        headers=_headers(sec.table("headers")),
    )
    sec.finish()
    return server


def _workers(sec: Section, default: int | None) -> int | None:
    value = sec.raw("workers")
    if value is MISSING:
        return default
    if value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        sec.problem("workers", f'expected an integer >= 1 or "auto", got {_text.got(value)}')
        return None
    return sec.check_integer("workers", value, 1, _MAX_WORKERS)


def _timeouts(sec: Section) -> Timeouts:
    d = Timeouts()
    timeouts = Timeouts(
        client_header=sec.duration("client_header", d.client_header),
        client_idle=sec.duration("client_idle", d.client_idle),
        upstream_connect=sec.duration("upstream_connect", d.upstream_connect),
        upstream_read=sec.duration("upstream_read", d.upstream_read),
        upstream_write=sec.duration("upstream_write", d.upstream_write),
    )
    sec.finish()
    return timeouts


def _limits(sec: Section) -> Limits:
    d = Limits()
    header_bytes = sec.size("max_header_bytes", d.max_header_bytes, 1024, MIB)
    uri_bytes = sec.size("max_uri_bytes", d.max_uri_bytes, 256, MIB)
    # The request line is part of the head, so a longer URI could never fit.
    if header_bytes is not None and uri_bytes is not None and uri_bytes > header_bytes:
        sec.problem(
            "max_uri_bytes",
            f"{format_size(uri_bytes)} is larger than max_header_bytes ({format_size(header_bytes)})",
        )
    limits = Limits(
        max_header_bytes=header_bytes,
        max_header_count=sec.integer("max_header_count", d.max_header_count, 1, 10_000),
        max_uri_bytes=uri_bytes,
        max_body_bytes=sec.size("max_body_bytes", d.max_body_bytes, 1, 2**63 - 1, zero_unlimited=True),
    )
    sec.finish()
    return limits


def _headers(sec: Section) -> Headers:
    d = Headers()
    proxies = sec.array("trusted_proxies", list(d.trusted_proxies), "CIDR blocks")
    if proxies is not None:
        proxies = sec.each("trusted_proxies", proxies, lambda path, item: _network(sec, path, item))
    hidden = sec.array("hide_response_headers", list(d.hide_response_headers), "header names")
    if hidden is not None:
        hidden = sec.each("hide_response_headers", hidden, lambda path, item: _header_name(sec, path, item))
    headers = Headers(
        trusted_proxies=proxies,
        request_id=sec.boolean("request_id", d.request_id),
        hide_response_headers=hidden,
    )
    sec.finish()
    return headers


def _network(sec: Section, path: str, item: object):
    if not isinstance(item, str):
        sec.problems.add(path, f'expected a CIDR block such as "10.0.0.0/8", got {_text.got(item)}')
        return None
    try:
        return parse_network(item)
    except ValueError as exc:
        sec.problems.add(path, str(exc))
        return None


def _header_name(sec: Section, path: str, item: object) -> str | None:
    if not isinstance(item, str):
        sec.problems.add(path, f"expected a header name, got {_text.got(item)}")
        return None
    if not _TOKEN.fullmatch(item):
        sec.problems.add(path, f"{_text.show(item)} is not a valid header name")
        return None
    return item


# -- [[listener]] ------------------------------------------------------------


def _listeners(root: Section, base: str) -> tuple[Listener, ...]:
    items = _array_of_tables(root, "listener", 'bind = "127.0.0.1:8080"')
    listeners = []
    bound: dict[tuple[str, int], int] = {}
    for index, item in enumerate(items):
        sec = Section(item, f"listener[{index}]", root.problems)
        bind = sec.string("bind", None)
        tls = read_listener_tls(sec, base)
        sec.finish()
        if bind is None:
            if sec.data.get("bind", MISSING) is MISSING:
                sec.problem("bind", 'is required (e.g. bind = "127.0.0.1:8080")')
            continue
        try:
            # Port 0 asks the kernel for a free port: for tests, never production.
            host, port = parse_host_port(bind, allow_port_zero=True)
        except ValueError as exc:
            sec.problem("bind", str(exc))
            continue
        if port and (host, port) in bound:
            sec.problem("bind", f"{_text.show(bind)} is already bound by listener[{bound[host, port]}]")
            continue
        bound[host, port] = index
        listeners.append(Listener(host=host, port=port, tls=tls))
    return tuple(listeners)


def _array_of_tables(root: Section, key: str, example: str) -> list[dict]:
    """The tables of ``[[key]]``: at least one, each a table; [] on problems."""
    value = root.raw(key)
    if value is MISSING or value == []:
        root.problem(key, f"at least one [[{key}]] is required (e.g. [[{key}]] {example})")
        return []
    if not isinstance(value, list):
        root.problem(key, f"expected an array of tables ([[{key}]]), got {_text.got(value)}")
        return []
    tables = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            tables.append(item)
        else:
            root.problems.add(f"{key}[{index}]", f"expected a table, got {_text.got(item)}")
    return tables if len(tables) == len(value) else []


# -- [[route]] ---------------------------------------------------------------


def _routes(root: Section, upstream_names: list[str]) -> tuple[Route, ...]:
    items = _array_of_tables(root, "route", 'upstream = "api"')
    return tuple(
        _route(Section(item, f"route[{i}]", root.problems), upstream_names) for i, item in enumerate(items)
    )


def _route(sec: Section, upstream_names: list[str]) -> Route:
    return read_route(sec, upstream_names, lambda name: _known_upstreams(name, upstream_names))


def _check_client_routes(root: Section, listeners: tuple[Listener, ...], routes: tuple[Route, ...]) -> None:
    """Routes on the client certificate need a listener that verifies one."""
    if any(listener.tls is not None and listener.tls.client_ca for listener in listeners):
        return
    for index, route in enumerate(routes):
        for key in ("client_subject", "client_cn"):
            if getattr(route, key):
                root.problems.add(f"route[{index}].{key}", "no listener verifies client certificates "
                                  "(set client_ca in a [listener.tls])")


def _known_upstreams(name: str, upstream_names: list[str]) -> str:
    hint = _text.did_you_mean(name, upstream_names)
    if hint is not None:
        return f'(did you mean "{hint}"?)'
    if upstream_names:
        return f"(defined: {_text.quoted_list(upstream_names)})"
    return "(no [upstream.NAME] tables are defined)"


# -- [upstream.NAME] ---------------------------------------------------------


def _upstream_names(value: object) -> list[str]:
    return [str(name) for name in value] if isinstance(value, dict) else []


def _upstreams(root: Section, base: str) -> tuple[Upstream, ...]:
    sec = root.table("upstream")
    upstreams = []
    for name, value in sec.data.items():
        path = sec.at(name)
        sec.raw(name)
        if not _UPSTREAM_NAME.fullmatch(name):
            sec.problem(
                name, f'{_text.show(name)} is not a valid upstream name (use letters, digits, "_", ".", "-")'
            )
        if not isinstance(value, dict):
            sec.problem(name, f"expected a table ([{path}]), got {_text.got(value)}")
            continue
        upstreams.append(_upstream(Section(value, path, sec.problems), name, base))
    return tuple(upstreams)


def _upstream(sec: Section, name: str, base: str) -> Upstream:
    servers = sec.raw("servers")
    if servers is MISSING or servers == []:
        sec.problem("servers", 'at least one server is required (e.g. servers = ["127.0.0.1:9001"])')
        servers = None
    elif not isinstance(servers, list):
        sec.problem("servers", f'expected an array such as ["127.0.0.1:9001"], got {_text.got(servers)}')
        servers = None
    else:
        servers = _servers(sec, servers)
    balancing = read_balancing(sec, servers)
    has_https = None if servers is None else any(s.scheme == "https" for s in servers)
    tls = read_upstream_tls(sec, base, has_https)
    upstream = Upstream(
        name=name,
        servers=servers,
        balance=balancing.balance,
        pool=_pool(sec.table("pool")),
        hash_key=balancing.hash_key,
        hash=balancing.hash,
        bounded_load=balancing.bounded_load,
        virtual_nodes=balancing.virtual_nodes,
        table_size=balancing.table_size,
        tls=tls,
        health_check=read_health_check(sec),
        passive=read_passive(sec),
        retry=read_retry(sec),
    )
    sec.finish()
    return upstream


def _servers(sec: Section, items: list) -> tuple[Server, ...] | None:
    servers = []
    seen: dict[tuple[str, int], int] = {}
    before = len(sec.problems)
    for index, item in enumerate(items):
        path = f"{sec.at('servers')}[{index}]"
        server = _server_entry(sec, path, item)
        if server is None:
            continue
        key = (server.host, server.port)
        if key in seen:
            sec.problems.add(
                path,
                f'"{server.address}" is listed twice (also servers[{seen[key]}]); give it a weight instead',
            )
            continue
        seen[key] = index
        servers.append(server)
    return tuple(servers) if len(sec.problems) == before else None


def _server_entry(sec: Section, path: str, item: object) -> Server | None:
    if isinstance(item, str):
        address, weight, address_path = item, 1, path
    elif isinstance(item, dict):
        entry = Section(item, path, sec.problems)
        address = entry.string("address", None)
        weight = entry.integer("weight", 1, 1, 1000)
        entry.finish()
        address_path = entry.at("address")
        if address is None:
            if item.get("address", MISSING) is MISSING:
                entry.problem("address", 'is required (e.g. { address = "127.0.0.1:9001", weight = 2 })')
            return None
    else:
        sec.problems.add(
            path, f'expected "host:port" or {{ address = "host:port", weight = N }}, got {_text.got(item)}'
        )
        return None
    try:
        scheme, host_port = split_scheme(address)
        host, port = parse_host_port(host_port)
    except ValueError as exc:
        sec.problems.add(address_path, str(exc))
        return None
    if weight is None:  # already reported; the address was still worth checking
        return None
    return Server(host=host, port=port, weight=weight, scheme=scheme)


def _pool(sec: Section) -> Pool:
    d = Pool()
    pool = Pool(
        max_idle=sec.integer("max_idle", d.max_idle, 0, 100_000),
        idle_timeout=sec.duration("idle_timeout", d.idle_timeout),
        max_requests=sec.integer("max_requests", d.max_requests, 0, 2**31 - 1),
    )
    sec.finish()
    return pool


# -- [log] -------------------------------------------------------------------


def _log(sec: Section) -> LogConfig:
    fmt = sec.string("format", LogConfig().format)
    if fmt is not None and fmt not in LOG_FORMATS:
        sec.problem("format", f"{_text.show(fmt)} is not a log format (use {_text.quoted_list(LOG_FORMATS)})")
    sec.finish()
    return LogConfig(format=fmt)


# -- [admin], [access_log] ------------------------------------------------------


def _admin(root: Section) -> AdminConfig | None:
    present = root.data.get("admin", MISSING)
    sec = root.table("admin")
    if present is MISSING or not isinstance(present, dict):  # off, or reported by table()
        return None
    bind = sec.string("bind", None)
    allow_remote = sec.boolean("allow_remote", AdminConfig.__dataclass_fields__["allow_remote"].default)
    sec.finish()
    if bind is None:
        if sec.data.get("bind", MISSING) is MISSING:
            sec.problem("bind", 'is required (e.g. bind = "127.0.0.1:9901")')
        return None
    try:
        host, port = parse_host_port(bind, allow_port_zero=True)
    except ValueError as exc:
        sec.problem("bind", str(exc))
        return None
    if allow_remote is None:
        return None
    if not allow_remote and not _is_loopback(host):
        # The admin API can drain servers and has no authentication.
        sec.problem("bind", f"{_text.show(bind)} is not a loopback address "
                            "(the admin API has no authentication; set allow_remote = true to expose it)")
        return None
    return AdminConfig(host=host, port=port, allow_remote=allow_remote)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _access_log(root: Section, base: str) -> AccessLogConfig | None:
    present = root.data.get("access_log", MISSING)
    sec = root.table("access_log")
    if present is MISSING or not isinstance(present, dict):  # off, or reported by table()
        return None
    default = AccessLogConfig()
    path = sec.string("path", default.path)
    if path == "":
        sec.problem("path", 'must not be empty (use "-" for the standard output, or a file path)')
        path = None
    fmt = sec.string("format", default.format)
    if fmt is not None and fmt not in ACCESS_LOG_FORMATS:
        sec.problem("format", f"{_text.show(fmt)} is not an access log format "
                              f"(use {_text.quoted_list(ACCESS_LOG_FORMATS)})")
        fmt = None
    sec.finish()
    if path is None or fmt is None:
        return None
    if path != "-":
        path = os.path.join(base, path)
    return AccessLogConfig(path=path, format=fmt)
