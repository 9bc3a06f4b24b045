"""What a worker reports of itself, how the supervisor sums workers, and
the Prometheus text exposition (format 0.0.4) of the sum.

A worker's snapshot is keyed by labels, not by the indexes of its config,
so that workers of different generations (a reload) add up: routes by
their index in the config ("0", "1", ...; "none" for requests no route
took), servers by upstream name and address as written in the config.

    counters   {name: int}                    Counters, except the gauges
    totals     {bytes_in, bytes_out, tls_handshakes}
    routes     {route: {upstream, host, path_prefix, codes[CLASSES], latency[BUCKETS], latency_sum}}
    servers    {upstream: {server: {codes[CLASSES], ejections, failures, retries, checks_passed, ...}}}
    upstreams  {upstream: {retries, retries_refused}}
    gauges     {connections_active, in_flight}
    state      {upstream: {server: {in_flight, out[reasons], up, ejected, check_down}}}

counters, totals, routes, servers and upstreams only grow: :data:`MONOTONIC` lists
them, and only they are kept from workers that are gone (the supervisor's
retired sum), so totals never go backwards across restarts and reloads.
"""

from __future__ import annotations

import math

from fastproxy.accounting import LATENCY_BOUNDS
from fastproxy.balance import OUT_ACTIVE, OUT_PASSIVE

CODE_LABELS = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")
MONOTONIC = ("counters", "totals", "routes", "servers", "upstreams")
# Per-server counts of the health checks (health/state.py), as counters:
# snapshot key -> the UpstreamHealth list it is read from.
HEALTH_COUNTS = {
    "ejections": "ejections",
    "failures": "failures",
    "retries": "retried_from",
    "checks_passed": "checks_passed",
    "checks_failed": "checks_failed",
    "transitions": "transitions",
}
# Counters fields that are levels, not counts.
_GAUGE_COUNTERS = ("connections_active",)


def route_labels(config) -> list[tuple[str, str]]:
    """(route label, upstream name) per route of ``config``, then the "none" slot."""
    labels = [(str(i), route.upstream or "") for i, route in enumerate(config.routes)]
    labels.append(("none", ""))
    return labels


def worker_snapshot(ctx, config) -> dict:
    """The snapshot of one worker's ProxyContext (see the module docstring)."""
    acct = ctx.accounting.snapshot()
    counters = ctx.counters.snapshot()
    classes = acct["classes"]
    buckets = len(acct["bounds"]) + 1
    routes = {}
    matches = [(route.host or "*", route.path_prefix or "/") for route in config.routes] + [("", "")]
    for i, (label, upstream) in enumerate(route_labels(config)):
        routes[label] = {
            "upstream": upstream,
            "host": matches[i][0],
            "path_prefix": matches[i][1],
            "codes": acct["by_route"][i * classes:(i + 1) * classes],
            "latency": acct["latency"][i * buckets:(i + 1) * buckets],
            "latency_sum": acct["latency_sum"][i],
        }
    groups = {group.name: group for group in ctx.groups}
    servers: dict = {}
    upstreams: dict = {}
    state: dict = {}
    index = 0
    for upstream in config.upstreams:
        group = groups[upstream.name]
        health = group.health
        upstreams[upstream.name] = {"retries": health.retries, "retries_refused": health.retries_refused}
        for i, server in enumerate(upstream.servers):
            codes = acct["by_server"][index * classes:(index + 1) * classes]
            index += 1
            counts = {key: getattr(health, name)[i] for key, name in HEALTH_COUNTS.items()}
            servers.setdefault(upstream.name, {})[server.address] = {"codes": codes, **counts}
            state.setdefault(upstream.name, {})[server.address] = {
                "in_flight": group.balancer.load(i),
                "out": group.out_reasons(i),
                **health_fields(group, i),
            }
    return {
        "counters": {k: v for k, v in counters.items() if k not in _GAUGE_COUNTERS},
        "totals": {k: acct[k] for k in ("bytes_in", "bytes_out", "tls_handshakes")},
        "routes": routes,
        "servers": servers,
        "upstreams": upstreams,
        "gauges": {"connections_active": counters["connections_active"], "in_flight": acct["in_flight"]},
        "state": state,
    }


