"""The bytes of the next write to a transport, gathered in order.

Theory of operation: a message leaves the proxy in one write, made of
pieces from several places: runs of lines of the receive buffer, the fields
the proxy adds, the body bytes at hand.  ``Outgoing`` gathers them.  Small
pieces are copied together, so the write is one plain ``write`` of one
``bytes`` (cheaper than a vectored write of small pieces); a slice of a
receive buffer of ``LARGE`` bytes or more is kept by reference, a
memoryview, so a large body is never copied, and the write is then vectored
(``writelines``).  Compiled, the small pieces are copied into one C buffer,
which makes no Python object per piece.

One Outgoing serves every connection of an event loop (``ProxyContext.out``):
it is filled and then sent or emptied within one callback, and never holds
bytes when control returns to the loop.  Bytes that must wait (a request
waiting for its upstream connection) are taken out as ``bytes`` (``take``).
A slice kept by reference must not change until the transport has sent it:
after a write that ``lent`` one, its owner asks the transport whether it
still holds data (``get_write_buffer_size()``, see buffers.py).
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

# Slices from this size up are written from the receive buffer, not copied.
LARGE = 16 * 1024
_LARGE = LARGE  # the same, as a C integer when compiled (outgoing.pxd)


class Outgoing:
    """Pieces of bytes for one write; see the module docstring.

    The branches on ``cython.compiled`` are the fast path: small pieces go
    to the C buffer of outgoing.pxd instead of a list of Python objects.
    """

    __slots__ = ("by_ref", "lent", "pieces", "size", "small")

    def __init__(self) -> None:
        # Sealed pieces: bytes, and memoryviews of large slices, in order.
        self.pieces: list = []
        # Total bytes gathered.
        self.size: int = 0
        # A slice is held by reference (a memoryview of its buffer).
        self.by_ref: bool = False
        # The last send handed such a slice to its transport.
        self.lent: bool = False
        if cython.compiled:
            self._init_buffer()  # Fast path: a C buffer for the small pieces
        else:
            self.small: list = []

    def add(self, data: bytes) -> None:
        """Appends a copy of ``data``."""
        if cython.compiled:
            self._copy(data, 0, len(data))  # Fast path: a memcpy
        else:
            self.small.append(data)
        self.size += len(data)

    def add_slice(self, buf: bytearray, start: int, end: int) -> None:
        """Appends ``buf[start:end]``: copied, or by reference from LARGE bytes up."""
        n = end - start
        if n >= _LARGE:
            self._seal()
            self.pieces.append(memoryview(buf)[start:end])
            self.by_ref = True
        elif cython.compiled:
            self._copy(buf, start, n)  # Fast path: a memcpy
        else:
            self.small.append(memoryview(buf)[start:end])
            self.by_ref = True
        self.size += n

    def _seal(self) -> None:
        """Moves the small pieces gathered so far to ``pieces``, as one bytes."""
        if cython.compiled:
            if self.used:
                self.pieces.append(self._small_bytes())
                self.used = 0
        elif self.small:
            self.pieces.append(b"".join(self.small))
            self.small.clear()

    def clear(self) -> None:
        """Drops everything gathered."""
        if self.pieces:
            self.pieces.clear()
        self.size = 0
        self.by_ref = False
        if cython.compiled:
            self.used = 0
        else:
            self.small.clear()

    def take(self) -> bytes:
        """Everything gathered, as one bytes object; leaves this empty."""
        if cython.compiled and not self.pieces:
            data = self._small_bytes()
            self.used = self.size = 0
            return data
        self._seal()
        pieces = self.pieces
        data = pieces[0] if len(pieces) == 1 and type(pieces[0]) is bytes else b"".join(pieces)
        self.clear()
        return data

    def send(self, transport) -> bool:
        """One write of everything gathered; leaves this empty, and ``lent``
        True if the write handed over a slice of a buffer by reference.

        Returns False, writing nothing, when the transport is already closing:
        its protocol's connection_lost is then on its way (uvloop schedules it)
        and will end the exchange; writing now would raise.  The data path
        calls ``send_to`` with the connection's Sink instead.
        """
        return self.send_to(Sink(transport))

    def send_to(self, sink: Sink) -> bool:
        """``send`` to the transport of ``sink``, through its kept methods."""
        lent = self.by_ref
        if sink.is_closing():
            self.clear()
            self.lent = False
            return False
        if self.pieces:
            self._seal()
            sink.writelines(self.pieces)
        elif cython.compiled:
            if self.used:
                sink.write(self._small_bytes())
        elif self.small:
            small = self.small
            sink.write(small[0] if len(small) == 1 else b"".join(small))
        self.clear()
        self.lent = lent
        return True


if not cython.compiled:
    # Compiled callers get put() inlined from outgoing.pxd: the same as add().
    Outgoing.put = Outgoing.add


class Sink:
    """The methods of a transport that the data path calls on every request,
    looked up once per connection (``connection_made``).

    Fast path: calling ``transport.write(data)`` by name looks the method up
    on the transport's type at every call; a bound method kept here is
    called directly.  A connection's transport never changes, so neither do
    these.
    """

    __slots__ = ("is_closing", "transport", "write", "writelines")

    def __init__(self, transport) -> None:
        self.transport = transport
        self.is_closing = transport.is_closing
        self.write = transport.write
        self.writelines = transport.writelines

    def send_bytes(self, data: bytes) -> bool:
        """One write of ``data``; like ``Outgoing.send``, False and nothing
        written when the transport is already closing."""
        if self.is_closing():
            return False
        self.write(data)
        return True
