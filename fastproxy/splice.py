"""Large bodies moved socket to socket by the kernel, with splice(2).

A body of known length that nothing inspects or re-frames, between two plain
TCP connections, does not need to pass through our memory: the kernel moves
it from the sending socket into a pipe and from the pipe into the receiving
socket, handing over page references instead of copying bytes (the payload
is never copied into user space).  HAProxy does the same with its
``splice-request`` / ``splice-response`` options; nginx copies.  For a 1 MiB
body this takes two copies and most of the per-chunk work off the CPU.

Theory of operation: responses are spliced by their upstream connection
(upstream/connection.py), request bodies by their client connection
(downstream.py).  Either decides to splice once the head and the body bytes
that came with it have gone out through the receiving transport, whose
buffer is empty, so the spliced bytes follow them in order.  It pauses
reading on the sending transport and hands the two sockets to a
``BodySplice``, which loops: fill the pipe from the source, drain it into
the destination, until ``left`` bytes have passed, then hands control back.
When neither side can move, it waits for exactly one event: the destination
writable while the pipe holds bytes, else the source readable.  (A pipe may
refuse more while holding fewer bytes than its size, so "source readable"
with a non-empty pipe would spin.)

Both sockets are duplicated for the splice: the event loop refuses to watch
a descriptor its transport owns, and our duplicate keeps the socket alive
until the splice lets go of it, so a descriptor number freed and reused
elsewhere in the meantime can never receive these bytes.

Memory per splice is one pipe (``PIPE_BYTES`` of kernel pages at most);
idle pipes are kept, emptied, for the next body.
"""

from __future__ import annotations

import errno
import fcntl
import os

# Below this many body bytes left the set-up (descriptors, pipe, pausing
# the transport) costs more than the copies it saves.
MIN_BYTES = 64 * 1024
PIPE_BYTES = 256 * 1024
_KEEP_IDLE_PIPES = 16

_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_FILL_FLAGS = getattr(os, "SPLICE_F_MOVE", 1) | getattr(os, "SPLICE_F_NONBLOCK", 2)
_MORE = getattr(os, "SPLICE_F_MORE", 4)

_RETRY_LATER = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)


def available() -> bool:
    """True where the kernel and Python have splice(2) (Linux, Python 3.10+)."""
    return hasattr(os, "splice") and hasattr(os, "pipe2")


class Pipes:
    """The pipes of one event loop: taken by a splice, given back empty."""

    __slots__ = ("idle",)

    def __init__(self) -> None:
        self.idle: list = []

    def take(self) -> tuple:
        """A pipe (read end, write end), empty; raises OSError when out of
        descriptors."""
        if self.idle:
            return self.idle.pop()
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            # Fewer, larger moves; the kernel may refuse (pipe-max-size, quotas).
            fcntl.fcntl(w, _F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:
            pass  # the default size works, in more moves
        return r, w

    def give_back(self, pipe: tuple, empty: bool) -> None:
        if empty and len(self.idle) < _KEEP_IDLE_PIPES:
            self.idle.append(pipe)
        else:
            os.close(pipe[0])
            os.close(pipe[1])

    def close(self) -> None:
        for r, w in self.idle:
            os.close(r)
            os.close(w)
        self.idle.clear()


class BodySplice:
    """Moves ``left`` bytes from socket ``src_fd`` to socket ``dst_fd``.

    ``owner`` hears ``splice_moved(n)`` for every read from the source,
    ``splice_waiting(source)`` before each wait (True: for the source to
    send, False: for the destination to take more), then once
    ``splice_done()`` or ``splice_failed(source, error)`` (``error`` None:
    the source closed early); after either, this object holds nothing.
    ``cancel`` stops it silently.
    """

    __slots__ = ("dst", "in_pipe", "left", "loop", "owner", "pipe", "pipes", "src", "waiting")

    def __init__(self, loop, pipes: Pipes, src_fd: int, dst_fd: int, left: int, owner) -> None:
        self.loop = loop
        self.pipes = pipes
        self.owner = owner
        self.left = left
        self.in_pipe = 0
        self.waiting = -1  # the descriptor whose event is awaited
        self.src = self.dst = -1
        self.pipe = None
        try:
            self.pipe = pipes.take()
            self.src = os.dup(src_fd)
            self.dst = os.dup(dst_fd)
        except OSError:
            self._release()
            raise

    def run(self) -> None:
        """Moves what can move now; waits for the next event if not done."""
        if self.pipe is None:
            return  # ended, with an event of its last loop turn still queued
        pipe_r, pipe_w = self.pipe
        while True:
            moved = False
            if self.in_pipe == 0 and self.left > 0:
                try:
                    n = os.splice(self.src, pipe_w, self.left, flags=_FILL_FLAGS)
                except OSError as exc:
                    if exc.errno not in _RETRY_LATER:
                        self._fail(True, exc)
                        return
                else:
                    if n == 0:
                        self._fail(True, None)
                        return
                    self.in_pipe = n
                    self.left -= n
                    moved = True
                    self.owner.splice_moved(n)
            if self.in_pipe > 0:
                try:
                    n = os.splice(pipe_r, self.dst, self.in_pipe,
                                  flags=_FILL_FLAGS | _MORE if self.left else _FILL_FLAGS)
                except OSError as exc:
                    if exc.errno not in _RETRY_LATER:
                        self._fail(False, exc)
                        return
                else:
                    self.in_pipe -= n
                    moved = moved or n > 0
            if self.left == 0 and self.in_pipe == 0:
                owner = self.owner
                self._release()
                owner.splice_done()
                return
            if not moved:
                self._wait(self.dst if self.in_pipe else self.src)
                return

    def _wait(self, fd: int) -> None:
        if self.waiting != fd:
            self._unwatch()
            self.waiting = fd
            if fd == self.src:
                self.loop.add_reader(fd, self.run)
            else:
                self.loop.add_writer(fd, self.run)
        # Told at every wait, not only at a change: a deadline per wait.
        self.owner.splice_waiting(fd == self.src)

    def _unwatch(self) -> None:
        fd = self.waiting
        if fd >= 0:
            self.waiting = -1
            if fd == self.src:
                self.loop.remove_reader(fd)
            else:
                self.loop.remove_writer(fd)

    def _fail(self, source: bool, error) -> None:
        owner = self.owner
        self._release()
        owner.splice_failed(source, error)

    def cancel(self) -> None:
        self._release()

    def _release(self) -> None:
        self._unwatch()
        self.owner = None
        for fd in (self.src, self.dst):
            if fd >= 0:
                os.close(fd)
        self.src = self.dst = -1
        if self.pipe is not None:
            self.pipes.give_back(self.pipe, self.in_pipe == 0)
            self.pipe = None
