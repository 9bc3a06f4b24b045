"""Receive buffers, shared by every connection of one event loop.

A connection holds a buffer only while it has bytes to keep (a partial head,
a request in flight); an idle keep-alive connection holds none, so idle
connections cost no buffer memory.  A buffer is lent when a transport still
references a slice of it after a write (the transport sends from our memory
instead of copying): its owner then drops it for a fresh one and never
returns it here, since the transport may still be reading it.

Compiled, a new buffer is left uninitialised instead of zero-filled: only
the bytes the kernel writes into it are ever read (below ``end``), and
untouched pages cost no memory, so a 64 KiB buffer that carries a small
request keeps one resident page, not sixteen.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

DEFAULT_SIZE = 64 * 1024


class BufferPool:
    """Free list of equal-sized bytearrays.  Not thread-safe: one per loop."""

    __slots__ = ("free", "max_free", "size")

    def __init__(self, size: int = DEFAULT_SIZE, max_free: int = 256) -> None:
        self.size = size
        self.free: list = []
        self.max_free = max_free

    def acquire(self) -> bytearray:
        if self.free:
            return self.free.pop()
        return new_buffer(self.size)

    def release(self, buf: bytearray) -> None:
        """Takes back a buffer that no transport references any more."""
        if len(self.free) < self.max_free and len(buf) == self.size:
            self.free.append(buf)


def new_buffer(size: int) -> bytearray:
    """A bytearray of ``size`` bytes whose contents are not to be read before
    they are written (zeros in the pure-Python twin)."""
    return _uninitialised(size) if cython.compiled else bytearray(size)  # noqa: F821 (C inline, buffers.pxd)


def buffer_size_for(max_header_bytes: int) -> int:
    """A buffer size that holds any acceptable head with room for body bytes."""
    size = DEFAULT_SIZE
    while size < max_header_bytes + 8192:
        size *= 2
    return size


def compact(buf: bytearray, start: int, end: int) -> bytearray:
    """The unread bytes buf[start:end] moved to the front of a buffer: ``buf``
    itself when some were consumed, else a new one twice as big (a full
    buffer of unread bytes).  The caller's offsets become 0 and end - start.
    A safety net for receive buffers: the read paths block before a buffer
    fills, so this is off the hot path."""
    n = end - start
    if start > 0:
        buf[0:n] = buf[start:end]
        return buf
    bigger = new_buffer(len(buf) * 2)
    bigger[0:n] = buf[0:n]
    return bigger
