"""Gathering one write: small pieces copied together, large slices by reference."""

import pytest

from fastproxy.outgoing import LARGE, Outgoing, Sink


class _Transport:
    def __init__(self, closing=False):
        self.closing = closing
        self.writes = []

    def is_closing(self):
        return self.closing

    def write(self, data):
        self.writes.append(("write", data))

    def writelines(self, pieces):
        self.writes.append(("writelines", list(pieces)))


def test_small_pieces_leave_in_one_plain_write():
    out = Outgoing()
    buf = bytearray(b"..head..")
    out.add(b"GET / HTTP/1.1\r\n")
    out.add_slice(buf, 2, 6)
    out.add(b"\r\n")
    assert out.size == 22
    t = _Transport()
    assert out.send(t)
    assert [(kind, bytes(data)) for kind, data in t.writes] == [("write", b"GET / HTTP/1.1\r\nhead\r\n")]
    assert out.size == 0 and out.take() == b""


def test_a_large_slice_is_written_from_the_buffer_in_order():
    buf = bytearray(b"x" * (LARGE + 10))
    out = Outgoing()
    out.add(b"head;")
    out.add_slice(buf, 5, LARGE + 5)
    out.add(b";tail")
    t = _Transport()
    out.send(t)
    ((kind, pieces),) = t.writes
    assert kind == "writelines" and [bytes(p) for p in pieces] == [b"head;", b"x" * LARGE, b";tail"]
    assert isinstance(pieces[1], memoryview) and pieces[1].obj is buf  # not copied


def test_take_returns_everything_and_empties():
    out = Outgoing()
    out.add(b"a")
    out.add_slice(bytearray(b"bcd"), 1, 3)
    assert out.take() == b"acd"
    assert out.take() == b"" and out.size == 0
    out.add(b"again")
    assert out.take() == b"again"


def test_clear_drops_everything():
    out = Outgoing()
    out.add(b"a")
    out.add_slice(bytearray(LARGE), 0, LARGE)
    out.clear()
    t = _Transport()
    assert out.send(t) and t.writes == [] and out.size == 0


def test_growing_past_the_first_buffer_keeps_every_byte():
    out = Outgoing()
    pieces = [bytes([65 + i % 26]) * (i % 700 + 1) for i in range(200)]
    for piece in pieces:
        out.add(piece)
    assert out.take() == b"".join(pieces)


def test_a_closing_transport_gets_nothing():
    out = Outgoing()
    out.add(b"x")
    t = _Transport(closing=True)
    assert not out.send(t) and t.writes == [] and out.size == 0


# Outgoing.send(transport) and Outgoing.send_to(Sink(transport)) must do the same.
_SENDS = {
    "send": lambda out, t: out.send(t),
    "send_to": lambda out, t: out.send_to(Sink(t)),
}


@pytest.mark.parametrize("way", sorted(_SENDS))
def test_both_sends_write_small_pieces_at_once_and_large_slices_by_reference(way):
    send = _SENDS[way]
    out = Outgoing()
    out.add(b"head;")
    out.add_slice(bytearray(b"..ab.."), 2, 4)
    t = _Transport()
    assert send(out, t)  # (lent or not: the pure-Python twin keeps small slices as views)
    assert [(kind, bytes(data)) for kind, data in t.writes] == [("write", b"head;ab")]
    buf = bytearray(b"y" * LARGE)
    out.add(b"h;")
    out.add_slice(buf, 0, LARGE)
    assert send(out, t) and out.lent
    kind, pieces = t.writes[1]
    assert kind == "writelines" and [bytes(p) for p in pieces] == [b"h;", b"y" * LARGE]
    assert pieces[1].obj is buf
    assert out.size == 0 and send(out, t) and not out.lent and len(t.writes) == 2  # nothing left to write


@pytest.mark.parametrize("way", sorted(_SENDS))
def test_both_sends_write_nothing_to_a_closing_transport(way):
    out = Outgoing()
    out.add_slice(bytearray(LARGE), 0, LARGE)
    t = _Transport(closing=True)
    assert not _SENDS[way](out, t) and t.writes == [] and out.size == 0 and not out.lent


def test_a_sink_keeps_its_transport_and_sends_bytes_unless_it_is_closing():
    t = _Transport()
    sink = Sink(t)
    assert sink.transport is t
    assert sink.send_bytes(b"abc") and t.writes == [("write", b"abc")]
    t.closing = True  # the kept is_closing asks the transport each time
    assert not sink.send_bytes(b"d") and t.writes == [("write", b"abc")]
