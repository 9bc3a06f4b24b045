"""Runs the benchmark: origin, proxies, interleaved wrk rounds, accounting.

Theory of operation: one origin process serves every scenario.  For each
scenario, every available target is started on its own port with a
generated config and probed until a request through it answers 200; each
gets ``warmup`` seconds of unmeasured load; then come ``repeats`` rounds in
which every target is measured once, in the same order (A B C, A B C, ...),
so a slow drift of the machine touches all targets alike.  Around each
measured wrk run the target's process tree is sampled from /proc: the CPU
time used during the run over the requests wrk completed gives the CPU cost
of one proxied request.  The targets of a scenario are stopped before the
next scenario starts, so each scenario's peak RSS is its own.

Pinning (when the machine has two or more usable cores): the proxy under
test on the first core, wrk and the origin on the others.

A target that is missing, cannot run a scenario, fails to start or dies is
recorded as skipped with the reason; only a missing wrk or no target at all
is an error (:class:`BenchError`).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from fastproxy.bench import procstat, wrk
from fastproxy.bench.launch import Process, StartError, free_port, pinned, wait_http
from fastproxy.bench.options import Options
from fastproxy.bench.results import Results, Run, Skip
from fastproxy.bench.scenarios import Scenario, select
from fastproxy.bench.targets import Setup, Target, TlsFiles, Unsupported, all_targets, first_line
from fastproxy.bench.targets.fastproxy import FastproxyTarget
from fastproxy.bench.tls import make_tls

__all__ = ["BenchError", "CpuPlan", "QuietReporter", "Reporter", "plan_cpus", "run_bench"]

# wrk gets this long beyond its duration before it is killed.
WRK_GRACE_S = 30.0


class BenchError(RuntimeError):
    pass


class Reporter(Protocol):
    """Where the runner reports progress; the terminal display implements it."""

    def begin(self, total_seconds: float) -> None: ...
    def step(self, text: str) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def note(self, text: str) -> None: ...
    def run_done(self, run: Run) -> None: ...


class QuietReporter:
    """A Reporter that prints nothing and keeps what it was told (for programs and tests)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.advanced = 0.0
        self.notes: list[str] = []
        self.runs: list[Run] = []

    def begin(self, total_seconds: float) -> None:
        self.total = total_seconds

    def step(self, text: str) -> None:
        pass

    def advance(self, seconds: float) -> None:
        self.advanced += seconds

    def note(self, text: str) -> None:
        self.notes.append(text)

    def run_done(self, run: Run) -> None:
        self.runs.append(run)


class CpuPlan:
    """Which cores the proxy and the load (wrk, origin) run on; None means not pinned."""

    def __init__(self, proxy: list[int] | None, load: list[int] | None, note: str) -> None:
        self.proxy = proxy
        self.load = load
        self.note = note

    def as_dict(self) -> dict:
        return {"proxy_cpus": self.proxy, "load_cpus": self.load, "note": self.note}


def plan_cpus(pin: bool, available: Sequence[int] | None = None) -> CpuPlan:
    """Proxy on the first usable core, wrk and origin on the rest; unpinned with fewer than two."""
    cpus = sorted(os.sched_getaffinity(0) if available is None else available)
    if not pin:
        return CpuPlan(None, None, "not pinned (--no-pin)")
    if len(cpus) < 2:
        return CpuPlan(None, None, "not pinned: fewer than two usable cores")
    if shutil.which("taskset") is None:
        return CpuPlan(None, None, "not pinned: taskset is not installed (util-linux)")
    rest = cpus[1:]
    return CpuPlan(
        [cpus[0]], rest, f"proxy on CPU {cpus[0]}; wrk and origin on CPU {','.join(map(str, rest))}"
    )


