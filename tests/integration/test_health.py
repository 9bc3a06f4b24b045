"""Passive checks, retries and active checks over real sockets.

Origins (switchable.py) go down (connect refused), come back, hang, reset
before answering and answer 5xx; the proxy runs in process (conftest.py).
Round robin with retries: a pick for a retry moves the cycle on too, so a
request fails on the broken server first, then is retried on the healthy
one, until the broken one is ejected: every count below follows from that.
"""

from __future__ import annotations

import itertools
import ssl
import time

import pytest

from fastproxy.config import parse_config
from tests.integration.conftest import ProxyThread
from tests.integration.switchable import Switchable


@pytest.fixture
def origins():
    made: list[Switchable] = []

    def make(*names: str) -> list[Switchable]:
        new = [Switchable(name) for name in names]
        made.extend(new)
        return new

    yield make
    for origin in made:
        origin.close()


@pytest.fixture
def health_proxy(start_proxy):
    def make(servers: list[Switchable], **tables) -> ProxyThread:
        data = {
            "listener": [{"bind": "127.0.0.1:0"}],
            "upstream": {"app": {"servers": [s.address for s in servers], **tables}},
            "route": [{"upstream": "app"}],
            "server": {"timeouts": {"upstream_connect": "2s", "upstream_read": "5s"}},
        }
        return start_proxy(parse_config(data))

    return make


def health(proxy: ProxyThread) -> dict:
    return proxy.call(proxy.proxy.health)[0]


def server(proxy: ProxyThread, i: int) -> dict:
    return health(proxy)["servers"][i]


def get(proxy: ProxyThread, path: str = "/", method: str = "GET", body: bytes | None = None):
    with proxy.client() as client:
        return client.request(method, path, body=body)


def wait_health(proxy: ProxyThread, predicate, what: str, timeout: float = 5.0) -> dict:
    """Polls the health snapshot (bounded) until ``predicate(snapshot)``."""
    deadline = time.monotonic() + timeout
    while True:
        snap = health(proxy)
        if predicate(snap):
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s: {snap}")
        time.sleep(0.01)


NO_PASSIVE = {"enabled": False}


def test_refused_connects_are_retried_then_the_server_is_ejected_and_comes_back(origins, health_proxy):
    down, up = origins("down", "up")
    down.set("down")
    proxy = health_proxy([down, up], passive={"consecutive_failures": 3, "base_ejection_time": "1s"},
                         retry={"tries": 2})
    bodies = [get(proxy) for _ in range(6)]
    assert [(r.status, r.body) for r in bodies] == [(200, b"up")] * 6
    snap = health(proxy)
    # Requests 1-3 fail on "down" and are retried; the third failure ejects
    # it, so requests 4-6 go straight to "up".
    assert snap["retries"] == 3 and snap["retries_refused"] == 0
    assert snap["servers"][0]["ejections"] == 1
    assert snap["servers"][0]["reasons"] == ["ejected"]
    assert snap["servers"][0]["retries"] == 3
    assert proxy.counters()["upstream_retries"] == 3
    assert len(up.paths()) == 6

    down.set("ok")
    wait_health(proxy, lambda s: s["servers"][0]["state"] == "up", "return from ejection")
    answers = {get(proxy).body for _ in range(2)}
    assert answers == {b"down", b"up"}

    # It fails again, after a success since its return: the backoff starts
    # over at the base time.
    down.set("down")
    for _ in range(3):
        assert get(proxy).status == 200
    snap = health(proxy)
    assert snap["servers"][0]["ejections"] == 2
    assert 0 < snap["servers"][0]["ejected_for"] <= 1.0


