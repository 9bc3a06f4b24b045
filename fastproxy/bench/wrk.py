"""Running wrk and reading what it measured.

wrk is the load generator: a real, widely used tool, never a home-made one.
Each run gets a Lua script whose ``done()`` prints one line,
``FASTPROXY-BENCH-JSON {...}``, with wrk's own summary and latency
percentiles in microseconds.  The ``--latency`` text that wrk prints anyway
is parsed too, as the fallback when the JSON line is missing (a wrk built
without Lua) and as a cross-check in the tests.

A scenario that spreads requests over several paths (the consistent-hash
route) pre-builds them in ``init()``, as wrk's scripting guide advises, so
the per-request cost stays in wrk's C code.

A scenario that sends a request body sets ``wrk.method``, ``wrk.body`` and
a Content-Type at the top of the script: wrk then builds its static request
once (with a Content-Length) and makes no Lua call per request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

__all__ = [
    "JSON_MARKER",
    "WrkError",
    "WrkResult",
    "command",
    "lua_script",
    "parse_duration_us",
    "parse_output",
]

JSON_MARKER = "FASTPROXY-BENCH-JSON "
PERCENTILES = (50.0, 75.0, 90.0, 99.0, 99.9)


class WrkError(RuntimeError):
    pass


@dataclass(slots=True)
class WrkResult:
    """One wrk run.  Times are microseconds; ``latency_us`` maps "p50", "p99", ... to values."""

    requests: int
    duration_us: float
    bytes: int
    errors: dict[str, int]
    latency_us: dict[str, float] = field(default_factory=dict)
    latency_mean_us: float = 0.0
    latency_max_us: float = 0.0
    source: str = "json"  # "json" (the done() line) or "text" (the --latency report)

    @property
    def requests_per_s(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["requests_per_s"] = self.requests_per_s
        return data


_DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  local points = {}
  for _, p in ipairs({PERCENTILES}) do
    points[#points + 1] = string.format('"p%s":%.1f', (tostring(p):gsub("%.", "_")), latency:percentile(p))
  end
  io.write(string.format('MARKER{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_mean_us":%.1f,"latency_max_us":%.0f,"latency_us":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, table.concat(points, ",")))
end
""".replace("MARKER", JSON_MARKER).replace("PERCENTILES", ", ".join(f"{p:g}" for p in PERCENTILES))

_PATHS_LUA = """
local reqs, i = {}, 0
function init(args)
  for k, p in ipairs(paths) do reqs[k] = wrk.format(nil, p) end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"""


_BODY_LUA = """
wrk.method = "{method}"
wrk.body = string.rep("x", {size})
wrk.headers["Content-Type"] = "application/octet-stream"
"""


def lua_script(paths: Sequence[str] = (), *, method: str = "GET", body_bytes: int = 0) -> str:
    """The Lua script for one run: the JSON ``done()``, and ``request()`` cycling over ``paths``.

    With fewer than two paths wrk sends its static request (no ``request()``
    function, so no Lua call per request).  ``method`` other than GET or a
    ``body_bytes`` above 0 set wrk's request method and a body of that many
    bytes, which wrk sends with a Content-Length.  Raises ValueError for a
    path, method or size that does not fit in the script.
    """
    if not method.isascii() or not method.isalpha() or not method.isupper():
        raise ValueError(f"not a plain request method: {method!r}")
    if not isinstance(body_bytes, int) or body_bytes < 0:
        raise ValueError(f"a request body cannot have {body_bytes} bytes")
    # GET with no body keeps wrk's default request: the script stays as it always was.
    head = "" if method == "GET" and body_bytes == 0 else _BODY_LUA.format(method=method, size=body_bytes)
    if len(paths) < 2:
        return head + _DONE_LUA
    for p in paths:
        if not p.isascii() or not p.startswith("/") or any(c.isspace() or c in '\\"' for c in p):
            raise ValueError(f"not a plain request path: {p!r}")
    listed = ", ".join(f'"{p}"' for p in paths)
    return head + f"local paths = {{{listed}}}\n" + _PATHS_LUA + _DONE_LUA


def _pkey(p: float) -> str:
    return "p" + f"{p:g}".replace(".", "_")


