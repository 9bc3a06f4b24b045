"""``fastproxy bench``: fastproxy side by side with nginx and HAProxy, under wrk.

Files, in the order a run uses them:
    ``options.py``    the command's options and timings (full and --quick)
    ``scenarios.py``  response sizes, concurrencies, route kinds
    ``targets/``      nginx, HAProxy, fastproxy: equivalent generated configs
    ``origins.py``    the origin process (fastproxy.origin on several ports)
    ``launch.py``     starting, pinning (taskset), probing, stopping processes
    ``wrk.py``        wrk's argv, its Lua done() script, parsing its output
    ``procstat.py``   CPU time and peak RSS from /proc
    ``runner.py``     the interleaved rounds
    ``results.py``    raw runs, medians, ratios to nginx
    ``report.py``, ``display.py``, ``chart.py``: JSON and Markdown, the terminal, the PNG

rich (terminal) and matplotlib (chart) are the optional extra ``bench``;
they are imported only when a run needs them, so nothing else in fastproxy
depends on them.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import signal
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

_EXTRA_HINT = "pip install 'fastproxy-edge[bench]'"


def _missing(modules: list[str]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _list_scenarios() -> int:
    from fastproxy.bench.scenarios import QUICK, SCENARIOS

    for s in SCENARIOS:
        print(f"{s.name:<16} {'quick ' if s.name in QUICK else '      '}{s.description}")
    return 0


def main(args: argparse.Namespace) -> int:
    """Runs ``fastproxy bench`` with parsed ``args`` (see options.add_arguments); the exit code."""
    if args.list:
        return _list_scenarios()
    missing = _missing(["rich"] + (["matplotlib"] if args.out is not None else []))
    if missing:
        print(
            f"fastproxy bench needs {' and '.join(missing)} (the 'bench' extra): {_EXTRA_HINT}",
            file=sys.stderr,
        )
        return 1
    from fastproxy.bench.options import resolve

    options = resolve(args)
    # SIGTERM unwinds like Ctrl-C, so the proxies and the origin are stopped, not orphaned.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _run(options)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _run(options) -> int:
    from rich.console import Console

    from fastproxy.bench.display import RichReporter, print_table
    from fastproxy.bench.results import summarize
    from fastproxy.bench.runner import BenchError, run_bench

    # Not a terminal (a log, CI): wide enough that the table never wraps.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    workdir = Path(tempfile.mkdtemp(prefix="fastproxy-bench-"))
    workdir.chmod(0o755)  # nginx's worker runs unprivileged and must reach its prefix
    try:
        try:
            reporter = RichReporter(console)
            reporter.start()
            try:
                results = run_bench(options, reporter, workdir)
            finally:
                reporter.stop()
        except BenchError as exc:
            console.print(f"[red]fastproxy bench: {exc}", highlight=False)
            return 1
        scenario_order = [s["name"] for s in results.meta["scenarios"]]
        summary = summarize(results.runs, scenario_order, options.targets)
        print_table(console, results, summary)
        if options.out is not None:
            _write_outputs(options.out, results, summary)
            console.print(f"wrote {options.out}/results.json, results.md, chart.png", highlight=False)
    finally:
        if options.keep:
            console.print(f"configs and logs kept in {workdir}", highlight=False)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if results.runs else 1


def _write_outputs(out: Path, results, summary) -> None:
    from fastproxy.bench.chart import write_chart
    from fastproxy.bench.report import markdown, write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results, summary)
    (out / "results.md").write_text(markdown(results, summary), encoding="utf-8")
    write_chart(out / "chart.png", summary)