def health_fields(group, i: int) -> dict:
    """Per-server health levels of one worker, for /upstreams and /metrics
    (summed over workers: the number of workers that see each state)."""
    out = group.out[i]
    return {"up": 0 if out else 1, "ejected": 1 if out & OUT_PASSIVE else 0,
            "check_down": 1 if out & OUT_ACTIVE else 0}


def merge(into: dict, other: dict) -> dict:
    """Adds ``other`` into ``into`` (numbers add, lists of numbers add item
    by item, lists of strings join, other values keep the first seen)."""
    for key, value in other.items():
        mine = into.get(key)
        if mine is None:
            into[key] = _copy(value)
        elif isinstance(value, dict):
            merge(mine, value)
        elif isinstance(value, (bool, str)):
            pass
        elif isinstance(value, (int, float)):
            into[key] = mine + value
        elif isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                into[key] = sorted(set(mine) | set(value))
            elif len(mine) == len(value):
                into[key] = [a + b for a, b in zip(mine, value)]
    return into


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value


def monotonic_part(snapshot: dict) -> dict:
    """The parts of a snapshot that only grow (kept from workers that are gone)."""
    return {key: _copy(snapshot[key]) for key in MONOTONIC if key in snapshot}


# -- Prometheus text format 0.0.4 ------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _number(value) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value, **labels: str) -> None:
        self.lines.append(f"{name}{_labels(**labels)} {_number(value)}")


def render(total: dict, workers: int, uptime: float) -> str:
    """The Prometheus exposition of ``total`` (a merged snapshot)."""
    out = _Text()
    out.family("fastproxy_workers", "gauge", "Worker processes whose counts are included.")
    out.sample("fastproxy_workers", workers)
    out.family("fastproxy_uptime_seconds", "gauge", "Seconds since the supervisor started.")
    out.sample("fastproxy_uptime_seconds", round(uptime, 3))
    routes = total.get("routes", {})
    out.family("fastproxy_route_info", "gauge", "What each route label matches (the route's index in the config).")
    for route, data in routes.items():
        if route != "none":
            out.sample("fastproxy_route_info", 1, route=route, upstream=data["upstream"],
                       host=data.get("host", ""), path_prefix=data.get("path_prefix", ""))
    out.family("fastproxy_http_requests_total", "counter", "Requests by route and response status class.")
    for route, data in routes.items():
        for code, count in zip(CODE_LABELS, data["codes"]):
            out.sample("fastproxy_http_requests_total", count, route=route, upstream=data["upstream"], code=code)
    out.family("fastproxy_request_duration_seconds", "histogram",
               "Time from the request head to the end of the response, by route.")
    for route, data in routes.items():
        running = 0
        for bound, count in zip((*LATENCY_BOUNDS, math.inf), data["latency"]):
            running += count
            out.sample("fastproxy_request_duration_seconds_bucket", running, route=route,
                       upstream=data["upstream"], le=_number(float(bound)))
        out.sample("fastproxy_request_duration_seconds_sum", data["latency_sum"], route=route,
                   upstream=data["upstream"])
        out.sample("fastproxy_request_duration_seconds_count", running, route=route, upstream=data["upstream"])
    out.family("fastproxy_upstream_requests_total", "counter",
               "Requests by upstream server and response status class.")
    for upstream, servers in total.get("servers", {}).items():
        for server, data in servers.items():
            for code, count in zip(CODE_LABELS, data["codes"]):
                out.sample("fastproxy_upstream_requests_total", count, upstream=upstream, server=server, code=code)
    _health_counters(out, total.get("servers", {}), total.get("upstreams", {}))
    state = total.get("state", {})
    _server_gauges(out, state)
    totals = total.get("totals", {})
    for key, name, help_text in (
        ("bytes_in", "fastproxy_received_bytes_total", "Bytes received from clients."),
        ("bytes_out", "fastproxy_response_bytes_total",
         "Response bytes relayed to clients (as received from upstreams) and error answers."),
        ("tls_handshakes", "fastproxy_tls_handshakes_total", "TLS handshakes completed with clients."),
    ):
        out.family(name, "counter", help_text)
        out.sample(name, totals.get(key, 0))
    gauges = total.get("gauges", {})
    active = gauges.get("connections_active", 0)
    busy = min(active, gauges.get("in_flight", 0))
    out.family("fastproxy_client_connections", "gauge", "Open client connections: with a request in progress or idle.")
    out.sample("fastproxy_client_connections", busy, state="active")
    out.sample("fastproxy_client_connections", active - busy, state="idle")
    counters = total.get("counters", {})
    connects = counters.get("upstream_connects", 0)
    reuses = counters.get("upstream_reuses", 0)
    out.family("fastproxy_upstream_pool_reuse_ratio", "gauge",
               "Upstream requests sent on a kept-alive connection, over all upstream requests.")
    out.sample("fastproxy_upstream_pool_reuse_ratio", reuses / (connects + reuses) if connects + reuses else 0.0)
    for name in sorted(counters):
        metric = f"fastproxy_{name}_total"
        out.family(metric, "counter", f"Events counted by the data path: {name.replace('_', ' ')}.")
        out.sample(metric, counters[name])
    return "\n".join(out.lines) + "\n"


