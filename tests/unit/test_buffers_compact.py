"""compact(): the receive buffers' safety net when unread bytes reach the end."""

from fastproxy.buffers import compact


def test_consumed_bytes_make_room_in_place():
    buf = bytearray(b"xxabcd")
    assert compact(buf, 2, 6) is buf
    assert buf[:4] == b"abcd"


def test_a_buffer_full_of_unread_bytes_doubles():
    buf = bytearray(b"abcd")
    bigger = compact(buf, 0, 4)
    assert bigger is not buf and len(bigger) == 8 and bigger[:4] == b"abcd"