def run_bench(options: Options, reporter: Reporter, workdir: Path) -> Results:
    """Runs every selected scenario against every selected target; raises BenchError."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: it is the load generator (apt-get install -y wrk)")
    try:
        scenarios = select(options.scenarios, options.quick)
    except ValueError as exc:
        raise BenchError(str(exc)) from None
    results = Results(meta={})
    targets = []
    for target in all_targets():
        if target.name not in options.targets:
            continue
        reason = target.unavailable()
        if reason is None:
            targets.append(target)
        else:
            results.skipped.append(Skip(target.name, "", reason))
            reporter.note(f"skipping {target.name}: {reason}")
    if not targets:
        raise BenchError("no proxy to measure: " + "; ".join(s.reason for s in results.skipped))
    cpus = plan_cpus(options.pin)
    threads = options.wrk_threads or (len(cpus.load) if cpus.load else 1)
    results.meta = _meta(options, scenarios, targets, cpus, threads)
    tls, why = (None, "")
    if any(s.route == "tls" for s in scenarios):
        tls, why = make_tls(workdir)
        if tls is None:
            reporter.note(f"TLS scenarios will be skipped: {why}")
    timing = options.timing
    per_target = timing.warmup + timing.repeats * timing.duration
    reporter.begin(per_target * len(scenarios) * len(targets))
    started = time.time()
    origin = _start_origin(workdir, max(s.origins for s in scenarios), cpus)
    try:
        ports = _origin_ports(origin)
        for scenario in scenarios:
            origins = tuple(("127.0.0.1", p) for p in ports[: scenario.origins])
            _run_scenario(scenario, targets, origins, tls, options, cpus, threads, workdir, results, reporter)
    finally:
        origin.stop()
    results.meta["elapsed_s"] = round(time.time() - started, 1)
    results.meta["finished"] = _now()
    return results


def _run_scenario(
    scenario: Scenario,
    targets: list[Target],
    origins: tuple[tuple[str, int], ...],
    tls: TlsFiles | None,
    options: Options,
    cpus: CpuPlan,
    threads: int,
    workdir: Path,
    results: Results,
    reporter: Reporter,
) -> None:
    scenario_dir = workdir / scenario.name
    scenario_dir.mkdir()
    script = scenario_dir / "wrk.lua"
    script.write_text(
        wrk.lua_script(scenario.paths, method=scenario.method, body_bytes=scenario.request_body_bytes),
        encoding="ascii",
    )
    run = _ScenarioRun(scenario, options, cpus, threads, script, results, reporter)
    with contextlib.ExitStack() as stack:
        for target in targets:
            run.start(target, scenario_dir / target.name, origins, tls, stack)
        run.warm_up()
        for rnd in range(options.timing.repeats):
            run.round(rnd)


class _ScenarioRun:
    """One scenario's targets through start, warm-up and rounds; failures become skips."""

    def __init__(
        self,
        scenario: Scenario,
        options: Options,
        cpus: CpuPlan,
        threads: int,
        script: Path,
        results: Results,
        reporter: Reporter,
    ) -> None:
        self.scenario = scenario
        self.timing = options.timing
        self.cpus = cpus
        self.threads = threads
        self.script = script
        self.results = results
        self.reporter = reporter
        # (target, its process, its port), in start order; failed ones leave it.
        self.running: list[tuple[Target, Process, int]] = []

    def skip(self, target: Target, reason: str, done_seconds: float = 0.0) -> None:
        """Records why ``target`` stops here and moves the progress past its remaining load."""
        self.results.skipped.append(Skip(target.name, self.scenario.name, reason))
        self.reporter.note(f"{self.scenario.name}: skipping {target.name}: {reason}")
        per_target = self.timing.warmup + self.timing.repeats * self.timing.duration
        self.reporter.advance(per_target - done_seconds)
        self.running = [r for r in self.running if r[0] is not target]

    def start(
        self,
        target: Target,
        target_dir: Path,
        origins: tuple[tuple[str, int], ...],
        tls: TlsFiles | None,
        stack: contextlib.ExitStack,
    ) -> None:
        """Starts ``target`` and waits until a request through it answers 200; stopped by ``stack``."""
        self.reporter.step(f"{self.scenario.name}: starting {target.name}")
        target_dir.mkdir()
        setup = Setup(target_dir, free_port(), origins, self.scenario, tls)
        try:
            argv = target.prepare(setup)
        except Unsupported as exc:
            self.skip(target, str(exc))
            return
        try:
            proc = Process(
                target.name, pinned(argv, self.cpus.proxy), target_dir / "output.log", target.environment()
            )
        except OSError as exc:
            self.skip(target, f"could not be started: {exc}")
            return
        stack.callback(proc.stop)
        try:
            wait_http(proc, setup.port, self.scenario.path, tls=self.scenario.route == "tls")
        except StartError as exc:
            proc.stop()
            self.skip(target, f"did not start: {exc}")
            return
        self.running.append((target, proc, setup.port))

    def warm_up(self) -> None:
        if not self.timing.warmup:
            return
        for target, _proc, port in list(self.running):
            self.reporter.step(f"{self.scenario.name}: warming up {target.name}")
            try:
                _wrk(self.scenario, port, self.script, self.timing.warmup, self.threads, self.cpus)
            except wrk.WrkError as exc:
                self.skip(target, f"failed during warm-up: {exc}")
                continue
            self.reporter.advance(self.timing.warmup)

    def round(self, rnd: int) -> None:
        """Measures every running target once, in start order."""
        timing = self.timing
        for target, proc, port in list(self.running):
            self.reporter.step(f"{self.scenario.name}: round {rnd + 1}/{timing.repeats}: {target.name}")
            try:
                run = _measure(
                    target,
                    proc,
                    self.scenario,
                    port,
                    self.script,
                    rnd,
                    timing.duration,
                    self.threads,
                    self.cpus,
                )
            except (wrk.WrkError, procstat.ProcessGoneError) as exc:
                reason = proc.exit_report() if not proc.alive() else str(exc)
                self.skip(
                    target, f"failed in round {rnd + 1}: {reason}", timing.warmup + rnd * timing.duration
                )
                continue
            self.results.runs.append(run)
            self.reporter.run_done(run)
            self.reporter.advance(timing.duration)


