"""accesslog.py: the two line formats, buffering (timer, size, close) and
reopening, on a real file and a real (not running) event loop."""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest

from fastproxy import accesslog
from fastproxy.accesslog import AccessLog
from fastproxy.accounting import Exchange
from fastproxy.config.schema import AccessLogConfig


class Peer:
    def __init__(self, request_id: bytes | None = b"0123abcd") -> None:
        self.client = "203.0.113.9"
        self.request_id = request_id


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def make(tmp_path, loop, fmt: str = "json") -> AccessLog:
    return AccessLog(AccessLogConfig(path=str(tmp_path / "access.log"), format=fmt), loop,
                     [("0", "main"), ("1", "static")], [("main", "127.0.0.1:9001"), ("static", "[::1]:80")])


def exchange(status=200, route=0, server=0, bytes_in=80, bytes_out=1234, upstream_time=0.002, minor=1):
    x = Exchange()
    x.status, x.route, x.server, x.bytes_in, x.bytes_out = status, route, server, bytes_in, bytes_out
    x.upstream_time, x.minor = upstream_time, minor
    return x


def lines(tmp_path) -> list[str]:
    return (tmp_path / "access.log").read_text().splitlines()


def test_json_fields(tmp_path, loop):
    log = make(tmp_path, loop)
    log.record(exchange(), 0.0031, Peer(), b"GET", b"/a?b=c")
    log.record(exchange(status=404, route=-1, server=-1, upstream_time=-1.0, minor=0), 0.0001, Peer(None),
               b"GET", b"/x\xff")
    log.record(exchange(status=503, route=1, server=-1, upstream_time=-1.0), 0.0001, Peer(None), b"PUT", b"/s")
    log.close()
    first, second, third = (json.loads(line) for line in lines(tmp_path))
    assert first == {"time": first["time"], "client": "203.0.113.9", "method": "GET", "path": "/a?b=c",
                     "status": 200, "bytes_in": 80, "bytes_out": 1234, "duration": 0.0031, "upstream": "main",
                     "server": "127.0.0.1:9001", "upstream_time": 0.002, "route": "0", "request_id": "0123abcd",
                     "protocol": "HTTP/1.1"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])
    assert (second["route"], second["upstream"], second["server"], second["upstream_time"]) == (None, None, None,
                                                                                                 None)
    assert second["path"] == "/x\u00ff" and second["protocol"] == "HTTP/1.0"
    assert (third["route"], third["upstream"], third["server"]) == ("1", "static", None)


def test_combined_format(tmp_path, loop):
    log = make(tmp_path, loop, "combined")
    log.record(exchange(server=1), 0.5, Peer(), b"GET", b'/q"x')
    log.record(exchange(status=0, route=-1, server=-1, upstream_time=-1.0), 0.1, None, None, None)
    log.close()
    first, second = lines(tmp_path)
    assert re.fullmatch(
        r'203\.0\.113\.9 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /q\\"x HTTP/1\.1" 200 1234 "-" "-" '
        r"bytes_in=80 duration=0\.500000 upstream=static server=\[::1\]:80 upstream_time=0\.002000 route=0 "
        r"request_id=0123abcd", first)
    assert second.startswith('- - - [') and '"-" 0 1234 "-" "-"' in second and "route=- request_id=-" in second


def test_nothing_is_written_until_a_flush(tmp_path, loop):
    log = make(tmp_path, loop)
    log.record(exchange(), 0.1, Peer(), b"GET", b"/")
    assert lines(tmp_path) == []
    assert log.timer is not None  # the flush timer is armed by the first record
    log.flush()
    assert len(lines(tmp_path)) == 1 and log.timer is None
    log.close()


def test_the_timer_flushes(tmp_path, loop):
    log = make(tmp_path, loop)
    log.record(exchange(), 0.1, Peer(), b"GET", b"/")
    done = loop.create_future()
    loop.call_later(accesslog.FLUSH_INTERVAL * 2, done.set_result, None)
    loop.run_until_complete(done)
    assert len(lines(tmp_path)) == 1
    log.close()


def test_a_full_buffer_flushes_soon(tmp_path, loop):
    log = make(tmp_path, loop)
    for _ in range(accesslog.FLUSH_RECORDS):
        log.record(exchange(), 0.1, Peer(), b"GET", b"/")
    assert log.soon
    loop.run_until_complete(asyncio.sleep(0))  # one loop turn: the call_soon
    assert len(lines(tmp_path)) == accesslog.FLUSH_RECORDS
    log.close()


def test_reopen_after_a_rename(tmp_path, loop):
    log = make(tmp_path, loop)
    log.record(exchange(), 0.1, Peer(), b"GET", b"/old")
    os.rename(tmp_path / "access.log", tmp_path / "access.log.1")
    log.reopen()
    log.record(exchange(), 0.1, Peer(), b"GET", b"/new")
    log.close()
    assert [json.loads(x)["path"] for x in (tmp_path / "access.log.1").read_text().splitlines()] == ["/old"]
    assert [json.loads(x)["path"] for x in lines(tmp_path)] == ["/new"]


def test_reopen_failure_keeps_the_old_file(tmp_path, loop, caplog):
    log = make(tmp_path, loop)
    os.rename(tmp_path / "access.log", tmp_path / "access.log.1")
    os.mkdir(tmp_path / "access.log")  # the path cannot be opened for writing now
    log.reopen()
    log.record(exchange(), 0.1, Peer(), b"GET", b"/still")
    log.close()
    assert "cannot reopen" in caplog.text
    assert len((tmp_path / "access.log.1").read_text().splitlines()) == 1


def test_an_unwritable_path_fails_at_open(tmp_path, loop):
    with pytest.raises(OSError):
        AccessLog(AccessLogConfig(path=str(tmp_path / "missing" / "a.log")), loop, [], [])
