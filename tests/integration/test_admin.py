"""The operator surface through ``fastproxy run`` as a subprocess: /metrics
summed over workers (parsed by prometheus-client's own parser) and never
going backwards across a worker restart and a reload, /status, /upstreams,
the drain switch surviving restarts and reloads, and the admin API off by
default.  The access log has tests of its own (test_access_log.py)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

from fastproxy.config import load_config
from tests.integration.origin import Origin
from tests.integration.rawhttp import Client
from tests.integration.supervised import Supervised, environment


def config(*servers: Origin, workers: int = 2, admin: bool = True) -> str:
    listed = ", ".join(f'"127.0.0.1:{o.port}"' for o in servers)
    admin_table = '[admin]\nbind = "127.0.0.1:0"\n' if admin else ""
    return f"""
[server]
workers = {workers}
drain_timeout = "10s"
[[listener]]
bind = "127.0.0.1:0"
{admin_table}
[[route]]
path_prefix = "/api/"
strip_prefix = true
upstream = "main"
[upstream.main]
servers = [{listed}]
"""


def admin_port(proxy: Supervised) -> int:
    return int(proxy.wait_for(r"admin API on http://127\.0\.0\.1:(\d+)").group(1))


def call(port: int, method: str, path: str) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def scrape(port: int) -> dict[tuple, float]:
    """(sample name, sorted labels) -> value, as prometheus-client parses /metrics."""
    status, headers, body = call(port, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        assert family.name.startswith("fastproxy_")
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def get(port: int, path: str) -> tuple[int, str]:
    """One request on a connection of its own: (status, the origin that answered)."""
    with Client(("127.0.0.1", port)) as client:
        response = client.request("GET", path, headers={"Connection": "close"})
    return response.status, response.header("X-Origin") or ""


def send_until_both_workers(port: int, at_least: int) -> int:
    """GET /api/echo until both workers answered and ``at_least`` were sent; the count sent."""
    workers = set()
    sent = 0
    while sent < 200 and (sent < at_least or len(workers) < 2):
        with Client(("127.0.0.1", port)) as client:
            response = client.request("GET", "/api/echo", headers={"Connection": "close"})
        assert response.status == 200
        workers.add(dict(json.loads(response.body)["headers"])["X-Request-ID"][:16])
        sent += 1
    assert len(workers) == 2
    return sent


def requests_2xx(samples: dict) -> float:
    return value(samples, "fastproxy_http_requests_total", route="0", upstream="main", code="2xx")


def test_metrics_sum_over_workers_and_never_go_backwards(run_proxy, origins):
    origin = origins("a")
    proxy = run_proxy(config(origin, workers=2))
    port = admin_port(proxy)
    sent = send_until_both_workers(proxy.port, 10)
    for _ in range(3):
        assert get(proxy.port, "/elsewhere")[0] == 404
    samples = scrape(port)
    server = f"127.0.0.1:{origin.port}"
    assert value(samples, "fastproxy_workers") == 2
    assert value(samples, "fastproxy_route_info", route="0", upstream="main", host="*", path_prefix="/api/") == 1
    assert requests_2xx(samples) == sent == len(origin.requests)
    assert value(samples, "fastproxy_http_requests_total", route="none", upstream="", code="4xx") == 3
    assert value(samples, "fastproxy_upstream_requests_total", upstream="main", server=server, code="2xx") == sent
    assert value(samples, "fastproxy_request_duration_seconds_count", route="0", upstream="main") == sent
    assert value(samples, "fastproxy_request_duration_seconds_bucket", route="0", upstream="main",
                 le="+Inf") == sent
    assert value(samples, "fastproxy_requests_total") == sent + 3  # the data path's own counter
    assert value(samples, "fastproxy_upstream_server_up", upstream="main", server=server) == 2
    assert value(samples, "fastproxy_received_bytes_total") > 0
    assert value(samples, "fastproxy_response_bytes_total") > 0
    assert value(samples, "fastproxy_client_connections", state="active") == 0

    # A worker killed outright: its counts stay (the last ones the supervisor saw).
    mark = proxy.mark()
    pid = proxy.workers()[0]
    os.kill(pid, signal.SIGKILL)
    proxy.wait_for(r"worker 0 \(generation 1, pid \d+\) serving", after=mark)
    assert requests_2xx(scrape(port)) == sent

    # A reload: the old workers drain and go, their counts stay.
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)
    proxy.wait_for(r"reloaded: generation 2", after=mark)
    proxy.wait_for(r"worker 1 \(generation 1, pid \d+\) stopped", after=mark)
    proxy.wait_for(r"worker 0 \(generation 1, pid \d+\) stopped", after=mark)
    samples = scrape(port)
    assert requests_2xx(samples) == sent
    assert value(samples, "fastproxy_workers") == 2
    more = send_until_both_workers(proxy.port, 2)
    assert requests_2xx(scrape(port)) == sent + more == len(origin.requests)
    assert proxy.stop() == 0


def test_a_stuck_worker_does_not_hang_the_admin_api(run_proxy, origins):
    proxy = run_proxy(config(origins("a"), workers=2))
    port = admin_port(proxy)
    sent = send_until_both_workers(proxy.port, 4)
    assert requests_2xx(scrape(port)) == sent
    stuck = proxy.workers()[0]
    os.kill(stuck, signal.SIGSTOP)
    try:
        mark = proxy.mark()
        started = time.monotonic()
        samples = scrape(port)  # answered after the gather timeout, with what the stuck one said last
        assert time.monotonic() - started < 5
        assert requests_2xx(samples) == sent
        proxy.wait_for(rf"no answer from worker pids \[{stuck}\]", after=mark)
    finally:
        os.kill(stuck, signal.SIGCONT)
    assert requests_2xx(scrape(port)) == sent
    assert proxy.stop() == 0


def test_status(run_proxy, origins, parser_name, tmp_path):
    proxy = run_proxy(config(origins("a"), workers=2))
    status, headers, body = call(admin_port(proxy), "GET", "/status")
    assert status == 200 and headers["Content-Type"] == "application/json"
    info = json.loads(body)
    import fastproxy

    assert info["version"] == fastproxy.__version__
    assert info["pid"] == proxy.proc.pid
    assert info["uptime"] >= 0
    assert info["config_hash"] == load_config(str(tmp_path / "proxy.toml")).digest()
    assert sorted(w["pid"] for w in info["workers"]) == sorted(proxy.workers().values())
    assert all(w["ready"] and w["generation"] == 1 for w in info["workers"])
    assert info["extensions"]["parser"] == parser_name
    assert info["extensions"]["downstream"] == parser_name


def test_drain_and_enable_survive_restarts_and_reloads(run_proxy, origins):
    a, b = origins("a"), origins("b")
    proxy = run_proxy(config(a, b, workers=2))
    port = admin_port(proxy)
    status, _, body = call(port, "GET", "/upstreams")
    assert status == 200
    servers = json.loads(body)["upstreams"]["main"]["servers"]
    assert [(s["server"], s["up"], s["out"], s["drained"]) for s in servers] == [
        (f"127.0.0.1:{a.port}", True, [], False), (f"127.0.0.1:{b.port}", True, [], False)]

    # The server as written in the config, URL-encoded or not.
    status, _, body = call(port, "POST", f"/upstreams/main/127.0.0.1%3A{b.port}/drain")
    assert status == 200, body
    assert json.loads(body) == {"upstream": "main", "server": f"127.0.0.1:{b.port}", "drained": True,
                                "workers": 2, "unanswered": 0}
    before = len(b.requests)
    assert {get(proxy.port, "/api/echo")[1] for _ in range(8)} == {"a"}
    entry = json.loads(call(port, "GET", "/upstreams")[2])["upstreams"]["main"]["servers"][1]
    assert (entry["up"], entry["out"], entry["drained"]) == (False, ["drained"], True)
    assert json.loads(call(port, "GET", "/status")[2])["drained"] == [{"upstream": "main",
                                                                      "server": f"127.0.0.1:{b.port}"}]

    mark = proxy.mark()
    os.kill(proxy.workers()[1], signal.SIGKILL)
    proxy.wait_for(r"worker 1 \(generation 1, pid \d+\) serving", after=mark)
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)
    proxy.wait_for(r"reloaded: generation 2", after=mark)
    assert {get(proxy.port, "/api/echo")[1] for _ in range(8)} == {"a"}
    assert len(b.requests) == before  # no request reached the drained server

    status, _, body = call(port, "POST", f"/upstreams/main/127.0.0.1:{b.port}/enable")
    assert status == 200 and json.loads(body)["drained"] is False
    seen = {get(proxy.port, "/api/echo")[1] for _ in range(8)}
    assert seen == {"a", "b"}  # round robin in each worker: b within two requests
    assert proxy.stop() == 0


def test_admin_errors(run_proxy, origins):
    a = origins("a")
    proxy = run_proxy(config(a, workers=1))
    port = admin_port(proxy)
    assert call(port, "POST", "/upstreams/nope/127.0.0.1:1/drain")[0] == 404
    assert call(port, "POST", "/upstreams/main/127.0.0.1:1/drain")[0] == 404
    assert call(port, "POST", f"/upstreams/main/127.0.0.1:{a.port}/pause")[0] == 404
    status, headers, _ = call(port, "GET", f"/upstreams/main/127.0.0.1:{a.port}/drain")
    assert (status, headers["Allow"]) == (405, "POST")
    status, headers, _ = call(port, "POST", "/metrics")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
    assert call(port, "GET", "/nothing")[0] == 404
    with Client(("127.0.0.1", port)) as client:
        client.send(b"GET /status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert client.read_response().status == 400
    assert get(proxy.port, "/api/echo")[0] == 200  # nothing drained
    assert proxy.stop() == 0


def test_admin_is_off_by_default(run_proxy, origins):
    proxy = run_proxy(config(origins("a"), workers=1, admin=False))
    assert get(proxy.port, "/api/echo")[0] == 200
    assert proxy.stop() == 0
    assert not any("admin API" in line for line in proxy.lines)


def test_an_admin_port_in_use_stops_the_start(origins, parser_name, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        text = config(origins("a"), workers=1).replace('[admin]\nbind = "127.0.0.1:0"',
                                                        f'[admin]\nbind = "127.0.0.1:{taken.getsockname()[1]}"')
        (tmp_path / "proxy.toml").write_text(text)
        result = subprocess.run(
            [sys.executable, "-m", "fastproxy", "run", "-c", str(tmp_path / "proxy.toml"), "--pid-file",
             str(tmp_path / "pid")],
            capture_output=True, text=True, timeout=30, env=environment(parser_name), check=False)
    assert result.returncode == 1
    assert "cannot serve the admin API" in result.stderr
    assert not (tmp_path / "pid").exists()


def test_a_reload_keeps_the_admin_listener(run_proxy, origins, tmp_path):
    proxy = run_proxy(config(origins("a"), workers=1))
    port = admin_port(proxy)
    path = tmp_path / "proxy.toml"
    path.write_text(path.read_text().replace('[admin]\nbind = "127.0.0.1:0"', '[admin]\nbind = "127.0.0.1:1"'))
    mark = proxy.mark()
    proxy.send(signal.SIGHUP)
    proxy.wait_for(r"reload: \[admin\] changes take effect at the next start", after=mark)
    proxy.wait_for(r"reloaded: generation 2", after=mark)
    assert call(port, "GET", "/status")[0] == 200
    assert proxy.stop() == 0


def test_health_counts_reach_metrics_and_upstreams(run_proxy, origins):
    a = origins("a")
    with socket.socket() as s:  # a port nothing listens on: connects are refused
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    text = config(a, workers=1).replace(
        f'servers = ["127.0.0.1:{a.port}"]', f'servers = ["127.0.0.1:{dead}", "127.0.0.1:{a.port}"]'
    ) + '[upstream.main.passive]\nconsecutive_failures = 1\nbase_ejection_time = "5m"\n'
    proxy = run_proxy(text)
    port = admin_port(proxy)
    # Round robin tries the dead server first: refused, ejected, retried on a.
    assert [get(proxy.port, "/api/echo") for _ in range(4)] == [(200, "a")] * 4

    samples = scrape(port)
    dead_labels = {"upstream": "main", "server": f"127.0.0.1:{dead}"}
    assert value(samples, "fastproxy_upstream_server_ejections_total", **dead_labels) == 1
    assert value(samples, "fastproxy_upstream_server_failures_total", **dead_labels) == 1
    assert value(samples, "fastproxy_upstream_server_retries_total", **dead_labels) == 1
    assert value(samples, "fastproxy_upstream_server_ejected", **dead_labels) == 1
    assert value(samples, "fastproxy_upstream_server_up", **dead_labels) == 0
    assert value(samples, "fastproxy_upstream_retries_total", upstream="main") == 1
    assert value(samples, "fastproxy_upstream_retries_refused_total", upstream="main") == 0
    assert value(samples, "fastproxy_upstream_server_ejections_total", upstream="main",
                 server=f"127.0.0.1:{a.port}") == 0

    upstream = json.loads(call(port, "GET", "/upstreams")[2])["upstreams"]["main"]
    assert upstream["retries"] == 1
    entry = upstream["servers"][0]
    assert (entry["up"], entry["out"], entry["ejected"]) == (False, ["ejected"], 1)
    assert entry["health"]["ejections"] == 1 and entry["health"]["retries"] == 1
    assert proxy.stop() == 0
