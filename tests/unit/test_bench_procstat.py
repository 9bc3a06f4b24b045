"""fastproxy.bench.procstat: CPU time and peak RSS of real child processes, read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fastproxy.bench import procstat

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc")

# Obeys one command per stdin line and answers one line when it is done.
#   burn S   use S seconds of CPU          alloc M  allocate and touch M MiB
#   free     drop the allocation           spawn    start a grandchild that burns 0.3 s of CPU
CHILD = r"""
import subprocess, sys, time
held = None
grandchild = None
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "burn":
        start = time.process_time()
        while time.process_time() - start < float(arg):
            pass
        print("burned", flush=True)
    elif cmd == "alloc":
        held = bytearray(int(arg) * 1024 * 1024)
        for i in range(0, len(held), 4096):
            held[i] = 1
        print("allocated", flush=True)
    elif cmd == "free":
        held = None
        print("freed", flush=True)
    elif cmd == "spawn":
        grandchild = subprocess.Popen(
            [sys.executable, "-c",
             "import sys, time\n"
             "s = time.process_time()\n"
             "while time.process_time() - s < 0.3: pass\n"
             "print('burned', flush=True)\n"
             "sys.stdin.read()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        grandchild.stdout.readline()
        print(grandchild.pid, flush=True)
if grandchild is not None:
    grandchild.stdin.close()
    grandchild.wait()
"""


class Child:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid = self.proc.pid

    def ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer, f"the child died on {command!r}"
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def child():
    c = Child()
    yield c
    c.close()


def test_cpu_seconds_counts_what_the_process_burned(child):
    before = procstat.cpu_seconds(child.pid)
    wall = time.monotonic()
    assert child.ask("burn 0.3") == "burned"
    wall = time.monotonic() - wall
    used = procstat.cpu_seconds(child.pid) - before
    # Clock ticks are 1/100 s: allow one tick each side.
    assert 0.3 - 2 / procstat.CLOCK_TICKS <= used <= wall + 2 / procstat.CLOCK_TICKS


def test_idle_process_uses_no_cpu(child):
    child.ask("burn 0.01")
    before = procstat.sample(child.pid)
    after = procstat.sample(child.pid)
    assert after.cpu_since(before) <= 2 / procstat.CLOCK_TICKS


def test_peak_rss_is_the_high_water_mark(child):
    small = procstat.peak_rss_kib(child.pid)
    assert child.ask("alloc 64") == "allocated"
    peak = procstat.peak_rss_kib(child.pid)
    assert peak >= small + 60 * 1024
    assert child.ask("free") == "freed"
    # The memory is gone but the peak stays: VmHWM, not VmRSS (the kernel's
    # per-CPU RSS counters make both approximate by a few pages).
    assert procstat.peak_rss_kib(child.pid) >= small + 60 * 1024


def test_tree_sums_cpu_over_descendants(child):
    before = procstat.sample(child.pid)
    grandchild = int(child.ask("spawn"))
    after = procstat.sample(child.pid)
    assert procstat.descendants(child.pid) == [child.pid, grandchild]
    assert set(after.cpu) == {child.pid, grandchild}
    # The grandchild is new since `before`: all of its 0.3 s count.
    assert after.cpu_since(before) >= 0.3 - 2 / procstat.CLOCK_TICKS
    assert after.cpu[grandchild] >= 0.3 - 2 / procstat.CLOCK_TICKS
    assert after.rss_sum_kib > after.rss_max_kib >= after.rss_kib[grandchild]


def test_exited_process_raises(child):
    child.proc.stdin.close()
    child.proc.wait(10)
    with pytest.raises(procstat.ProcessGoneError):
        procstat.sample(child.pid)
    with pytest.raises(procstat.ProcessGoneError):
        procstat.peak_rss_kib(child.pid)


def test_zombie_counts_as_exited():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    proc.stdout.read()  # EOF: it has exited, and is not reaped yet
    try:
        deadline = time.monotonic() + 10
        while procstat._stat_fields(proc.pid)[0] != "Z":  # exit and zombie state are not one event
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.005)
        with pytest.raises(procstat.ProcessGoneError, match="zombie"):
            procstat.cpu_seconds(proc.pid)
    finally:
        proc.wait()


def test_stat_parsing_survives_odd_command_names(tmp_path):
    # A command name with ") " in it must not shift the fields.
    odd = tmp_path / "x) y"
    odd.symlink_to(sys.executable)
    proc = subprocess.Popen([str(odd), "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert procstat._stat_fields(proc.pid)[1].isdigit()  # ppid
        assert int(procstat._stat_fields(proc.pid)[1]) == procstat.os.getpid()
        assert procstat.cpu_seconds(proc.pid) >= 0
    finally:
        proc.stdin.close()
        proc.wait(10)
