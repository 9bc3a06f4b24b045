"""BodySplice and Pipes over real TCP sockets, on uvloop and on the stdlib
loop: exact byte counts, waits on either side, early ends, and no
descriptor left behind."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
import uvloop

from fastproxy import splice

pytestmark = pytest.mark.skipif(not splice.available(), reason="no splice(2) on this system")

MIB = 1024 * 1024


@pytest.fixture(params=["uvloop", "asyncio"])
def loop(request):
    loop = uvloop.new_event_loop() if request.param == "uvloop" else asyncio.new_event_loop()
    yield loop
    loop.close()


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        a = socket.create_connection(server.getsockname())
        b, _ = server.accept()
    for s in (a, b):
        s.setblocking(False)
    return a, b


@pytest.fixture
def sockets():
    """(src_peer, src, dst, dst_peer): the splice moves src -> dst; the peers
    are the far ends.  All four are closed at teardown."""
    src_peer, src = tcp_pair()
    dst, dst_peer = tcp_pair()
    yield src_peer, src, dst, dst_peer
    for s in (src_peer, src, dst, dst_peer):
        s.close()


class Owner:
    def __init__(self, loop) -> None:
        self.moved = 0
        self.waits: list[bool] = []
        self.ended = loop.create_future()
        self.waited_for_destination = asyncio.Event()

    def splice_moved(self, n: int) -> None:
        self.moved += n

    def splice_waiting(self, source: bool) -> None:
        self.waits.append(source)
        if not source:
            self.waited_for_destination.set()

    def splice_done(self) -> None:
        self.ended.set_result(("done", None, None))

    def splice_failed(self, source: bool, error) -> None:
        self.ended.set_result(("failed", source, error))


async def recv_exactly(loop, sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = await loop.sock_recv(sock, min(n - len(data), MIB))
        assert chunk, "closed early"
        data += chunk
    return bytes(data)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_moves_exactly_left_bytes_and_leaves_the_rest(loop, sockets):
    async def main():
        src_peer, src, dst, dst_peer = sockets
        pipes = splice.Pipes()
        owner = Owner(loop)
        body = os.urandom(3 * MIB + 5)
        sending = loop.create_task(loop.sock_sendall(src_peer, body + b"NEXT"))
        spl = splice.BodySplice(loop, pipes, src.fileno(), dst.fileno(), len(body), owner)
        spl.run()
        received = await recv_exactly(loop, dst_peer, len(body))
        assert await asyncio.wait_for(owner.ended, 5) == ("done", None, None)
        await sending
        assert received == body and owner.moved == len(body)
        assert await recv_exactly(loop, src, 4) == b"NEXT"  # the next message is still the source's
        assert len(pipes.idle) == 1  # given back empty, for the next splice
        pipes.close()
    loop.run_until_complete(main())


def test_a_slow_receiver_makes_it_wait_for_the_destination(loop, sockets):
    async def main():
        src_peer, src, dst, dst_peer = sockets
        dst.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        owner = Owner(loop)
        body = os.urandom(8 * MIB)
        sending = loop.create_task(loop.sock_sendall(src_peer, body))
        splice.BodySplice(loop, splice.Pipes(), src.fileno(), dst.fileno(), len(body), owner).run()
        await asyncio.wait_for(owner.waited_for_destination.wait(), 5)  # nothing reads it yet
        assert await recv_exactly(loop, dst_peer, len(body)) == body
        assert (await asyncio.wait_for(owner.ended, 5))[0] == "done"
        await sending
    loop.run_until_complete(asyncio.wait_for(main(), 20))


def test_a_source_closing_early_fails_on_the_source_side(loop, sockets):
    async def main():
        src_peer, src, dst, dst_peer = sockets
        owner = Owner(loop)
        spl = splice.BodySplice(loop, splice.Pipes(), src.fileno(), dst.fileno(), MIB, owner)
        await loop.sock_sendall(src_peer, b"x" * 1000)
        src_peer.close()
        spl.run()
        assert await asyncio.wait_for(owner.ended, 5) == ("failed", True, None)
        assert await recv_exactly(loop, dst_peer, 1000) == b"x" * 1000
    loop.run_until_complete(main())


def test_a_destination_reset_fails_on_the_destination_side(loop, sockets):
    async def main():
        src_peer, src, dst, dst_peer = sockets
        dst_peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        dst_peer.close()  # a reset
        owner = Owner(loop)
        sending = loop.create_task(loop.sock_sendall(src_peer, b"y" * MIB))
        splice.BodySplice(loop, splice.Pipes(), src.fileno(), dst.fileno(), MIB, owner).run()
        kind, source, error = await asyncio.wait_for(owner.ended, 5)
        assert (kind, source) == ("failed", False) and isinstance(error, OSError)
        sending.cancel()
    loop.run_until_complete(main())


def test_cancel_stops_it_and_leaves_no_descriptor(loop, sockets):
    async def main():
        src_peer, src, dst, _ = sockets
        pipes = splice.Pipes()
        baseline = open_fds()
        owner = Owner(loop)
        spl = splice.BodySplice(loop, pipes, src.fileno(), dst.fileno(), 4 * MIB, owner)
        await loop.sock_sendall(src_peer, b"z" * 100_000)
        spl.run()
        assert owner.waits[-1] is True  # waiting for more from the source
        spl.cancel()
        await loop.sock_sendall(src_peer, b"z" * 100_000)
        # Two loop turns hold at least one poll: a watch left on the source
        # would now call the cancelled splice.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not owner.ended.done()
        pipes.close()
        assert open_fds() == baseline
    loop.run_until_complete(main())


def test_pipes_keep_only_empty_pipes_and_a_bounded_number():
    pipes = splice.Pipes()
    baseline = open_fds()
    taken = [pipes.take() for _ in range(20)]
    os.write(taken[0][1], b"left over")
    pipes.give_back(taken[0], empty=False)  # holds bytes: closed, never reused
    for pipe in taken[1:]:
        pipes.give_back(pipe, empty=True)
    assert len(pipes.idle) == 16
    assert taken[0] not in pipes.idle
    pipes.close()
    assert open_fds() == baseline