def test_backoff_doubles_while_the_server_keeps_failing_after_its_return(origins, health_proxy):
    down, up = origins("down", "up")
    down.set("down")
    proxy = health_proxy([down, up], passive={"consecutive_failures": 1, "base_ejection_time": "500ms"},
                         retry={"tries": 2})
    assert get(proxy).body == b"up"
    assert server(proxy, 0)["ejections"] == 1
    wait_health(proxy, lambda s: s["servers"][0]["state"] == "up", "return from ejection")
    assert get(proxy).body == b"up"  # tried on "down" first: fails again, ejected again
    snap = server(proxy, 0)
    assert snap["ejections"] == 2
    assert 0.5 < snap["ejected_for"] <= 1.0
    assert health(proxy)["retries"] == 2


def test_resets_before_any_response_byte_are_retried(origins, health_proxy):
    bad, good = origins("bad", "good")
    bad.set("reset")
    proxy = health_proxy([bad, good], passive=NO_PASSIVE, retry={"tries": 2})
    for _ in range(4):
        response = get(proxy)
        assert (response.status, response.body) == (200, b"good")
    assert health(proxy)["retries"] == 4
    assert len(bad.paths()) == 4 and len(good.paths()) == 4


def test_a_hung_server_is_retried_after_the_per_try_timeout(origins, health_proxy):
    slow, fast = origins("slow", "fast")
    slow.set("hang")
    proxy = health_proxy([slow, fast], passive=NO_PASSIVE, retry={"tries": 2, "per_try_timeout": "200ms"})
    started = time.monotonic()
    responses = [get(proxy) for _ in range(2)]
    assert [(r.status, r.body) for r in responses] == [(200, b"fast")] * 2
    assert time.monotonic() - started >= 0.4
    assert health(proxy)["retries"] == 2
    assert proxy.counters()["upstream_timeouts"] == 2


def test_a_retried_status_never_reaches_the_client_but_a_post_is_not_retried(origins, health_proxy):
    failing, healthy = origins("failing", "healthy")
    failing.set("status", 503)
    proxy = health_proxy([failing, healthy], passive=NO_PASSIVE, retry={"tries": 2, "on": ["reset", "5xx"]})
    with proxy.client() as client:  # one client connection, kept alive across the retries
        for _ in range(3):
            response = client.request("GET", "/")
            assert (response.status, response.body) == (200, b"healthy")
    assert health(proxy)["retries"] == 3
    # The round robin cycle starts on "failing" for every request (see the
    # module docstring): a POST lands there, and its 503 is the answer.
    response = get(proxy, "/submit", "POST", b"x=1")
    assert (response.status, response.body) == (503, b"failing status 503")
    assert health(proxy)["retries"] == 3
    assert failing.paths().count("/submit") == 1 and "/submit" not in healthy.paths()


def test_statuses_count_toward_ejection(origins, health_proxy):
    failing, healthy = origins("failing", "healthy")
    failing.set("status", 502)
    proxy = health_proxy([failing, healthy], passive={"consecutive_failures": 2, "base_ejection_time": "1m"},
                         retry={"tries": 1})
    statuses = [get(proxy).status for _ in range(6)]
    # Without retries the cycle alternates: 502, 200, 502 (ejected), then 200 only.
    assert statuses == [502, 200, 502, 200, 200, 200]
    assert server(proxy, 0)["ejections"] == 1 and server(proxy, 0)["failures"] == 2


def test_the_budget_stops_retries_under_a_total_outage(origins, health_proxy):
    servers = origins("a", "b", "c")
    for origin in servers:
        origin.set("down")
    proxy = health_proxy(servers, passive=NO_PASSIVE,
                         retry={"tries": 3, "budget_percent": 50, "budget_min_per_second": 0})
    statuses = [get(proxy).status for _ in range(6)]
    assert statuses == [502] * 6
    snap = health(proxy)
    # Retries may stay below half the requests: request k may retry once
    # when retries < k / 2 (k = 1, 3, 5); every request is refused a retry once.
    assert (snap["retries"], snap["retries_refused"]) == (3, 6)
    assert proxy.counters()["upstream_connect_failures"] == 9


