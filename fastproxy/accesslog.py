"""The access log: one line per request, JSON (orjson) or the combined format.

The data path never formats nor writes: at the end of each exchange
accounting.py hands :meth:`AccessLog.record` the facts as one tuple of
values it already holds.  Lines are formatted and written off the hot
path, by a timer FLUSH_INTERVAL after the first unwritten record, or soon
after FLUSH_RECORDS of them pile up (about 64 KiB of lines), and by
``close`` (a graceful stop loses nothing).  A file is opened with O_APPEND
and each flush is one write, so the workers sharing it never interleave
within a line.  ``reopen`` (SIGUSR1, for log rotation) flushes, then opens
the path again: lines go to the new file from then on.

Fields: time (UTC), client address (after trusted proxies), method, path
(the target as received), status (0: no answer, the client went away),
bytes in (read from the client) and out (the response as received from the
upstream, or the proxy's own answer), total time, upstream server and its
time (none for the proxy's own answers), route (its index in the config),
request id.  The combined format keeps its usual first fields, with "-" for
referer and user agent (the data path does not keep them), then the rest as
key=value pairs.
"""

from __future__ import annotations

import logging
import os
import time

import orjson

__all__ = ["AccessLog"]

log = logging.getLogger("fastproxy.accesslog")

FLUSH_INTERVAL = 0.2
FLUSH_RECORDS = 256
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Writes ``config`` (schema.AccessLogConfig) lines for one process.

    ``routes``: the label of each route index (its upstream's name too);
    ``servers``: (upstream, address) per server index (ProxyContext.pools).
    Opening the file may raise OSError.
    """

    def __init__(self, config, loop, routes: list[tuple[str, str]], servers: list[tuple[str, str]]) -> None:
        self.path = config.path
        self.combined = config.format == "combined"
        self.loop = loop
        self.routes = routes
        self.servers = servers
        self.records: list[tuple] = []
        self.timer = None
        self.soon = False
        self.failed = False
        self.fd = 1 if self.path == "-" else self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def record(self, x, elapsed: float, peer, method, target) -> None:
        """One finished exchange (accounting.Exchange ``x``, before its reset)."""
        self.records.append((time.time(), peer.client if peer is not None else "-", method, target, x.status,
                             x.bytes_in, x.bytes_out, elapsed, x.server, x.upstream_time, x.route,
                             peer.request_id if peer is not None else None, x.minor))
        if self.timer is None:
            self.timer = self.loop.call_later(FLUSH_INTERVAL, self.flush)
        if len(self.records) >= FLUSH_RECORDS and not self.soon:
            self.soon = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Writes every record held, as one write."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.soon = False
        records, self.records = self.records, []
        if not records or self.fd < 0:
            return
        fmt = self._combined if self.combined else self._json
        data = b"".join([fmt(r) for r in records])
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
            self.failed = False
        except OSError as exc:
            if not self.failed:  # once per run of failures, not per flush
                log.error("access log %s: %s; lines are lost until it works again", self.path, exc)
            self.failed = True

    def reopen(self) -> None:
        """Flushes, then opens the path again (after a rotation renamed it)."""
        self.flush()
        if self.path == "-":
            return
        try:
            fd = self._open()
        except OSError as exc:
            log.error("access log %s: cannot reopen: %s; still writing to the old file", self.path, exc)
            return
        old, self.fd = self.fd, fd
        if old >= 0:
            os.close(old)
        log.info("access log reopened: %s", self.path)

    def close(self) -> None:
        self.flush()
        if self.fd > 2:
            os.close(self.fd)
        self.fd = -1

    # -- formats -------------------------------------------------------------------

    def _fields(self, r: tuple) -> dict:
        (when, client, method, target, status, bytes_in, bytes_out, elapsed, server, upstream_time, route,
         request_id, minor) = r
        upstream, address = self.servers[server] if 0 <= server < len(self.servers) else (None, None)
        route_label = self.routes[route][0] if 0 <= route < len(self.routes) else None
        if upstream is None and route_label is not None:
            upstream = self.routes[route][1]  # answered by the proxy itself (no server picked)
        return {
            "time": _iso_time(when),
            "client": client,
            "method": method.decode("latin-1") if method is not None else None,
            "path": target.decode("latin-1") if target is not None else None,
            "status": status,
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "duration": round(elapsed, 6),
            "upstream": upstream,
            "server": address,
            "upstream_time": round(upstream_time, 6) if address is not None and upstream_time >= 0 else None,
            "route": route_label,
            "request_id": request_id.decode("latin-1") if request_id is not None else None,
            "protocol": f"HTTP/1.{minor}",
        }

    def _json(self, r: tuple) -> bytes:
        return orjson.dumps(self._fields(r)) + b"\n"

    def _combined(self, r: tuple) -> bytes:
        f = self._fields(r)
        when = time.gmtime(r[0])
        stamp = (f"{when.tm_mday:02d}/{_MONTHS[when.tm_mon - 1]}/{when.tm_year}:"
                 f"{when.tm_hour:02d}:{when.tm_min:02d}:{when.tm_sec:02d} +0000")
        request = f"{f['method']} {f['path']} {f['protocol']}" if f["method"] is not None else "-"
        request = request.replace("\\", "\\\\").replace('"', '\\"')
        upstream_time = "-" if f["upstream_time"] is None else f"{f['upstream_time']:.6f}"
        line = (f'{f["client"]} - - [{stamp}] "{request}" {f["status"]} {f["bytes_out"]} "-" "-"'
                f' bytes_in={f["bytes_in"]} duration={f["duration"]:.6f} upstream={f["upstream"] or "-"}'
                f' server={f["server"] or "-"} upstream_time={upstream_time} route={f["route"] or "-"}'
                f' request_id={f["request_id"] or "-"}\n')
        return line.encode("utf-8", "replace")


def _iso_time(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"
