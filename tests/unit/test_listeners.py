"""fastproxy.listeners: a listener as a group of SO_REUSEPORT sockets, shared out among workers."""

from __future__ import annotations

import socket

import pytest

from fastproxy.listeners import ListenerSockets


@pytest.fixture
def group():
    made = ListenerSockets("127.0.0.1", 0)
    yield made
    made.close()


def test_port_zero_is_chosen_once_for_the_whole_group(group):
    group.grow(3)
    ports = {sock.getsockname()[1] for sock in group.sockets}
    assert len(group.sockets) == 3 and len(ports) == 1 and ports != {0}
    assert group.address == ("127.0.0.1", ports.pop())
    assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for sock in group.sockets)
    group.grow(2)  # never shrinks by growing
    assert len(group.sockets) == 3


def test_every_socket_accepts(group):
    group.grow(2)
    with socket.create_connection(group.address, timeout=5):
        pass
    # The kernel put the connection in one of the accept queues.
    accepted = []
    for sock in group.sockets:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            continue
        accepted.append(conn)
        conn.close()
    assert len(accepted) == 1


def test_shares_cover_every_socket_once(group):
    group.grow(5)
    for count in (1, 2, 3, 5):
        shares = [group.share(slot, count) for slot in range(count)]
        assert all(shares)
        flat = [sock for share in shares for sock in share]
        assert sorted(map(id, flat)) == sorted(map(id, group.sockets))


def test_shrink_undoes_a_grow(group):
    group.grow(2)
    kept = list(group.sockets)
    group.grow(4)
    group.shrink(2)
    assert group.sockets == kept
    assert all(sock.fileno() >= 0 for sock in kept)


def test_a_failed_bind_leaves_nothing_bound(group):
    group.grow(1)
    taken = group.address
    other = ListenerSockets("127.0.0.1", taken[1])
    with socket.socket() as plain:  # a socket without SO_REUSEPORT blocks the group
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        blocked = ListenerSockets("127.0.0.1", plain.getsockname()[1])
        with pytest.raises(OSError):
            blocked.grow(2)
        assert blocked.sockets == []
    other.grow(1)  # the same address as `group`: both groups share it (same user)
    other.close()
