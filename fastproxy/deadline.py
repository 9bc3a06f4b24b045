"""One lazily re-armed timer per connection.

Setting a deadline is an attribute store: a timer handle is made only when
the armed timer fires before the current deadline (it re-arms itself for the
rest) or when the deadline moves earlier than the armed time.  A busy
keep-alive connection therefore makes about one handle per timeout period,
not one per request.

Deadlines are times of ``time.monotonic()``, the clock that the event
loops' ``time()`` follows (uvloop's to the millisecond, behind by at most
that much); compiled, it is read with a C call.
"""

from __future__ import annotations

from time import monotonic

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

# uvloop rounds timers to milliseconds: a timer may fire this early.
_SLACK = 0.002


def _nothing() -> None:
    pass


class Deadline:
    """Calls ``callback()`` once the monotonic time ``when`` has passed.

    ``set`` replaces the deadline, ``clear`` disarms it (the armed handle
    fires later and finds nothing due), ``cancel`` also drops the handle and
    must be called when the owner goes away, so that nothing keeps it alive.
    """

    __slots__ = ("armed_at", "callback", "clock", "handle", "loop", "when")

    def __init__(self, loop, callback, clock=None) -> None:
        """``clock``: the time source, if not time.monotonic (tests pass a fake one)."""
        self.loop = loop
        self.clock = clock
        self.callback = callback
        self.handle = None
        self.armed_at: float = 0.0
        self.when: float = 0.0

    def set(self, when: float) -> None:
        self.when = when
        if self.handle is None or when < self.armed_at:
            if self.handle is not None:
                self.handle.cancel()
            self.armed_at = when
            self.handle = self.loop.call_at(when, self._fire)

    def set_in(self, seconds: float) -> None:
        self.set(self.now() + seconds)

    def now(self) -> float:
        """The current time on this deadline's clock."""
        if cython.compiled and self.clock is None:
            return self._monotonic()  # Fast path: the same clock, read in C
        return (self.clock or monotonic)()

    def clear(self) -> None:
        self.when = 0.0

    def cancel(self) -> None:
        self.when = 0.0
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def close(self) -> None:
        """``cancel`` for an owner that is gone.  The callback, a bound method
        of the owner, would keep the owner and this object in a reference
        cycle, freed only by a cyclic collection: under connection churn
        thousands of closed connections waited for one."""
        self.cancel()
        self.callback = _nothing

    def _fire(self) -> None:
        self.handle = None
        when = self.when
        if when == 0.0:
            return
        if self.now() + _SLACK < when:
            self.armed_at = when
            self.handle = self.loop.call_at(when, self._fire)
            return
        self.when = 0.0
        self.callback()
