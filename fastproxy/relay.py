"""Message bodies on their way through: find where a body ends and re-frame
it if the receiver needs another framing.

Theory of operation: the receiving protocol calls ``BodyRelay.frame`` with
the bytes it holds; the relay decides how many of them belong to the body
(Content-Length countdown, the chunked scanner, or all of them until the
peer closes) and adds what the receiver must get to the next write
(outgoing.py): slices of the receive buffer (a large one by reference, no
copy), plus, when re-framing to chunked, the size line and CRLF around
them.  Only de-chunking (for an HTTP/1.0 client) makes new bytes, as the
chunk data must be cut out of the coding.

Bytes past the end of the body are left to the caller: the next message on
a keep-alive connection, or garbage that makes the connection unusable.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext
from fastproxy.outgoing import Outgoing
from fastproxy.parser import codes

_ext.loaded(__name__, cython.compiled)

BODY_NONE = codes.BODY_NONE
BODY_LENGTH = codes.BODY_LENGTH
BODY_CHUNKED = codes.BODY_CHUNKED
BODY_UNTIL_CLOSE = codes.BODY_UNTIL_CLOSE

# How the receiver gets the body.
OUT_PASS = 0     # as it came
OUT_CHUNK = 1    # read-until-close body re-framed as chunked (HTTP/1.1 client)
OUT_DECHUNK = 2  # chunked body decoded for a receiver that closes at the end (HTTP/1.0)

LAST_CHUNK = b"0\r\n\r\n"
_CRLF = b"\r\n"


class BodyRelay:
    """Framing state of one body in one direction; reused across messages."""

    __slots__ = ("decoder", "done", "framing", "left", "out", "total")

    def __init__(self, decoder) -> None:
        self.decoder = decoder
        self.framing: int = BODY_NONE
        self.out: int = OUT_PASS
        self.left: int = 0
        self.done: bool = True
        self.total: int = 0

    def begin(self, framing: int, content_length: int, out: int) -> None:
        """Starts a body with the parser's framing and length."""
        self.framing = framing
        self.out = out
        self.left = content_length if framing == BODY_LENGTH else 0
        self.total = 0
        self.done = framing == BODY_NONE or (framing == BODY_LENGTH and content_length == 0)
        if framing == BODY_CHUNKED:
            self.decoder.reset()

    def frame(self, buf: bytearray, start: int, end: int, outgoing: Outgoing) -> int:
        """Adds to ``outgoing`` what the receiver gets for ``buf[start:end]`` and
        returns how many of those bytes belong to the body.

        Raises HttpParseError on a malformed chunked body, before adding
        anything of the bad input.  Never called once ``done``.
        """
        framing = self.framing
        if framing == BODY_LENGTH:
            n = end - start
            n = min(n, self.left)
            self.left -= n
            self.total += n
            if n:
                outgoing.add_slice(buf, start, start + n)
            if self.left == 0:
                self.done = True
            return n
        if framing == BODY_CHUNKED:
            if self.out == OUT_DECHUNK:
                data, n = self.decoder.decode(buf, start, end)
                if data:
                    outgoing.add(data)
            else:
                n = self.decoder.scan(buf, start, end)
                if n:
                    outgoing.add_slice(buf, start, start + n)
            self.total = self.decoder.data_bytes
            if self.decoder.done:
                self.done = True
            return n
        if framing == BODY_UNTIL_CLOSE:
            n = end - start
            self.total += n
            if n:
                if self.out == OUT_CHUNK:
                    outgoing.add(b"%x\r\n" % n)
                    outgoing.add_slice(buf, start, end)
                    outgoing.add(_CRLF)
                else:
                    outgoing.add_slice(buf, start, end)
            return n
        return 0

    def bypassed(self, n: int) -> None:
        """``n`` bytes of a counted body went by another way (splice.py)."""
        self.left -= n
        self.total += n
        if self.left == 0:
            self.done = True

    def finish(self, outgoing: Outgoing) -> None:
        """The peer closed a read-until-close body: that is its clean end."""
        if self.out == OUT_CHUNK:
            outgoing.add(LAST_CHUNK)
        self.done = True

