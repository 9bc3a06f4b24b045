"""The admin API, served by the supervisor: metrics summed over workers,
status, upstream servers, and the drain switch.

Theory of operation
-------------------
The supervisor's loop is synchronous (selectors), so this is a small
non-blocking HTTP/1.1 server on that same selector rather than an asyncio
one: no thread, nothing to go wrong at fork.  Each worker gets a control
channel at fork, one end of a socketpair (control.py has the worker's
end).  A socketpair, not shared memory: snapshots are label-keyed and
change shape with the config (reloads), the channel also carries commands
(drain, enable), and a worker that is stuck simply does not answer.

    GET  /metrics                        Prometheus text, summed over workers
    GET  /status                         JSON: version, uptime, pid, workers, config hash, extensions
    GET  /upstreams                      JSON: each upstream and server: state, in flight, totals
    POST /upstreams/NAME/SERVER/drain    take SERVER out of NAME in every worker
    POST /upstreams/NAME/SERVER/enable   and back in

A request that needs the workers sends every live channel a command and is
answered once all replied or GATHER_TIMEOUT passed (a stuck worker delays
it, never hangs it).  Totals: the sum of each live worker's latest
snapshot plus ``retired``, the sum of the final snapshots of workers that
are gone (their latest seen, if they died without one), so no total ever
goes backwards across restarts and reloads.  Drained servers are
remembered here and handed to every new worker (WorkerSpec.drained).
Every connection carries one request and closes.
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
import time
from urllib.parse import unquote

import orjson

import fastproxy
from fastproxy import metrics
from fastproxy.errors import HttpParseError

__all__ = ["AdminServer"]

log = logging.getLogger("fastproxy.admin")

# Long enough for a busy worker on a loaded machine (a scrape that misses a
# live worker reports it down), short against Prometheus's 10 s scrape timeout.
GATHER_TIMEOUT = 2.5
# Commands left unanswered by a worker before it is sent no more (a stopped
# worker): keeps the lines far below a socket buffer, so a send is never partial.
MAX_OUTSTANDING = 64
# A request's head and the time to send it.
MAX_HEAD = 8192
CLIENT_TIMEOUT = 10.0


class _Channel:
    """The supervisor's end of one worker's control channel."""

    def __init__(self, admin: AdminServer, pid: int, sock: socket.socket) -> None:
        self.admin = admin
        self.pid = pid
        self.sock = sock
        self.buf = bytearray()
        self.last: dict | None = None   # the latest snapshot
        self.final: dict | None = None  # the snapshot sent as the worker stopped
        self.open = True
        self.outstanding = 0

    def send(self, command: dict) -> bool:
        """Sends one command line; False (not waited for) if the worker is
        gone or has not answered MAX_OUTSTANDING commands."""
        if self.outstanding >= MAX_OUTSTANDING:
            return False
        line = orjson.dumps(command) + b"\n"
        try:
            sent = self.sock.send(line)
        except OSError:
            return False
        if sent != len(line):  # cannot happen below MAX_OUTSTANDING; never leave half a line
            self.open = False
            return False
        self.outstanding += 1
        return True

    def readable(self) -> None:
        self.read()
        if not self.open:
            self.admin._unregister(self.sock)
            self.admin._gone(self.pid)

    def read(self) -> None:
        """Takes every line at hand (also after the worker is gone)."""
        while self.open:
            try:
                data = self.sock.recv(262144)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                self.open = False
                break
            self.buf += data
            while True:
                end = self.buf.find(b"\n")
                if end < 0:
                    break
                line = bytes(self.buf[:end])
                del self.buf[:end + 1]
                self._reply(orjson.loads(line))

    def _reply(self, reply: dict) -> None:
        if "final" in reply:  # unasked, as the worker stops
            self.final = reply["final"]
            return
        self.outstanding = max(0, self.outstanding - 1)
        if "snapshot" in reply:
            self.last = reply["snapshot"]
        self.admin._replied(self, reply)


class _Gather:
    """One admin request waiting for the workers' replies."""

    def __init__(self, seq: int, channels: list[_Channel], done, deadline: float) -> None:
        self.seq = seq
        self.waiting = {c.pid for c in channels}
        self.replies: dict[int, dict] = {}
        self.done = done
        self.deadline = deadline