def test_passive_checks_never_eject_every_server(origins, health_proxy):
    servers = origins("a", "b")
    for origin in servers:
        origin.set("down")
    proxy = health_proxy(servers, passive={"consecutive_failures": 1, "base_ejection_time": "1m"},
                         retry={"tries": 1})
    assert [get(proxy).status for _ in range(4)] == [502] * 4
    assert [s["ejections"] for s in health(proxy)["servers"]] == [1, 0]


CHECK = {"path": "/healthz", "interval": "100ms", "timeout": "100ms", "rise": 2, "fall": 3, "jitter": 0.1}


def test_active_checks_take_a_server_out_after_fall_and_back_after_rise(origins, health_proxy):
    sick, well = origins("sick", "well")
    proxy = health_proxy([sick, well], health_check=CHECK, passive=NO_PASSIVE, retry={"tries": 1})
    wait_health(proxy, lambda s: all(v["checks"]["passed"] >= 1 for v in s["servers"]), "first probes")
    sick.set("status", 500)
    snap = wait_health(proxy, lambda s: s["servers"][0]["state"] == "down", "server down")
    sick_state = snap["servers"][0]
    assert sick_state["reasons"] == ["health_check"]
    assert sick_state["checks"]["failed"] >= 3 and sick_state["checks"]["transitions"] == 1
    assert sick_state["checks"]["last"] == "status 500"
    before = len(sick.paths("/"))
    assert {get(proxy).body for _ in range(4)} == {b"well"}
    assert len(sick.paths("/")) == before

    sick.set("ok")
    snap = wait_health(proxy, lambda s: s["servers"][0]["state"] == "up", "server back up")
    assert snap["servers"][0]["checks"]["transitions"] == 2
    assert {get(proxy).body for _ in range(2)} == {b"sick", b"well"}


def test_every_server_down_by_active_checks_answers_503_at_once(origins, health_proxy):
    servers = origins("a", "b")
    proxy = health_proxy(servers, health_check={"type": "tcp", "interval": "100ms", "timeout": "100ms",
                                                "fall": 1, "rise": 1})
    for origin in servers:
        origin.set("down")
    wait_health(proxy, lambda s: all(v["state"] == "down" for v in s["servers"]), "all servers down")
    started = time.monotonic()
    response = get(proxy)
    assert response.status == 503
    assert time.monotonic() - started < 1.0
    assert all(origin.paths("/") == [] for origin in servers)


def test_probes_are_jittered(origins, health_proxy):
    (origin,) = origins("probed")
    proxy = health_proxy([origin], health_check={"path": "/healthz", "interval": "60ms", "timeout": "50ms",
                                                 "jitter": 0.5})
    origin.wait_for(lambda: len(origin.times("/healthz")) >= 9, timeout=5.0, what="9 probes")
    times = origin.times("/healthz")[:9]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Each wait is 60ms +-50% (plus the probe itself): not a fixed period.
    # (Loose bounds: the machine may be busy; the spread is measured exactly
    # in tests/unit/test_health_active.py.)
    assert all(0.01 <= gap <= 1.0 for gap in gaps), gaps
    assert max(gaps) - min(gaps) > 0.01, gaps
    assert health(proxy)["servers"][0]["state"] == "up"


