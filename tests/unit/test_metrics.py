"""metrics.py: merging worker snapshots and the Prometheus text, read back
with prometheus-client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from fastproxy.accounting import LATENCY_BOUNDS
from fastproxy.metrics import merge, monotonic_part, render

BUCKETS = len(LATENCY_BOUNDS) + 1


def snapshot(ok: int, slow: int = 0, active: int = 0, out: list | None = None) -> dict:
    latency = [0] * BUCKETS
    latency[0] = ok
    latency[-1] = slow
    return {
        "counters": {"requests": ok + slow, "upstream_connects": 1, "upstream_reuses": ok + slow - 1},
        "totals": {"bytes_in": 10 * (ok + slow), "bytes_out": 100, "tls_handshakes": 0},
        "routes": {"0": {"upstream": "main", "host": "api.example", "path_prefix": "/v1/", "codes": [0, 0, ok + slow, 0, 0, 0], "latency": latency,
                         "latency_sum": 0.5 * slow},
                   "none": {"upstream": "", "codes": [0, 0, 0, 0, 1, 0], "latency": [1] + [0] * (BUCKETS - 1),
                            "latency_sum": 0.0}},
        "servers": {"main": {"127.0.0.1:9001": {"codes": [0, 0, ok + slow, 0, 0, 0]}}},
        "gauges": {"connections_active": active, "in_flight": 0},
        "state": {"main": {"127.0.0.1:9001": {"in_flight": 0, "out": out or [], "up": 0 if out else 1}}},
    }


def test_merge_adds_numbers_lists_and_joins_reasons():
    total = merge(merge({}, snapshot(3, active=2)), snapshot(4, slow=1, active=1, out=["drained"]))
    assert total["routes"]["0"]["codes"] == [0, 0, 8, 0, 0, 0]
    assert total["routes"]["0"]["upstream"] == "main"
    assert total["gauges"]["connections_active"] == 3
    assert total["state"]["main"]["127.0.0.1:9001"]["out"] == ["drained"]
    assert total["state"]["main"]["127.0.0.1:9001"]["up"] == 1


def test_merge_does_not_alias_its_input():
    first = snapshot(1)
    total = merge({}, first)
    merge(total, snapshot(1))
    assert first["routes"]["0"]["codes"] == [0, 0, 1, 0, 0, 0]


def test_monotonic_part_drops_levels():
    part = monotonic_part(snapshot(2, active=5))
    assert set(part) == {"counters", "totals", "routes", "servers"}


def families(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        out[family.name] = family.type
    return out


def test_render_parses_with_the_official_parser():
    text = render(merge(merge({}, snapshot(3)), snapshot(1, slow=2, active=1)), workers=2, uptime=1.5)
    assert text.endswith("\n")
    parsed = families(text)
    route = (("code", "2xx"), ("route", "0"), ("upstream", "main"))
    assert parsed[("fastproxy_http_requests_total", route)] == 6
    assert parsed["fastproxy_http_requests"] == "counter"
    assert parsed["fastproxy_request_duration_seconds"] == "histogram"
    le = lambda v: (("le", v), ("route", "0"), ("upstream", "main"))
    assert parsed[("fastproxy_request_duration_seconds_bucket", le("0.001"))] == 4
    assert parsed[("fastproxy_request_duration_seconds_bucket", le("10.0"))] == 4
    assert parsed[("fastproxy_request_duration_seconds_bucket", le("+Inf"))] == 6
    assert parsed[("fastproxy_request_duration_seconds_count", le("+Inf")[1:])] == 6
    assert parsed[("fastproxy_request_duration_seconds_sum", le("+Inf")[1:])] == 1.0
    server = (("code", "2xx"), ("server", "127.0.0.1:9001"), ("upstream", "main"))
    assert parsed[("fastproxy_upstream_requests_total", server)] == 6
    assert parsed[("fastproxy_workers", ())] == 2
    assert parsed[("fastproxy_client_connections", (("state", "idle"),))] == 1
    assert parsed[("fastproxy_upstream_pool_reuse_ratio", ())] == 4 / 6
    assert parsed[("fastproxy_received_bytes_total", ())] == 60
    assert parsed[("fastproxy_requests_total", ())] == 6  # Counters, as they are
    info = (("host", "api.example"), ("path_prefix", "/v1/"), ("route", "0"), ("upstream", "main"))
    assert parsed[("fastproxy_route_info", info)] == 1


def test_render_escapes_label_values():
    snap = snapshot(1)
    snap["servers"] = {'we"ird\\name': {"h:1": {"codes": [1, 0, 0, 0, 0, 0]}}}
    parsed = families(render(snap, workers=1, uptime=0))
    key = (("code", "none"), ("server", "h:1"), ("upstream", 'we"ird\\name'))
    assert parsed[("fastproxy_upstream_requests_total", key)] == 1


def test_render_shows_every_number_health_fields_adds():
    snap = snapshot(1)
    snap["state"]["main"]["127.0.0.1:9001"].update(checks_failed_total=3, latency_ewma=0.25, status="healthy")
    text = render(merge(merge({}, snap), snap), workers=2, uptime=0)
    parsed = families(text)
    server = (("server", "127.0.0.1:9001"), ("upstream", "main"))
    assert parsed[("fastproxy_upstream_server_checks_failed_total", server)] == 6
    assert parsed["fastproxy_upstream_server_checks_failed"] == "counter"
    assert parsed[("fastproxy_upstream_server_latency_ewma", server)] == 0.5
    assert "fastproxy_upstream_server_status" not in text  # strings are for /upstreams only


def test_render_of_nothing():
    parsed = families(render({}, workers=0, uptime=0))
    assert parsed[("fastproxy_workers", ())] == 0
    assert parsed[("fastproxy_upstream_pool_reuse_ratio", ())] == 0
