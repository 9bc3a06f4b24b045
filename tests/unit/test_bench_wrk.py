"""fastproxy.bench.wrk: wrk's argv, its Lua script, and parsing what it prints."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from fastproxy.bench import wrk
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
