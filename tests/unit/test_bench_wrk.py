"""fastproxy.bench.wrk: wrk's argv, its Lua script, and parsing what it prints."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from fastproxy.bench import wrk
from fastproxy.bench.scenarios import CHASH_PATHS, SCENARIOS
from fastproxy.bench.wrk import JSON_MARKER, WrkError, command, lua_script, parse_duration_us, parse_output

# What wrk 4.1 printed for a real run with --latency (and no Lua done() line).
TEXT_OUTPUT = """\
Running 2s test @ http://127.0.0.1:40711/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    1.98ms  34.11ms   92.75%
    Req/Sec    31.07k     2.06k   33.69k    76.19%
  Latency Distribution
     50%  779.00us
     75%    1.41ms
     90%    3.01ms
     99%    8.71ms
  64530 requests in 2.10s, 10.71MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  30728.60
Transfer/sec:      5.10MB
"""

JSON_LINE = (
    JSON_MARKER + '{"requests":64530,"duration_us":2100123,"bytes":11230456,'
    '"errors":{"connect":0,"read":3,"write":1,"status":7,"timeout":2},'
    '"latency_mean_us":1520.4,"latency_max_us":34110,'
    '"latency_us":{"p50":779.0,"p75":1410.0,"p90":3010.0,"p99":8710.0,"p99_9":20112.0}}'
)


def test_text_report_is_read_in_microseconds():
    result = parse_output(TEXT_OUTPUT)
    assert result.source == "text"
    assert result.requests == 64530
    assert result.duration_us == pytest.approx(2.10e6)
    assert result.bytes == round(10.71 * 1024 * 1024)
    assert result.latency_us == {"p50": 779.0, "p75": 1410.0, "p90": 3010.0, "p99": 8710.0}
    assert result.latency_mean_us == pytest.approx(1520.0)
    assert result.latency_max_us == pytest.approx(34110.0)
    assert result.errors == {"connect": 0, "read": 3, "write": 1, "status": 7, "timeout": 2}
    assert result.error_count == 13
    assert result.requests_per_s == pytest.approx(64530 / 2.10)


def test_json_line_wins_over_the_text():
    result = parse_output(TEXT_OUTPUT + JSON_LINE + "\n")
    assert result.source == "json"
    assert result.duration_us == 2100123
    assert result.bytes == 11230456
    assert result.latency_us["p99_9"] == 20112.0
    assert result.errors["status"] == 7
    assert result.as_dict()["requests_per_s"] == pytest.approx(64530 / 2.100123)


def test_text_without_errors_has_zero_errors():
    text = "\n".join(
        line for line in TEXT_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    assert parse_output(text).error_count == 0


@pytest.mark.parametrize(
    "output",
    [
        "",
        "unable to connect to 127.0.0.1:1 Connection refused\n",
        JSON_MARKER + "{not json}\n",
        JSON_MARKER + '{"requests": 1}\n',
    ],
)
def test_output_without_a_result_raises(output):
    with pytest.raises(WrkError):
        parse_output(output)


@pytest.mark.parametrize(
    ("text", "us"),
    [("812.00us", 812.0), ("1.23ms", 1230.0), ("2.00s", 2e6), ("1.50m", 90e6), ("0.50h", 1800e6)],
)
def test_durations(text, us):
    assert parse_duration_us(text) == pytest.approx(us)


@pytest.mark.parametrize("text", ["", "12", "1.2 ms", "fast", "-1ms"])
def test_bad_durations(text):
    with pytest.raises(WrkError):
        parse_duration_us(text)


def test_command_is_bounded_and_asks_for_latency():
    argv = command("http://127.0.0.1:1/x", connections=50, duration_s=2.4, threads=4, script="/s.lua")
    assert argv[0] == "wrk"
    assert "--duration=2s" in argv
    assert "--connections=50" in argv
    assert "--threads=4" in argv
    assert "--latency" in argv
    assert "--script=/s.lua" in argv
    assert any(a.startswith("--timeout=") for a in argv)
    assert argv[-1] == "http://127.0.0.1:1/x"


def test_command_never_has_more_threads_than_connections():
    assert "--threads=2" in command("http://127.0.0.1:1/", connections=2, duration_s=1, threads=8)
    with pytest.raises(ValueError):
        command("http://127.0.0.1:1/", connections=0, duration_s=1)


def test_script_without_paths_keeps_the_static_request():
    script = lua_script()
    assert "function done(" in script
    assert "function request(" not in script
    assert lua_script(["/only"]) == script


def test_script_with_paths_cycles_over_them():
    script = lua_script(["/?key=1", "/?key=2"])
    assert 'local paths = {"/?key=1", "/?key=2"}' in script
    assert "function request(" in script


@pytest.mark.parametrize("path", ["no-slash", "/with space", '/quote"', "/caf\u00e9"])
def test_script_refuses_paths_that_would_break_it(path):
    with pytest.raises(ValueError):
        lua_script(["/ok", path])


def test_script_with_a_body_sets_wrk_static_request():
    script = lua_script(["/"], method="POST", body_bytes=1024 * 1024)
    assert 'wrk.method = "POST"' in script
    assert 'wrk.body = string.rep("x", 1048576)' in script
    assert 'wrk.headers["Content-Type"] = "application/octet-stream"' in script
    assert "function request(" not in script  # wrk's static request: no Lua call per request
    assert script.endswith(lua_script())


def test_script_with_a_body_and_paths_sets_the_body_before_init():
    script = lua_script(["/a", "/b"], method="PUT", body_bytes=5)
    assert script.index('wrk.body = string.rep("x", 5)') < script.index("function init(")


# The scripts of the scenarios without a body, as they were before request bodies
# existed: their figures must stay comparable with earlier results.
GET_SCRIPT_SHA256 = {
    (): "1aa62e40b6fcf9d1a6214e29fe7a70e51e2bc0c33190fafcaa9a7c3f7d33b020",
    CHASH_PATHS: "41fd2bbce1d555fd21e00ac4cc3a1658397bc613491b6d64bf0143d7c50081f2",
}


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if not s.request_body_bytes], ids=lambda s: s.name)
def test_scripts_without_a_body_are_unchanged(scenario):
    script = lua_script(scenario.paths, method=scenario.method, body_bytes=scenario.request_body_bytes)
    expected = GET_SCRIPT_SHA256[scenario.paths if len(scenario.paths) > 1 else ()]
    assert hashlib.sha256(script.encode()).hexdigest() == expected


@pytest.mark.parametrize(
    ("method", "body_bytes"), [("post", 1), ('PO"ST', 1), ("", 1), ("GET", -1), ("POST", 1.5)]
)
def test_script_refuses_a_method_or_size_that_would_break_it(method, body_bytes):
    with pytest.raises(ValueError):
        lua_script(["/"], method=method, body_bytes=body_bytes)


@pytest.fixture
def origin_port():
    """The port of a fastproxy.origin process on 127.0.0.1, stopped after the test."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastproxy.origin", "--port", "0", "--name", "t"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # "origin t listening on http://127.0.0.1:PORT", once it accepts
        assert "listening on" in line, line
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_done_script_runs_in_wrk_and_agrees_with_its_text(tmp_path, origin_port):
    script = tmp_path / "done.lua"
    script.write_text(lua_script(["/a", "/"]))
    out = subprocess.run(
        command(f"http://127.0.0.1:{origin_port}/", connections=2, duration_s=1, script=str(script)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith(JSON_MARKER))
    data = json.loads(line[len(JSON_MARKER) :])
    assert set(data["latency_us"]) == {wrk._pkey(p) for p in wrk.PERCENTILES}
    from_json = parse_output(out.stdout)
    from_text = parse_output(out.stdout.replace(JSON_MARKER, "ignored "))
    assert (from_json.source, from_text.source) == ("json", "text")
    assert from_json.requests == from_text.requests > 0
    # "/a" is a 404 at the origin: half the requests count as status errors.
    assert from_json.errors["status"] == pytest.approx(from_json.requests / 2, abs=2)
    assert from_text.errors["status"] == from_json.errors["status"]
    assert from_json.latency_us["p50"] == pytest.approx(from_text.latency_us["p50"], rel=0.01, abs=1)


class RecordingOrigin:
    """An HTTP/1.1 server on 127.0.0.1 that reads each request's body by its
    Content-Length, records (head, body length) and answers 200 with keep-alive."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[tuple[bytes, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                self._exchange(conn)
            except OSError:  # wrk resets its connections when its time is up
                pass

    def _exchange(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buf = b""
        while not self.stop.is_set():
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                buf += chunk
            body, buf = buf[:length], buf[length:]
            self.requests.append((head, len(body)))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        self.stop.set()
        deadline = time.monotonic() + 10
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.listener.close()
        assert not any(t.is_alive() for t in self.threads), "a server thread outlived close()"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_body_script_makes_wrk_send_the_whole_body_with_its_length(tmp_path):
    script = tmp_path / "upload.lua"
    script.write_text(lua_script(["/"], method="POST", body_bytes=300_000))
    origin = RecordingOrigin()
    try:
        out = subprocess.run(
            command(f"http://127.0.0.1:{origin.port}/", connections=2, duration_s=1, script=str(script)),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        origin.close()
    assert out.returncode == 0, out.stderr
    result = parse_output(out.stdout)
    assert result.source == "json"
    assert result.requests > 0 and result.error_count == 0
    assert len(origin.requests) >= result.requests
    for head, body_length in origin.requests:
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST / HTTP/1.1"
        fields = {n.strip().lower(): v.strip() for n, _, v in (line.partition(b":") for line in lines[1:])}
        assert fields[b"content-length"] == b"300000"
        assert fields[b"content-type"] == b"application/octet-stream"
        assert body_length == 300_000