@pytest.fixture
def https_origin(tmp_path):
    from tests.integration.tls_origin import TlsOrigin
    from tests.integration.tlsfiles import Pki

    pki = Pki(tmp_path / "pki")
    cert = pki.issue("origin", "origin.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    origin = TlsOrigin(context)
    yield origin, pki
    origin.close()


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_https_servers_are_probed_over_tls_with_the_upstreams_context(https_origin, parser_impl, trusted):
    origin, pki = https_origin
    tls = {"ca_file": pki.ca_file, "server_name": "origin.test"} if trusted else {"server_name": "origin.test"}
    config = parse_config({
        "listener": [{"bind": "127.0.0.1:0"}],
        "route": [{"upstream": "app"}],
        "upstream": {"app": {"servers": [f"https://127.0.0.1:{origin.port}"], "tls": tls,
                             "health_check": {"path": "/hc", "interval": "200ms", "timeout": "200ms",
                                              "fall": 1, "rise": 1}}},
    })
    proxy = ProxyThread(config, parser_impl)
    try:
        if trusted:
            snap = wait_health(proxy, lambda s: s["servers"][0]["checks"]["passed"] >= 2, "two passed probes")
            assert snap["servers"][0]["state"] == "up"
            assert origin.handshakes >= 2 and not origin.failed
        else:
            snap = wait_health(proxy, lambda s: s["servers"][0]["state"] == "down", "server down")
            assert "certificate" in snap["servers"][0]["checks"]["last"]
            assert origin.handshakes == 0
    finally:
        proxy.stop()


def test_consistent_hashing_retries_to_the_keys_next_choice(origins, health_proxy):
    servers = origins("a", "b", "c")
    proxy = health_proxy(servers, balance="consistent_hash", hash_key="header:X-User", passive=NO_PASSIVE,
                         retry={"tries": 2})
    names = [s.name.encode() for s in servers]

    def as_user(user: str):
        with proxy.client() as client:
            # Two pipelined requests: each retry needs its own request's key
            # (a retry without it would go wherever rotation points).
            client.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-User: " + user.encode() + b"\r\n\r\n"
                        b"GET /next HTTP/1.1\r\nHost: x\r\nX-User: " + user.encode() + b"\r\n\r\n")
            return client.read_response(), client.read_response()

    first = {user: as_user(user)[0].body for user in ("alice", "bob", "carol", "dave", "erin")}
    broken = names.index(first["alice"])
    servers[broken].set("reset")

    def next_choice(user: str) -> bytes:
        group = proxy.proxy.ctx.groups[0]
        return names[group.pick_other(user.encode(), 1 << broken)]

    expected = {user: proxy.call(next_choice, user) for user in first if first[user] == names[broken]}
    for user, body in first.items():
        answers = as_user(user)
        if user in expected:
            assert [r.body for r in answers] == [expected[user]] * 2
        else:
            assert [r.body for r in answers] == [body] * 2  # keys elsewhere stay put
    assert health(proxy)["retries"] == 2 * len(expected)


def test_a_post_is_retried_after_a_refused_connect_but_never_once_sent(origins, health_proxy):
    # A refused connect sent nothing: any method may go elsewhere.  A reset
    # after the request went out is retried for idempotent methods only.
    down, up = origins("down", "up")
    down.set("down")
    proxy = health_proxy([down, up], passive=NO_PASSIVE, retry={"tries": 2})
    response = get(proxy, "/submit", "POST", b"x=1")
    assert (response.status, response.body) == (200, b"up")
    assert up.paths() == ["/submit"] and health(proxy)["retries"] == 1

    down.set("reset")
    response = get(proxy, "/again", "POST", b"x=2")  # round robin: "down" (now resetting) first
    assert response.status == 502
    assert "/again" not in up.paths() and health(proxy)["retries"] == 1


def test_a_request_without_host_names_the_server_it_is_retried_on(origins, health_proxy):
    # HTTP/1.0 without Host: the proxy fills in the server's address, and a
    # retry must carry the new server's, not the first one's.
    down, up = origins("down", "up")
    down.set("down")
    proxy = health_proxy([down, up], passive=NO_PASSIVE, retry={"tries": 2})
    with proxy.client() as client:
        client.send(b"GET /hostless HTTP/1.0\r\n\r\n")
        response = client.read_response()
    assert (response.status, response.body) == (200, b"up")
    assert health(proxy)["retries"] == 1
    hosts = [line for line in up.heads[0].split("\r\n") if line.lower().startswith("host:")]
    assert hosts == [f"Host: {up.address}"]
