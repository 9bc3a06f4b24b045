"""control.py: the worker's side of the admin drain switch."""

from __future__ import annotations

from fastproxy import parser
from fastproxy.config import parse_config
from fastproxy.context import ProxyContext
from fastproxy.control import ControlChannel, set_admin_out
from fastproxy.metrics import worker_snapshot

CONFIG = parse_config({
    "listener": [{"bind": "127.0.0.1:0"}],
    "route": [{"upstream": "main"}],
    "upstream": {"main": {"servers": ["127.0.0.1:9001", "127.0.0.1:9002"]},
                 "spare": {"servers": ["127.0.0.1:9003"]}},
})


def context() -> ProxyContext:
    return ProxyContext.from_config(CONFIG, None, parser)


def test_drain_and_enable_by_address():
    ctx = context()
    group = ctx.router.routes[0].upstream
    assert set_admin_out(ctx, CONFIG, "main", "127.0.0.1:9002", True)
    assert group.out_reasons(1) == ["drained"] and group.out_reasons(0) == []
    assert worker_snapshot(ctx, CONFIG)["state"]["main"]["127.0.0.1:9002"] == {
        "in_flight": 0, "out": ["drained"], "up": 0, "ejected": 0, "check_down": 0}
    assert set_admin_out(ctx, CONFIG, "main", "http://127.0.0.1:9002", False)
    assert group.out_reasons(1) == []


def test_unknown_names_are_not_found():
    ctx = context()
    assert not set_admin_out(ctx, CONFIG, "nope", "127.0.0.1:9001", True)
    assert not set_admin_out(ctx, CONFIG, "main", "127.0.0.1:9003", True)
    assert set_admin_out(ctx, CONFIG, "spare", "127.0.0.1:9003", True)  # no route uses it: nothing to tell


def test_commands():
    ctx = context()
    channel = ControlChannel.__new__(ControlChannel)
    channel.ctx, channel.config = ctx, CONFIG
    assert channel.handle({"seq": 4, "op": "set_out", "upstream": "main", "server": "127.0.0.1:9001",
                           "out": True}) == {"seq": 4, "found": True}
    reply = channel.handle({"seq": 5, "op": "snapshot"})
    assert reply["seq"] == 5 and set(reply["snapshot"]) == {"counters", "totals", "routes", "servers", "upstreams",
                                                             "gauges", "state"}
    assert channel.handle({"seq": 6, "op": "dance"}) == {"seq": 6, "error": "unknown op 'dance'"}
