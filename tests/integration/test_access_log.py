"""The access log through ``fastproxy run``: one line per request in both
formats, with the status, bytes, route and request id of what was sent, all
of it written by a graceful stop; SIGUSR1 reopens the file after a rename
and no line is lost."""

from __future__ import annotations

import json
import re
import signal
import socket

import pytest

from tests.integration.origin import Origin
from tests.integration.rawhttp import Client


@pytest.fixture
def origin():
    made = Origin(name="a", hash_bodies=False)
    yield made
    made.close()
    assert not made.errors, made.errors


def config(origin: Origin, fmt: str, workers: int = 1) -> str:
    return f"""
[server]
workers = {workers}
[[listener]]
bind = "127.0.0.1:0"
[access_log]
path = "access.log"
format = "{fmt}"
[[route]]
path_prefix = "/api/"
strip_prefix = true
upstream = "main"
[upstream.main]
servers = ["127.0.0.1:{origin.port}"]
"""


def exchange(port: int, raw: bytes) -> bytes:
    """Sends ``raw`` (which asks to close) and reads everything until the proxy closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                return received
            received += data


def request_id(response: bytes) -> str:
    """The X-Request-ID the origin received (its /echo answer lists the request's headers)."""
    return dict(json.loads(response.split(b"\r\n\r\n", 1)[1])["headers"])["X-Request-ID"]


GET = b"GET /api/echo?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
POST = b"POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
MISS = b"GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def send_three(port: int) -> tuple[bytes, bytes, bytes]:
    return exchange(port, GET), exchange(port, POST), exchange(port, MISS)


def test_json_lines_match_the_requests(run_proxy, origin, tmp_path):
    proxy = run_proxy(config(origin, "json"))
    got, posted, missed = send_three(proxy.port)
    assert proxy.stop() == 0  # a graceful stop writes what is buffered
    lines = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("GET", "/api/echo?x=1", 200), ("POST", "/api/echo", 200), ("GET", "/nowhere", 404)]
    first, second, third = lines
    assert [x["bytes_in"] for x in lines] == [len(GET), len(POST), len(MISS)]
    assert third["bytes_out"] == len(missed)  # the proxy's own answer, exactly
    assert first["bytes_out"] > len(got.split(b"\r\n\r\n", 1)[1])
    assert first["request_id"] == request_id(got) and second["request_id"] == request_id(posted)
    assert (first["route"], first["upstream"], first["server"]) == ("0", "main", f"127.0.0.1:{origin.port}")
    assert (third["route"], third["server"], third["upstream_time"]) == (None, None, None)
    assert 0 <= first["upstream_time"] <= first["duration"]
    assert first["client"] == "127.0.0.1" and first["protocol"] == "HTTP/1.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["time"])


COMBINED = re.compile(
    r'(?P<client>\S+) - - \[(?P<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d+) (?P<bytes_out>\d+) "-" "-" bytes_in=(?P<bytes_in>\d+) duration=(?P<duration>[\d.]+) '
    r"upstream=(?P<upstream>\S+) server=(?P<server>\S+) upstream_time=(?P<upstream_time>\S+) "
    r"route=(?P<route>\S+) request_id=(?P<request_id>\S+)")


def test_combined_lines_match_the_requests(run_proxy, origin, tmp_path):
    proxy = run_proxy(config(origin, "combined"))
    got, posted, missed = send_three(proxy.port)
    assert proxy.stop() == 0
    lines = [COMBINED.fullmatch(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert all(lines), (tmp_path / "access.log").read_text()
    assert [(m["request"], m["status"]) for m in lines] == [
        ("GET /api/echo?x=1 HTTP/1.1", "200"), ("POST /api/echo HTTP/1.1", "200"), ("GET /nowhere HTTP/1.1", "404")]
    assert [int(m["bytes_in"]) for m in lines] == [len(GET), len(POST), len(MISS)]
    assert int(lines[2]["bytes_out"]) == len(missed)
    assert lines[0]["request_id"] == request_id(got) and lines[1]["request_id"] == request_id(posted)
    assert (lines[0]["route"], lines[0]["upstream"], lines[0]["server"]) == ("0", "main", f"127.0.0.1:{origin.port}")
    assert (lines[2]["route"], lines[2]["server"], lines[2]["upstream_time"]) == ("-", "-", "-")


def test_sigusr1_reopens_after_a_rename_and_loses_nothing(run_proxy, origin, tmp_path):
    proxy = run_proxy(config(origin, "json", workers=2))
    for _ in range(6):
        assert exchange(proxy.port, GET).startswith(b"HTTP/1.1 200 ")
    (tmp_path / "access.log").rename(tmp_path / "access.log.1")
    mark = proxy.mark()
    proxy.send(signal.SIGUSR1)
    for pid in proxy.workers().values():
        proxy.wait_for(rf"\[{pid}\]: access log reopened", after=mark)
    for _ in range(4):
        assert exchange(proxy.port, GET).startswith(b"HTTP/1.1 200 ")
    assert proxy.stop() == 0
    old = (tmp_path / "access.log.1").read_text().splitlines()
    new = (tmp_path / "access.log").read_text().splitlines()
    assert (len(old), len(new)) == (6, 4)
    assert all(json.loads(line)["status"] == 200 for line in old + new)


def test_a_graceful_stop_logs_the_request_it_finished(run_proxy, origin, tmp_path):
    """A request still in flight when SIGTERM comes is finished and logged;
    a SIGUSR1 meanwhile does not turn the stop into an immediate one."""
    proxy = run_proxy(config(origin, "json"))
    with Client(("127.0.0.1", proxy.port)) as client:
        client.send(b"GET /api/gate/slow HTTP/1.1\r\nHost: a\r\n\r\n")
        assert origin.gate_reached("slow").wait(10)
        proxy.send(signal.SIGTERM)
        proxy.wait_for(r"draining: 1 client connections open")
        mark = proxy.mark()
        proxy.send(signal.SIGUSR1)
        proxy.wait_for(r"reopening the access logs", after=mark)
        origin.release("slow")
        response = client.read_response()
        assert response.status == 200 and response.body.endswith(b"part 2\n")
    assert proxy.stop() == 0
    [line] = [json.loads(x) for x in (tmp_path / "access.log").read_text().splitlines()]
    assert (line["path"], line["status"], line["bytes_out"] > 0) == ("/api/gate/slow", 200, True)
