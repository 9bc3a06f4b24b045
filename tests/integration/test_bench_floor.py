"""The bench's floors (bench/targets/floor.py) relay HTTP unread, both ways, over real sockets.

A floor that dropped or reordered bytes, or buffered without bound, would
make every figure measured against it wrong, so each one runs here between
a real client and a real origin.
"""

from __future__ import annotations

import hashlib

import pytest

from fastproxy.bench.launch import Process, free_port, wait_http
from fastproxy.bench.scenarios import SCENARIOS
from fastproxy.bench.targets import Setup, Unsupported
from fastproxy.bench.targets.floor import CRelayTarget, UvloopRelayTarget
from tests.integration.origin import expected_body, origin  # noqa: F401
from tests.integration.rawhttp import Client

BY_NAME = {s.name: s for s in SCENARIOS}
FLOORS = {"relay-uvloop": UvloopRelayTarget, "relay-c": CRelayTarget}


@pytest.fixture(params=sorted(FLOORS))
def relay(request, origin, tmp_path):  # noqa: F811
    target = FLOORS[request.param]()
    why = target.unavailable()
    if why:
        pytest.skip(why)
    port = free_port()
    argv = target.prepare(Setup(tmp_path, port, (origin.address,), BY_NAME["12B-c50"]))
    process = Process(target.name, argv, tmp_path / "relay.log", target.environment())
    try:
        wait_http(process, port, "/bytes/1")
        yield ("127.0.0.1", port)
    finally:
        process.stop()


def test_keep_alive_requests_reach_the_origin_as_sent(relay, origin):  # noqa: F811
    with Client(relay) as client:
        for i in range(3):
            resp = client.request("GET", f"/echo?n={i}", headers={"X-Sent": str(i)})
            assert resp.status == 200
            assert resp.header("x-origin") == "origin"
    requests = origin.wait_for_requests(4)[1:]  # after the start-up probe's
    assert [r.target for r in requests] == ["/echo?n=0", "/echo?n=1", "/echo?n=2"]
    assert [r.index for r in requests] == [0, 1, 2]
    assert len({r.connection_id for r in requests}) == 1  # one upstream connection per client
    # Unread: nothing added, nothing removed.
    assert [name.lower() for name, _ in requests[0].headers] == [b"host", b"x-sent"]


def test_large_bodies_pass_whole_both_ways(relay, origin):  # noqa: F811
    size = 8 * 1024 * 1024  # far past the relays' 256 KiB reads and the socket buffers
    with Client(relay) as client:
        resp = client.request("GET", f"/bytes/{size}")
        assert resp.status == 200
        assert resp.body == expected_body(size)
        upload = expected_body(size)
        resp = client.request("POST", "/echo", body=upload)
        assert resp.status == 200
    received = origin.wait_for_requests(3)[-1]
    assert received.body_length == size
    assert received.body_sha256 == hashlib.sha256(upload).hexdigest()


@pytest.mark.parametrize("target", sorted(FLOORS))
@pytest.mark.parametrize("scenario", ["chash-12B-c50", "tls-12B-c50"])
def test_floors_refuse_what_a_relay_cannot_do(tmp_path, target, scenario):
    origins = (("127.0.0.1", 9000), ("127.0.0.1", 9001))[: BY_NAME[scenario].origins]
    with pytest.raises(Unsupported, match="a relay only forwards plain TCP to one origin"):
        FLOORS[target]().prepare(Setup(tmp_path, 18080, origins, BY_NAME[scenario]))