_SERVER_HELP = {
    "up": "Workers in which the server is up (out of fastproxy_workers).",
    "ejected": "Workers in which passive checks have ejected the server.",
    "check_down": "Workers in which active health checks see the server down.",
    "in_flight": "Requests in flight to the server.",
}

_HEALTH_HELP = {
    "ejections": "Times passive checks ejected the server.",
    "failures": "Exchanges with the server that counted as failures (connect, timeout, reset, status).",
    "retries": "Requests retried on another server after failing on this one.",
    "checks_passed": "Active health checks the server passed.",
    "checks_failed": "Active health checks the server failed.",
    "transitions": "Times active checks moved the server between up and down.",
}


def _health_counters(out: _Text, servers: dict, upstreams: dict) -> None:
    for key, help_text in _HEALTH_HELP.items():
        name = f"fastproxy_upstream_server_{key}_total"
        out.family(name, "counter", help_text)
        for upstream, entries in servers.items():
            for server, data in entries.items():
                if key in data:
                    out.sample(name, data[key], upstream=upstream, server=server)
    for key, help_text in (("retries", "Retries sent to another server."),
                           ("retries_refused", "Retries the retry budget refused.")):
        name = f"fastproxy_upstream_{key}_total"
        out.family(name, "counter", help_text)
        for upstream, data in upstreams.items():
            out.sample(name, data.get(key, 0), upstream=upstream)


def _server_gauges(out: _Text, state: dict) -> None:
    # "up", "in_flight", then every other number health_fields adds (a
    # name ending in _total is a counter), each summed over workers.
    fields = ["up", "in_flight"]
    for servers in state.values():
        for data in servers.values():
            fields += [k for k, v in data.items() if k not in fields and isinstance(v, (int, float))
                       and not isinstance(v, bool)]
    for field in fields:
        name = f"fastproxy_upstream_server_{field}"
        kind = "counter" if field.endswith("_total") else "gauge"
        out.family(name, kind, _SERVER_HELP.get(field, f"Per-server health data: {field.replace('_', ' ')}."))
        for upstream, servers in state.items():
            for server, data in servers.items():
                out.sample(name, data.get(field, 0), upstream=upstream, server=server)