class _Client:
    __slots__ = ("buf", "busy", "deadline", "out", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.out = b""
        self.busy = False  # its request is being answered: later input is ignored
        self.deadline = time.monotonic() + CLIENT_TIMEOUT


class AdminServer:
    """The admin listener of ``supervisor`` at ``config`` (schema.AdminConfig).
    Binding may raise OSError."""

    def __init__(self, supervisor, config) -> None:
        self.supervisor = supervisor
        self.selector = supervisor.selector
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((config.host, config.port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(False)
        self.sock = sock
        self.address = sock.getsockname()[:2]
        self.selector.register(sock, selectors.EVENT_READ, self._accept)
        supervisor.private_fds.add(sock.fileno())
        self.started = time.time()
        self.channels: dict[int, _Channel] = {}
        self.retired: dict = {}
        # (upstream, server as written in the config), in the order drained.
        self.drained: list[tuple[str, str]] = []
        self.gathers: dict[int, _Gather] = {}
        self.seq = 0
        self.clients: dict[int, _Client] = {}

    # -- worker channels (called by the supervisor) ----------------------------------

    def channel_pair(self) -> tuple[socket.socket, socket.socket]:
        """(supervisor's end, worker's end) for a worker about to be forked."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        mine.setblocking(False)
        self.supervisor.private_fds.add(mine.fileno())
        return mine, theirs

    def attach(self, pid: int, mine: socket.socket) -> None:
        channel = _Channel(self, pid, mine)
        self.channels[pid] = channel
        self.selector.register(mine, selectors.EVENT_READ, channel.readable)

    def detach(self, pid: int) -> None:
        """The worker ``pid`` has exited: its counts join the retired sum."""
        channel = self.channels.pop(pid, None)
        if channel is None:
            return
        channel.read()
        snapshot = channel.final if channel.final is not None else channel.last
        if snapshot is not None:
            metrics.merge(self.retired, metrics.monotonic_part(snapshot))
        self._unregister(channel.sock)
        self.supervisor.private_fds.discard(channel.sock.fileno())
        channel.sock.close()
        self._gone(pid)

    def _gone(self, pid: int) -> None:
        """Worker ``pid`` will answer no more: nothing waits for it."""
        for gather in list(self.gathers.values()):
            if pid in gather.waiting:
                gather.waiting.discard(pid)
                self._maybe_done(gather)

    def _unregister(self, sock: socket.socket) -> None:
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _live(self) -> list[_Channel]:
        return [c for c in self.channels.values() if c.open and c.final is None]

    # -- gathering -------------------------------------------------------------------

    def _gather(self, command: dict, done) -> None:
        """Sends ``command`` to every live worker; ``done(gather)`` once all
        replied or GATHER_TIMEOUT passed."""
        self.seq += 1
        channels = [c for c in self._live() if c.send({**command, "seq": self.seq})]
        gather = _Gather(self.seq, channels, done, time.monotonic() + GATHER_TIMEOUT)
        self.gathers[gather.seq] = gather
        self._maybe_done(gather)

    def _replied(self, channel: _Channel, reply: dict) -> None:
        gather = self.gathers.get(reply.get("seq"))
        if gather is not None and channel.pid in gather.waiting:
            gather.waiting.discard(channel.pid)
            gather.replies[channel.pid] = reply
            self._maybe_done(gather)

    def _maybe_done(self, gather: _Gather) -> None:
        if gather.waiting and gather.deadline > time.monotonic():
            return
        if self.gathers.pop(gather.seq, None) is None:
            return
        if gather.waiting:
            log.warning("admin: no answer from worker pids %s within %gs", sorted(gather.waiting), GATHER_TIMEOUT)
        gather.done(gather)

    def next_deadline(self) -> float | None:
        times = [g.deadline for g in self.gathers.values()]
        times += [c.deadline for c in self.clients.values()]
        return min(times) if times else None

    def timers(self) -> None:
        now = time.monotonic()
        for gather in list(self.gathers.values()):
            if gather.deadline <= now:
                self._maybe_done(gather)
        for client in list(self.clients.values()):
            if client.deadline <= now:
                self._drop(client)

    def total(self) -> dict:
        """The retired sum plus every live worker's latest snapshot."""
        total = metrics.merge({}, self.retired)
        for channel in self.channels.values():
            snapshot = channel.final if channel.final is not None else channel.last
            if snapshot is not None:
                metrics.merge(total, snapshot if channel.final is None else metrics.monotonic_part(snapshot))
        return total

    # -- HTTP --------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("admin: cannot accept: %s", exc)
                return
            sock.setblocking(False)
            client = _Client(sock)
            self.clients[sock.fileno()] = client
            self.supervisor.private_fds.add(sock.fileno())
            self.selector.register(sock, selectors.EVENT_READ, lambda c=client: self._readable(c))

    def _readable(self, client: _Client) -> None:
        if client.out:
            self._flush(client)
            return
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        if not client.busy:
            client.buf += data
            self._parse(client)

    def _parse(self, client: _Client) -> None:
        from fastproxy import parser
        from fastproxy.heads import ParsedHead

        head = ParsedHead(parser.RequestParser(max_uri_bytes=MAX_HEAD // 2, max_header_bytes=MAX_HEAD,
                                               max_header_count=64))
        try:
            head_len = head.parse(client.buf, len(client.buf))
        except HttpParseError as exc:
            client.busy = True
            self._respond(client, exc.status, {"error": exc.message})
            return
        if not head_len:
            if len(client.buf) >= MAX_HEAD:
                client.busy = True
                self._respond(client, 431, {"error": "request head too large"})
            return
        client.deadline = time.monotonic() + CLIENT_TIMEOUT + GATHER_TIMEOUT
        client.busy = True
        method = head.method(client.buf).decode("latin-1")
        target = head.target(client.buf).decode("latin-1")
        self._route(client, method, target.split("?", 1)[0])

    def _route(self, client: _Client, method: str, path: str) -> None:
        if path in ("/metrics", "/status", "/upstreams"):
            if method not in ("GET", "HEAD"):
                self._respond(client, 405, {"error": f"{path} takes GET"}, allow="GET, HEAD")
            elif path == "/metrics":
                self._gather({"op": "snapshot"}, lambda g: self._metrics(client))
            elif path == "/status":
                self._respond(client, 200, self._status())
            else:
                self._gather({"op": "snapshot"}, lambda g: self._respond(client, 200, self._upstreams()))
            return
        parts = path.split("/")
        if len(parts) == 5 and parts[:2] == ["", "upstreams"] and parts[4] in ("drain", "enable"):
            if method != "POST":
                self._respond(client, 405, {"error": f"{parts[4]} takes POST"}, allow="POST")
                return
            self._set_out(client, unquote(parts[2]), unquote(parts[3]), parts[4] == "drain")
            return
        self._respond(client, 404, {"error": f"no such endpoint: {path}"})

    def _metrics(self, client: _Client) -> None:
        body = metrics.render(self.total(), len(self._live()), time.time() - self.started)
        self._send(client, 200, body.encode("utf-8"), "text/plain; version=0.0.4; charset=utf-8")

    def _status(self) -> dict:
        from fastproxy.cli import version_info

        supervisor = self.supervisor
        try:
            info = version_info()
            extensions = info["extensions"]
        except ImportError as exc:
            extensions = {"error": str(exc)}
        workers = sorted(supervisor.workers.values(), key=lambda w: (w.generation.number, w.slot))
        return {
            "version": fastproxy.__version__,
            "pid": os.getpid(),
            "uptime": round(time.time() - self.started, 3),
            "config_hash": supervisor.config.digest(),
            "config_source": supervisor.config.source,
            "generation": supervisor.current.number if supervisor.current else None,
            "workers": [
                {"pid": w.pid, "slot": w.slot, "generation": w.generation.number, "ready": w.ready,
                 "stopping": w.stopping}
                for w in workers
            ],
            "extensions": extensions,
            "drained": [{"upstream": name, "server": server} for name, server in self.drained],
        }

    def _upstreams(self) -> dict:
        total = self.total()
        state = total.get("state", {})
        servers = total.get("servers", {})
        live = len(self._live())
        out = {}
        for upstream in self.supervisor.config.upstreams:
            entries = []
            for server in upstream.servers:
                st = state.get(upstream.name, {}).get(server.address, {})
                counts = servers.get(upstream.name, {}).get(server.address, {})
                codes = counts.get("codes", [])
                entries.append({
                    "server": server.address,
                    "url": server.url,
                    "weight": server.weight,
                    # Up in every worker that answered; out reasons from any of them.
                    "up": live > 0 and st.get("up", 0) >= live,
                    "out": st.get("out", []),
                    "drained": (upstream.name, server.address) in self.drained,
                    "in_flight": st.get("in_flight", 0),
                    "requests": sum(codes),
                    "responses": dict(zip(metrics.CODE_LABELS, codes)),
                    # Whatever else metrics.health_fields reports, summed over workers.
                    **{k: v for k, v in st.items() if k not in ("up", "out", "in_flight")},
                    "health": {k: counts[k] for k in metrics.HEALTH_COUNTS if k in counts},
                })
            totals = total.get("upstreams", {}).get(upstream.name, {})
            out[upstream.name] = {"balance": upstream.balance, "servers": entries,
                                  "retries": totals.get("retries", 0),
                                  "retries_refused": totals.get("retries_refused", 0)}
        return {"upstreams": out}

    def _set_out(self, client: _Client, name: str, text: str, out: bool) -> None:
        try:
            upstream = self.supervisor.config.upstream(name)
        except KeyError:
            self._respond(client, 404, {"error": f"no upstream named {name!r}"})
            return
        server = next((s for s in upstream.servers if text in (s.address, s.url)), None)
        if server is None:
            self._respond(client, 404, {"error": f"upstream {name!r} has no server {text!r}",
                                        "servers": [s.address for s in upstream.servers]})
            return
        key = (name, server.address)
        if out and key not in self.drained:
            self.drained.append(key)
        elif not out and key in self.drained:
            self.drained.remove(key)
        log.info("admin: %s %s in upstream %s", "draining" if out else "enabling", server.address, name)

        def done(gather: _Gather) -> None:
            self._respond(client, 200, {"upstream": name, "server": server.address, "drained": out,
                                        "workers": len(gather.replies), "unanswered": len(gather.waiting)})

        self._gather({"op": "set_out", "upstream": name, "server": server.address, "out": out}, done)

    def _respond(self, client: _Client, status: int, body: dict, allow: str | None = None) -> None:
        extra = f"Allow: {allow}\r\n" if allow else ""
        self._send(client, status, orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n", "application/json",
                   extra)

    def _send(self, client: _Client, status: int, body: bytes, content_type: str, extra: str = "") -> None:
        if client.sock.fileno() < 0:
            return  # dropped while its answer was being gathered
        reason = _REASONS.get(status, "Error")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n")
        method_head = client.buf[:5] == b"HEAD "
        client.out = head.encode("latin-1") + (b"" if method_head else body)
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        try:
            sent = client.sock.send(client.out)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(client)
            return
        client.out = client.out[sent:]
        if not client.out:
            self._drop(client)
        else:
            self.selector.modify(client.sock, selectors.EVENT_WRITE, lambda: self._readable(client))

    def _drop(self, client: _Client) -> None:
        fd = client.sock.fileno()
        if fd < 0:
            return
        self.clients.pop(fd, None)
        self._unregister(client.sock)
        self.supervisor.private_fds.discard(fd)
        client.sock.close()

    def close(self) -> None:
        for client in list(self.clients.values()):
            self._drop(client)
        for pid in list(self.channels):
            self.detach(pid)
        self._unregister(self.sock)
        self.supervisor.private_fds.discard(self.sock.fileno())
        self.sock.close()


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            408: "Request Timeout", 413: "Content Too Large", 414: "URI Too Long",
            431: "Request Header Fields Too Large", 501: "Not Implemented"}
