"""The lazily re-armed connection timer."""

from fastproxy.deadline import Deadline


class _Loop:
    def __init__(self):
        self.now = 0.0
        self.handles = []

    def time(self):
        return self.now

    def call_at(self, when, callback):
        handle = _Handle(when, callback)
        self.handles.append(handle)
        return handle

    def run_until(self, t):
        self.now = t
        for handle in sorted(self.handles, key=lambda h: h.when):
            if handle.when <= t and not handle.cancelled and not handle.ran:
                handle.ran = True
                handle.callback()


class _Handle:
    def __init__(self, when, callback):
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.ran = False

    def cancel(self):
        self.cancelled = True


def test_later_deadlines_reuse_the_armed_handle():
    loop = _Loop()
    fired = []
    d = Deadline(loop, lambda: fired.append(loop.now), clock=loop.time)
    d.set(10)
    for t in range(1, 6):
        d.set(10 + t)  # a busy connection pushing its deadline: no new handle
    assert len(loop.handles) == 1
    loop.run_until(10)  # the armed handle finds the deadline moved, re-arms once
    assert fired == [] and len(loop.handles) == 2
    loop.run_until(15)
    assert fired == [15]


def test_earlier_deadline_re_arms():
    loop = _Loop()
    fired = []
    d = Deadline(loop, lambda: fired.append(loop.now), clock=loop.time)
    d.set(60)
    d.set(5)
    assert loop.handles[0].cancelled
    loop.run_until(5)
    assert fired == [5]


def test_clear_and_cancel():
    loop = _Loop()
    fired = []
    d = Deadline(loop, lambda: fired.append(loop.now), clock=loop.time)
    d.set(5)
    d.clear()
    loop.run_until(5)
    assert fired == []
    d.set(7)
    d.cancel()
    loop.run_until(8)
    assert fired == [] and d.handle is None


def test_the_default_clock_is_the_monotonic_one():
    import time

    d = Deadline(_Loop(), lambda: None)
    before = time.monotonic()
    assert before <= d.now() <= time.monotonic()


def test_close_lets_go_of_the_callback():
    # The callback is usually a bound method of the deadline's owner: kept,
    # it would hold the owner in a reference cycle after the owner is gone.
    loop = _Loop()
    fired = []

    class Owner:
        def on_deadline(self):
            fired.append(True)

    owner = Owner()
    d = Deadline(loop, owner.on_deadline, clock=lambda: loop.now)
    d.set(5.0)
    d.close()
    assert d.handle is None
    d.set(6.0)  # a late set on a closed deadline is harmless
    loop.run_until(10.0)
    assert fired == []
