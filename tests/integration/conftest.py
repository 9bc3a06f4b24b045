"""Fixtures for the data-path tests: the proxy, in process, on its own loop.

``proxy_factory(upstreams=..., routes=..., server=...)`` builds a Config with
the config package (listener on 127.0.0.1:0), starts the proxy on a fresh
uvloop loop in a background thread with the parser implementation of the
test's ``parser_impl`` (both, unless FASTPROXY_NO_EXTENSIONS is set; the
stdlib loop instead with FASTPROXY_TEST_LOOP=asyncio), and
returns a :class:`ProxyThread`.  At teardown the proxy is closed and the
test fails if a client or upstream connection, a task, or the thread was
left behind.  ``proxy`` is the common case: one origin behind a catch-all
route.

For the tests through ``fastproxy run`` as a subprocess (supervised.py):
``run_proxy(text, *args)`` writes a config file and starts it, ``origins(name)``
gives one named Origin per name, and ``parser_name`` is the implementation's
name as the subprocess takes it.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
import uvloop

from fastproxy.config import parse_config
from fastproxy.server import start
from tests.integration.origin import Origin, origin, origin_factory  # noqa: F401
from tests.integration.rawhttp import Client
from tests.integration.supervised import Supervised


class ProxyThread:
    """A proxy running on its own uvloop loop in a daemon thread."""

    def __init__(self, config, parser) -> None:
        self.config = config
        # FASTPROXY_TEST_LOOP=asyncio runs the proxy on the stdlib loop (the
        # fallback when uvloop is missing) instead of uvloop.
        if os.environ.get("FASTPROXY_TEST_LOOP") == "asyncio":
            self.loop = asyncio.new_event_loop()
        else:
            self.loop = uvloop.new_event_loop()
        # Exceptions escaping a protocol callback land here: each is a bug.
        self.loop_errors: list[dict] = []
        self.loop.set_exception_handler(lambda loop, context: self.loop_errors.append(context))
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy", daemon=True)
        self.thread.start()
        self.proxy = asyncio.run_coroutine_threadsafe(start(config, parser), self.loop).result(10)
        self.address = self.proxy.addresses[0]
        self.port = self.address[1]
        self._stopped = False

    def call(self, function, *args):
        """Runs ``function(*args)`` on the proxy's loop and returns its result."""
        async def run():
            return function(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def counters(self) -> dict[str, int]:
        return self.call(self.proxy.counters.snapshot)

    def open_connections(self) -> tuple[int, int]:
        """(client connections, upstream connections) open in the proxy."""
        return self.call(self.proxy.open_connections)

    def idle_upstreams(self) -> int:
        return self.call(lambda: sum(len(pool.idle) for pool in self.proxy.ctx.pools))

    def wait_until(self, predicate, timeout: float = 5.0, what: str = "condition") -> None:
        """Polls ``predicate()`` (in this thread: read proxy state with the
        methods above) until true; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"proxy: no {what} within {timeout}s; counters {self.counters()}")
            time.sleep(0.005)

    def client(self, timeout: float = 10.0) -> Client:
        return Client(self.address, timeout)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        asyncio.run_coroutine_threadsafe(self.proxy.close(), self.loop).result(15)
        left = self.call(self.proxy.open_connections)

        async def pending():
            me = asyncio.current_task()
            return [t for t in asyncio.all_tasks() if t is not me]
        tasks = asyncio.run_coroutine_threadsafe(pending(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        assert not self.loop_errors, f"errors on the proxy's loop: {self.loop_errors}"
        assert left == (0, 0), f"connections left open after close (clients, upstreams): {left}"
        assert not tasks, f"tasks left running: {tasks}"
        assert not self.thread.is_alive()


def make_config(upstreams: dict[str, list[Origin | str]], routes: list[dict] | None = None,
                server: dict | None = None, pool: dict | None = None):
    """A Config with one listener on 127.0.0.1:0; origins stand for their address."""
    data = {
        "listener": [{"bind": "127.0.0.1:0"}],
        "upstream": {
            name: {
                "servers": [s if isinstance(s, str) else f"127.0.0.1:{s.port}" for s in servers],
                **({"pool": pool} if pool else {}),
            }
            for name, servers in upstreams.items()
        },
        "route": routes or [{"upstream": next(iter(upstreams))}],
    }
    if server:
        data["server"] = server
    return parse_config(data)


@pytest.fixture
def start_proxy(parser_impl):
    """``start(config)``: the proxy of a Config, running until the test ends
    (and checked for leftovers then, see ProxyThread.stop)."""
    made: list[ProxyThread] = []

    def start(config) -> ProxyThread:
        proxy = ProxyThread(config, parser_impl)
        made.append(proxy)
        return proxy

    yield start
    for proxy in made:
        proxy.stop()


@pytest.fixture
def proxy_factory(start_proxy):
    def make(upstreams, routes=None, server=None, pool=None) -> ProxyThread:
        return start_proxy(make_config(upstreams, routes, server, pool))

    return make


@pytest.fixture
def proxy(proxy_factory, origin):  # noqa: F811
    """The proxy in front of ``origin``, catch-all route."""
    return proxy_factory({"default": [origin]})


@pytest.fixture
def parser_name(parser_impl) -> str:
    return "python" if parser_impl.__name__.endswith("_pyparser") else "c"


@pytest.fixture
def run_proxy(parser_name, tmp_path):
    """``run(text, *args)``: writes ``text`` to proxy.toml and runs it; every
    process is ended at teardown, whatever the test left."""
    running: list[Supervised] = []

    def run(text: str, *args: str) -> Supervised:
        path = tmp_path / "proxy.toml"
        path.write_text(text)
        proc = Supervised(path, parser_name, tmp_path, *args)
        running.append(proc)
        return proc

    yield run
    for proc in running:
        proc.cleanup()


@pytest.fixture
def origins():
    """``get(name)``: the Origin called ``name``, made on first use."""
    made: dict[str, Origin] = {}

    def get(name: str) -> Origin:
        if name not in made:
            made[name] = Origin(name=name, hash_bodies=False)
        return made[name]

    yield get
    for each in made.values():
        each.close()
        assert not each.errors, each.errors
