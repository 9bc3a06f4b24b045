"""The supervisor: listening sockets, worker processes, signals, reloads.

Theory of operation
-------------------
The supervisor never serves a request.  It binds every listener itself
(listeners.py: a group of SO_REUSEPORT sockets per listener, one socket per
worker slot), forks the workers (worker.py), which inherit their sockets,
and then runs a small synchronous loop over signals (through a wakeup
pipe), READY bytes on the workers' status pipes, child exits and timers.

Workers come in generations, one config each.  With generation G serving:

    death      a G worker dies: its slot gets a new worker, at once the
               first time, then after a doubling delay while it keeps dying
               young (Backoff)
    SIGHUP     reload: re-read the config file and check it (the data path
               and the certificates too); any problem is logged, each on its
               own line, and G goes on.  Else fork the workers of G+1 on the
               same sockets; when all are READY, SIGTERM the G workers (they
               drain) and G+1 serves.  A G+1 worker that dies first, or a
               G+1 not READY within READY_TIMEOUT, is stopped and G goes on.
    SIGTERM,   graceful stop: SIGTERM to every worker, exit when all are
    SIGINT     gone; SIGKILL for any still there drain_timeout + DRAIN_GRACE
               later.  A second SIGTERM or SIGINT makes the stop immediate.
    SIGQUIT    immediate stop: SIGQUIT to every worker (SIGKILL QUIT_GRACE later)
    SIGUSR1    forwarded to every worker: they reopen the access log file

With [admin] configured, the admin API (admin.py) is served from this same
loop, and each worker gets a control channel at fork: the admin API sums
their counts and broadcasts the drain switch through them.  The admin
listener is bound from the config at start; a reload does not move it.

Reloads drop nothing: the sockets stay open across generations, so a
connection the kernel queues during the switch is accepted by a G or a G+1
worker; a G worker stops accepting only once all of G+1 serves, and then
finishes the requests it has (worker.py, Proxy.drain).  The config file is
config.source; a config from the command line reloads as it was, which
still re-reads the certificate files.  Logging keeps the format it started
with.  ``fastproxy reload`` signals the supervisor whose pid is in the pid
file given to ``fastproxy run --pid-file``.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import time

from fastproxy.config import load_config
from fastproxy.errors import ConfigError
from fastproxy.listeners import ListenerSockets
from fastproxy.server import check_config
from fastproxy.tls import listener_tls

__all__ = ["Backoff", "Supervisor"]

log = logging.getLogger("fastproxy.supervisor")

READY_TIMEOUT = 30.0
DRAIN_GRACE = 5.0
QUIT_GRACE = 5.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGCHLD)


class Backoff:
    """How long a slot waits before its next worker: 0 after a worker that
    served ``stable`` seconds or more, else ``first``, doubling per early
    death, up to ``most``."""

    def __init__(self, first: float = 0.5, most: float = 30.0, stable: float = 60.0) -> None:
        self.first = first
        self.most = most
        self.stable = stable
        self.early_deaths = 0

    def delay(self, lived: float) -> float:
        """The delay after a worker that lived ``lived`` seconds died."""
        if lived >= self.stable:
            self.early_deaths = 0
        self.early_deaths += 1
        if self.early_deaths == 1:
            return 0.0
        return min(self.most, self.first * 2 ** (self.early_deaths - 2))


class _Generation:
    """One config as the workers run it: its TLS contexts and the sockets of its listeners."""

    def __init__(self, number: int, config, tls: list, listeners: list[ListenerSockets]) -> None:
        self.number = number
        self.config = config
        self.tls = tls
        self.listeners = listeners
        self.count = config.server.worker_count
        self.deadline = 0.0  # for a reload: all READY by then
        # For a reload: (group, its socket count before) to undo if it fails.
        self.grown: list[tuple[ListenerSockets, int]] = []


class _Worker:
    __slots__ = ("generation", "kill_at", "pid", "ready", "slot", "started", "status_fd", "stopping")

    def __init__(self, pid: int, slot: int, generation: _Generation, status_fd: int) -> None:
        self.pid = pid
        self.slot = slot
        self.generation = generation
        self.status_fd = status_fd
        self.ready = False
        self.stopping = False
        self.kill_at = 0.0
        self.started = time.monotonic()

    def __str__(self) -> str:
        return f"worker {self.slot} (generation {self.generation.number}, pid {self.pid})"


class Supervisor:
    """Runs ``config`` with its workers until stopped; see the module docstring.

    ``pid_file``: written once the sockets are bound, removed at exit.
    """

    def __init__(self, config, *, pid_file: str | None = None) -> None:
        self.config = config
        # Reloads re-read it; None: a config from the command line.
        self.config_path = config.source if os.path.isfile(config.source) else None
        self.pid_file = pid_file
        self.selector = selectors.DefaultSelector()
        self.workers: dict[int, _Worker] = {}
        self.bound: dict[tuple[str, int], ListenerSockets] = {}
        self.current: _Generation | None = None
        self.pending: _Generation | None = None
        self.serving = False
        self.stopping = False
        self.immediate = False
        self.reload_again = False
        self.exit_code = 0
        self.backoff: dict[int, Backoff] = {}
        self.restart_at: dict[int, float] = {}
        self.signals: list[int] = []
        self.last_generation = 0
        # Supervisor-only descriptors: a forked worker closes them.
        self.private_fds: set[int] = set()
        self.admin = None  # admin.AdminServer, with [admin]

    # -- start and the loop ---------------------------------------------------

    def run(self) -> int:
        """Serves until stopped; the exit code.  Raises ConfigError if the
        config cannot run (nothing was bound or forked then)."""
        check_config(self.config)
        tls = listener_tls(self.config)
        try:
            listeners, _ = self._listeners_for(self.config)
        except OSError as exc:
            log.error("cannot listen: %s", exc)
            return 1
        for listener, sockets in zip(self.config.listeners, listeners):
            log.info("listening on %s%s", sockets.describe(), " (TLS)" if listener.tls else "")
        doing = "write the pid file"
        try:
            self._write_pid_file()
            if self.config.admin is not None:
                from fastproxy.admin import AdminServer

                doing = "serve the admin API"
                self.admin = AdminServer(self, self.config.admin)
                log.info("admin API on http://%s", _host_port(*self.admin.address))
        except OSError as exc:
            log.error("cannot %s: %s", doing, exc)
            for sockets in self.bound.values():
                sockets.close()
            self._remove_pid_file()
            return 1
        wakeup_r, wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.lifeline_r, self.lifeline_w = os.pipe2(os.O_CLOEXEC)
        self.private_fds.update((wakeup_r, wakeup_w, self.lifeline_w))
        self.selector.register(wakeup_r, selectors.EVENT_READ, lambda: _drain_pipe(wakeup_r))
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (*_STOP_SIGNALS, signal.SIGUSR1)}
        old_wakeup = signal.set_wakeup_fd(wakeup_w)
        try:
            self.current = self._generation(self.config, tls, listeners)
            for slot in range(self.current.count):
                self._spawn(self.current, slot)
            self._loop()
        finally:
            for worker in self.workers.values():  # only after a failure of this loop
                _kill(worker.pid, signal.SIGTERM)
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sockets in self.bound.values():
                sockets.close()
            if self.admin is not None:
                self.admin.close()
            for fd in (wakeup_r, wakeup_w, self.lifeline_r, self.lifeline_w):
                os.close(fd)
            self.selector.close()
            self._remove_pid_file()
        log.info("stopped")
        return self.exit_code

    def _loop(self) -> None:
        while not (self.stopping and not self.workers):
            for key, _ in self.selector.select(self._timeout()):
                key.data()
            self._handle_signals()
            self._reap()
            self._timers()

    def _timeout(self) -> float | None:
        times = list(self.restart_at.values())
        times += [w.kill_at for w in self.workers.values() if w.kill_at]
        if self.pending is not None:
            times.append(self.pending.deadline)
        if self.admin is not None and self.admin.next_deadline() is not None:
            times.append(self.admin.next_deadline())
        if not times:
            return None
        return max(0.0, min(times) - time.monotonic())

    def _on_signal(self, signum, frame) -> None:
        self.signals.append(signum)

    def _handle_signals(self) -> None:
        while self.signals:
            signum = self.signals.pop(0)
            if signum == signal.SIGUSR1:
                log.info("reopening the access logs")
                for worker in self.workers.values():
                    _kill(worker.pid, signal.SIGUSR1)
            elif signum == signal.SIGHUP:
                self._reload()
            elif signum == signal.SIGQUIT or (signum != signal.SIGCHLD and self.stopping):
                self._stop(immediate=True)
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self._stop(immediate=False)

    # -- workers ---------------------------------------------------------------

    def _generation(self, config, tls: list, listeners: list[ListenerSockets]) -> _Generation:
        self.last_generation += 1
        return _Generation(self.last_generation, config, tls, listeners)

    def _spawn(self, generation: _Generation, slot: int) -> None:
        status_r, status_w = os.pipe2(os.O_CLOEXEC)
        control = self.admin.channel_pair() if self.admin is not None else None
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor
            code = 70
            try:
                os.close(status_r)
                code = self._become_worker(generation, slot, status_w, control[1] if control else None)
            except BaseException:  # the exit code says it; the trace is logged
                log.exception("worker %d failed", slot)
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(status_w)
        if control is not None:
            control[1].close()
            self.admin.attach(pid, control[0])
        worker = _Worker(pid, slot, generation, status_r)
        self.workers[pid] = worker
        self.private_fds.add(status_r)
        self.selector.register(status_r, selectors.EVENT_READ, lambda: self._status(worker))

    def _become_worker(self, generation: _Generation, slot: int, status_fd: int,
                       control: socket.socket | None) -> int:
        from fastproxy import worker

        signal.set_wakeup_fd(-1)
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # Until the worker's own handler: a forwarded SIGUSR1 must not kill it.
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        drained = tuple(self.admin.drained) if self.admin is not None else ()
        self.selector.close()
        for fd in self.private_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        share = [sockets.share(slot, generation.count) for sockets in generation.listeners]
        mine = {id(sock) for group in share for sock in group}
        for sockets in self.bound.values():
            for sock in sockets.sockets:
                if id(sock) not in mine:
                    sock.close()
        control_fd = control.detach() if control is not None else -1
        spec = worker.WorkerSpec(generation.config, share, generation.tls, status_fd, self.lifeline_r,
                                 control_fd, drained)
        return worker.run(spec)

    def _status(self, worker: _Worker) -> None:
        try:
            data = os.read(worker.status_fd, 64)
        except OSError:
            data = b""
        if not data:
            self._close_status(worker)
            return
        if worker.ready:
            return
        worker.ready = True
        log.info("%s serving", worker)
        generation = worker.generation
        if generation is self.pending:
            if self._all_ready(generation):
                self._commit_reload()
        elif generation is self.current and not self.serving and self._all_ready(generation):
            self.serving = True
            log.info("serving with %d workers", generation.count)
            if self.reload_again:
                self.reload_again = False
                self._reload()

    def _close_status(self, worker: _Worker) -> None:
        if worker.status_fd >= 0:
            self.selector.unregister(worker.status_fd)
            os.close(worker.status_fd)
            self.private_fds.discard(worker.status_fd)
            worker.status_fd = -1

    def _all_ready(self, generation: _Generation) -> bool:
        ready = {w.slot for w in self.workers.values() if w.generation is generation and w.ready}
        return len(ready) == generation.count

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if self.admin is not None:
                self.admin.detach(pid)
            if worker is not None:
                self._close_status(worker)
                self._exited(worker, _describe_status(status))

    def _exited(self, worker: _Worker, how: str) -> None:
        generation = worker.generation
        if worker.stopping:
            log.info("%s stopped (%s)", worker, how)
        elif self.stopping:
            log.warning("%s exited while stopping (%s)", worker, how)
        elif generation is self.pending:
            self._abort_reload(f"{worker} {how} before serving")
        elif not self.serving:
            log.error("%s %s before serving; stopping", worker, how)
            self.exit_code = 1
            self._stop(immediate=True)
        elif generation is self.current:
            lived = time.monotonic() - worker.started
            delay = self.backoff.setdefault(worker.slot, Backoff()).delay(lived)
            log.warning("%s %s; a new one starts in %gs", worker, how, delay)
            self.restart_at[worker.slot] = time.monotonic() + delay
        else:
            log.warning("%s %s", worker, how)

    def _timers(self) -> None:
        if self.admin is not None:
            self.admin.timers()
        now = time.monotonic()
        for slot, when in list(self.restart_at.items()):
            if when <= now:
                del self.restart_at[slot]
                if not self.stopping and slot < self.current.count:
                    self._spawn(self.current, slot)
        for worker in list(self.workers.values()):
            if worker.kill_at and worker.kill_at <= now:
                log.warning("%s still running past its deadline: killing it", worker)
                worker.kill_at = 0.0
                _kill(worker.pid, signal.SIGKILL)
        if self.pending is not None and self.pending.deadline <= now:
            self._abort_reload(f"not every worker was serving within {READY_TIMEOUT:g}s")

    def _stop_worker(self, worker: _Worker, immediate: bool) -> None:
        worker.stopping = True
        if immediate or not worker.ready:
            _kill(worker.pid, signal.SIGQUIT if worker.ready else signal.SIGKILL)
            worker.kill_at = time.monotonic() + QUIT_GRACE
        else:
            _kill(worker.pid, signal.SIGTERM)
            worker.kill_at = time.monotonic() + worker.generation.config.server.drain_timeout + DRAIN_GRACE

    def _stop(self, immediate: bool) -> None:
        if self.stopping and (self.immediate or not immediate):
            return
        log.info("stopping%s", " now" if immediate else " (draining)")
        self.stopping = True
        self.immediate = immediate
        self.pending = None
        self.restart_at.clear()
        for worker in self.workers.values():
            if immediate or not worker.stopping:
                self._stop_worker(worker, immediate)
        # New connections are refused from the moment the workers have
        # closed their copies too, rather than queued for no one.
        for sockets in self.bound.values():
            sockets.close()
        self.bound.clear()

    # -- reload ------------------------------------------------------------------

    def _reload(self) -> None:
        if self.stopping:
            return
        if self.pending is not None or not self.serving:
            self.reload_again = True
            return
        source = self.config_path or "the configuration"
        log.info("reloading %s", source)
        try:
            config = load_config(self.config_path) if self.config_path else self.config
            check_config(config)
            tls = listener_tls(config, self.current.tls)
            listeners, grown = self._listeners_for(config)
        except OSError as exc:
            log.error("reload: %s: %s", exc.filename or source, exc.strerror or exc)
            log.error("reload failed: still serving the previous configuration")
            return
        except ConfigError as exc:
            for key, message in exc.problems:
                log.error("reload: %s: %s", source, f"{key}: {message}" if key else message)
            log.error("reload failed: still serving the previous configuration")
            return
        if config.admin != self.config.admin:
            log.warning("reload: [admin] changes take effect at the next start, not on a reload")
        generation = self._generation(config, tls, listeners)
        generation.grown = grown
        generation.deadline = time.monotonic() + READY_TIMEOUT
        self.pending = generation
        for slot in range(generation.count):
            self._spawn(generation, slot)

    def _commit_reload(self) -> None:
        new, old = self.pending, self.current
        self.pending = None
        self.current = new
        self.config = new.config
        self.restart_at.clear()
        for worker in list(self.workers.values()):
            if worker.generation is not new and not worker.stopping:
                self._stop_worker(worker, immediate=False)
        self._close_unused()
        log.info("reloaded: generation %d serving with %d workers; generation %d draining",
                 new.number, new.count, old.number)
        if self.reload_again:
            self.reload_again = False
            self._reload()

    def _abort_reload(self, why: str) -> None:
        generation = self.pending
        self.pending = None
        for worker in list(self.workers.values()):
            if worker.generation is generation and not worker.stopping:
                self._stop_worker(worker, immediate=False)
        # Sockets added for it would take connections that no worker serves.
        for sockets, count in generation.grown:
            sockets.shrink(count)
        self._close_unused()
        log.error("reload failed: %s; still serving the previous configuration", why)

    # -- sockets and the pid file ---------------------------------------------------

    def _listeners_for(self, config) -> tuple[list[ListenerSockets], list[tuple[ListenerSockets, int]]]:
        """The socket groups of ``config``'s listeners, bound or grown to its
        worker count, and (group, count before) for each group that grew.
        OSError if one cannot be bound: then nothing new is left bound."""
        count = config.server.worker_count
        out = []
        grown = []
        try:
            for listener in config.listeners:
                key = (listener.host, listener.port)
                sockets = self.bound.get(key) or ListenerSockets(listener.host, listener.port)
                if len(sockets.sockets) < count:
                    grown.append((sockets, len(sockets.sockets)))
                    sockets.grow(count)
                out.append(sockets)
        except OSError:
            for sockets, before in grown:
                sockets.shrink(before)
            raise
        for sockets in out:
            self.bound[(sockets.host, sockets.port)] = sockets
        return out, grown

    def _close_unused(self) -> None:
        """Closes the groups no generation still running uses."""
        used = {id(s) for g in (self.current, self.pending) if g is not None for s in g.listeners}
        for key, sockets in list(self.bound.items()):
            if id(sockets) not in used:
                log.info("closing %s (no longer configured)", sockets.describe())
                sockets.close()
                del self.bound[key]

    def _write_pid_file(self) -> None:
        if self.pid_file is None:
            return
        temp = f"{self.pid_file}.{os.getpid()}.tmp"
        with open(temp, "w", encoding="ascii") as file:
            file.write(f"{os.getpid()}\n")
        os.replace(temp, self.pid_file)

    def _remove_pid_file(self) -> None:
        if self.pid_file is None:
            return
        try:
            with open(self.pid_file, encoding="ascii") as file:
                mine = file.read().strip() == str(os.getpid())
            if mine:
                os.unlink(self.pid_file)
        except OSError:
            pass


def _drain_pipe(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:  # it has just exited: the reaper will hear of it
        pass


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"was killed by {name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
