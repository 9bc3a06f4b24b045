"""CPU time and peak memory of a process tree, from the kernel's own accounting.

The figures a proxy is judged by come from ``/proc``, never from the load
generator: ``utime + stime`` of ``/proc/PID/stat`` (every thread of the
process, in clock ticks) and ``VmHWM`` of ``/proc/PID/status`` (the peak
resident set since the process started).  Multi-process proxies (nginx's
master and worker) are measured as the sum over the tree rooted at the PID
we started, found through each process's parent PID.

Linux only; every function raises ``ProcessGoneError`` when the root
process has exited, so a proxy that crashed mid-run is reported, not
silently counted as zero.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = [
    "CLOCK_TICKS",
    "ProcessGoneError",
    "TreeSample",
    "cpu_seconds",
    "descendants",
    "peak_rss_kib",
    "sample",
]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessGoneError(RuntimeError):
    pass


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        raise ProcessGoneError(f"process {pid} has exited") from None
    # The command name is in parentheses and may itself hold ") ": split at the last one.
    return raw[raw.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds that process ``pid`` (all its threads) has used."""
    fields = _stat_fields(pid)
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    if fields[0] == "Z":
        raise ProcessGoneError(f"process {pid} has exited (zombie)")
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_kib(pid: int) -> int:
    """VmHWM of ``pid`` in KiB: its peak resident set size since it started."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    raise ProcessGoneError(f"process {pid} has exited")


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it, root first.

    One pass over /proc; a process that exits during the pass is left out.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry))
        except (ProcessGoneError, ValueError, OSError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree = [root]
    for pid in tree:  # grows while it is walked: breadth-first
        tree.extend(children.get(pid, ()))
    return tree


@dataclass(frozen=True, slots=True)
class TreeSample:
    """CPU seconds and peak RSS (KiB) per PID of a process tree at one moment."""

    cpu: dict[int, float]
    rss_kib: dict[int, int]

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    @property
    def rss_max_kib(self) -> int:
        """The largest process's peak: for nginx and HAProxy, the worker's."""
        return max(self.rss_kib.values(), default=0)

    @property
    def rss_sum_kib(self) -> int:
        return sum(self.rss_kib.values())

    def cpu_since(self, before: TreeSample) -> float:
        """CPU seconds used between ``before`` and this sample.

        A process that exited in between loses its share since ``before``;
        one that appeared counts from zero, since it used nothing earlier.
        """
        return sum(cpu - before.cpu.get(pid, 0.0) for pid, cpu in self.cpu.items())


def sample(root: int) -> TreeSample:
    """CPU and peak RSS of ``root`` and its descendants; ProcessGoneError if ``root`` has exited."""
    cpu: dict[int, float] = {}
    rss: dict[int, int] = {}
    for pid in descendants(root):
        try:
            cpu[pid] = cpu_seconds(pid)
            rss[pid] = peak_rss_kib(pid)
        except ProcessGoneError:
            if pid == root:
                raise
    if root not in cpu:
        raise ProcessGoneError(f"process {root} has exited")
    return TreeSample(cpu=cpu, rss_kib=rss)