def _wrk(
    scenario: Scenario, port: int, script: Path, seconds: int, threads: int, cpus: CpuPlan
) -> wrk.WrkResult:
    url = f"{scenario.scheme}://127.0.0.1:{port}{scenario.path}"
    argv = wrk.command(
        url, connections=scenario.connections, duration_s=seconds, threads=threads, script=str(script)
    )
    try:
        out = subprocess.run(
            pinned(argv, cpus.load),
            capture_output=True,
            text=True,
            timeout=seconds + WRK_GRACE_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise wrk.WrkError(f"wrk did not finish within {seconds + WRK_GRACE_S:g}s") from None
    if out.returncode != 0:
        raise wrk.WrkError(
            f"wrk failed (status {out.returncode}): {(out.stderr or out.stdout).strip()[-300:]}"
        )
    return wrk.parse_output(out.stdout)


def _measure(
    target: Target,
    proc: Process,
    scenario: Scenario,
    port: int,
    script: Path,
    rnd: int,
    seconds: int,
    threads: int,
    cpus: CpuPlan,
) -> Run:
    before = procstat.sample(proc.pid)
    result = _wrk(scenario, port, script, seconds, threads, cpus)
    after = procstat.sample(proc.pid)
    return Run(
        target=target.name,
        scenario=scenario.name,
        round=rnd,
        requests=result.requests,
        duration_s=result.duration_us / 1e6,
        requests_per_s=result.requests_per_s,
        latency_us=result.latency_us,
        errors=result.errors,
        cpu_s=after.cpu_since(before),
        rss_peak_kib=after.rss_max_kib,
        rss_peak_sum_kib=after.rss_sum_kib,
        processes=len(after.cpu),
        bytes=result.bytes,
        wrk_source=result.source,
    )


# -- the origin ---------------------------------------------------------------


def _start_origin(workdir: Path, count: int, cpus: CpuPlan) -> Process:
    argv = [sys.executable, "-m", "fastproxy.bench.origins", "--count", str(count)]
    return Process("origin", pinned(argv, cpus.load), workdir / "origin.log", FastproxyTarget().environment())


def _origin_ports(origin: Process, timeout: float = 15.0) -> list[int]:
    """The ports the origin process announced; BenchError if it does not within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not origin.alive():
            raise BenchError(f"the origin did not start: {origin.exit_report()}")
        for line in origin.log.read_text(errors="replace").splitlines():
            if line.startswith('{"ports"'):
                return [int(p) for p in json.loads(line)["ports"]]
        time.sleep(0.02)  # its first line is not out yet
    origin.stop()
    raise BenchError(f"the origin announced no ports within {timeout:g}s: {origin.tail()}")


# -- what the run was ---------------------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _meta(
    options: Options, scenarios: list[Scenario], targets: list[Target], cpus: CpuPlan, threads: int
) -> dict:
    return {
        "command": "fastproxy bench "
        + " ".join(sys.argv[2:] if sys.argv[1:2] == ["bench"] else sys.argv[1:]),
        "started": _now(),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)),
            "memory_kib": _mem_total_kib(),
            "kernel": platform.release(),
            "os": _os_name(),
            "python": platform.python_version(),
        },
        "pinning": cpus.as_dict(),
        "wrk": {"version": first_line(["wrk", "-v"]), "threads": threads},
        "timing": {
            "duration_s": options.timing.duration,
            "repeats": options.timing.repeats,
            "warmup_s": options.timing.warmup,
            "quick": options.quick,
        },
        "targets": {t.name: t.version() for t in targets},
        "scenarios": [
            {
                "name": s.name,
                "description": s.description,
                "path": s.path,
                "body_bytes": s.body_bytes,
                "connections": s.connections,
                "route": s.route,
                "method": s.method,
                "request_body_bytes": s.request_body_bytes,
            }
            for s in scenarios
        ],
    }


def _mem_total_kib() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None