def command(
    url: str,
    *,
    connections: int,
    duration_s: float,
    threads: int = 1,
    script: str | None = None,
    timeout_s: float = 5.0,
) -> list[str]:
    """The wrk argv for one run; ``script`` is the path of a Lua file."""
    if connections < 1 or threads < 1:
        raise ValueError("connections and threads must be at least 1")
    seconds = max(1, round(duration_s))  # wrk takes whole seconds
    argv = [
        "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "--latency",
    ]
    if script is not None:
        argv.append(f"--script={script}")
    argv.append(url)
    return argv


# -- parsing ------------------------------------------------------------------

_UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}
_TIME = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)$")
_LATENCY_LINE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)%\s+(\S+)\s*$")
_LATENCY_SUMMARY = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%\s*$")
_TOTALS = re.compile(r"^\s*([0-9]+) requests in ([0-9.]+\w+), ([0-9.]+)(B|KB|MB|GB|TB) read\s*$")
_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)\s*$"
)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses: ([0-9]+)\s*$")
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_duration_us(text: str) -> float:
    """A wrk time such as "812.00us", "1.23ms", "2.00s", "1.00m" in microseconds."""
    m = _TIME.match(text.strip())
    if m is None:
        raise WrkError(f"not a wrk time: {text!r}")
    return float(m.group(1)) * _UNIT_US[m.group(2)]


def parse_output(stdout: str) -> WrkResult:
    """What one wrk run printed, as a WrkResult; WrkError if it holds no result.

    The ``done()`` JSON line wins when present; otherwise the ``--latency``
    text report is read (its byte count is rounded by wrk to two decimals).
    """
    for line in stdout.splitlines():
        if line.startswith(JSON_MARKER):
            return _from_json(line[len(JSON_MARKER) :])
    return _from_text(stdout)


def _from_json(text: str) -> WrkResult:
    try:
        data = json.loads(text)
        return WrkResult(
            requests=int(data["requests"]),
            duration_us=float(data["duration_us"]),
            bytes=int(data["bytes"]),
            errors={k: int(v) for k, v in data["errors"].items()},
            latency_us={k: float(v) for k, v in data["latency_us"].items()},
            latency_mean_us=float(data["latency_mean_us"]),
            latency_max_us=float(data["latency_max_us"]),
            source="json",
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WrkError(f"wrk's done() line is not the expected JSON: {exc}: {text[:200]!r}") from None


def _from_text(stdout: str) -> WrkResult:
    totals = latency_summary = None
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}
    points: dict[str, float] = {}
    in_distribution = False
    for line in stdout.splitlines():
        if "Latency Distribution" in line:
            in_distribution = True
            continue
        if in_distribution:
            m = _LATENCY_LINE.match(line)
            if m:
                points[_pkey(float(m.group(1)))] = parse_duration_us(m.group(2))
                continue
            in_distribution = False
        if (m := _LATENCY_SUMMARY.match(line)) is not None:
            latency_summary = m
        elif (m := _TOTALS.match(line)) is not None:
            totals = m
        elif (m := _SOCKET_ERRORS.match(line)) is not None:
            errors.update(
                connect=int(m.group(1)), read=int(m.group(2)), write=int(m.group(3)), timeout=int(m.group(4))
            )
        elif (m := _NON_2XX.match(line)) is not None:
            # wrk's text counts every non-2xx/3xx; its done() counts status > 399: near enough.
            errors["status"] = int(m.group(1))
    if totals is None:
        first = stdout.strip().splitlines()[:3]
        raise WrkError(f"wrk printed no result (is the URL reachable?): {first!r}")
    mean = maximum = 0.0
    if latency_summary is not None:
        mean = parse_duration_us(latency_summary.group(1))
        maximum = parse_duration_us(latency_summary.group(3))
    return WrkResult(
        requests=int(totals.group(1)),
        duration_us=parse_duration_us(totals.group(2)),
        bytes=round(float(totals.group(3)) * _SIZE[totals.group(4)]),
        errors=errors,
        latency_us=points,
        latency_mean_us=mean,
        latency_max_us=maximum,
        source="text",
    )
