"""The options of ``fastproxy bench``, and what they resolve to.

Imported by the CLI when it builds its parser, so it imports nothing heavy.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DESCRIPTION", "FULL", "QUICK", "Options", "Timing", "add_arguments", "resolve"]

DESCRIPTION = (
    "Measure fastproxy side by side with nginx and HAProxy (those installed) under wrk: "
    "requests/s, latency, CPU per request, peak RSS."
)

TARGET_NAMES = ("nginx", "haproxy", "fastproxy")
# Lower bounds, run only when named: relays that do none of a proxy's work (bench/targets/floor.py).
FLOOR_NAMES = ("relay-uvloop", "relay-c")


@dataclass(frozen=True, slots=True)
class Timing:
    duration: int  # seconds of each measured wrk run (wrk counts whole seconds)
    repeats: int  # interleaved rounds per scenario
    warmup: int  # seconds of unmeasured load per target before the first round


FULL = Timing(duration=10, repeats=3, warmup=2)
# 6 scenarios x 3 targets x (2 x 2 s + 1 s) = 90 s of load, plus start-ups: under 2 minutes.
QUICK = Timing(duration=2, repeats=2, warmup=1)


@dataclass(frozen=True, slots=True)
class Options:
    scenarios: list[str] | None
    targets: list[str]
    timing: Timing
    quick: bool
    out: Path | None
    pin: bool
    wrk_threads: int | None
    keep: bool


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the bench options to ``parser`` (the ``bench`` subcommand or ``python -m fastproxy.bench``)."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer scenarios, {QUICK.repeats} rounds of {QUICK.duration}s (under 2 minutes)",
    )
    parser.add_argument(
        "--scenario", action="append", metavar="NAME", help="run only this scenario (repeatable; see --list)"
    )
    parser.add_argument(
        "--target",
        action="append",
        choices=TARGET_NAMES + FLOOR_NAMES,
        help="run only this proxy (repeatable; default: nginx, haproxy and fastproxy, those installed;"
        " relay-uvloop and relay-c are floors that do none of a proxy's work)",
    )
    parser.add_argument(
        "--duration",
        type=_positive_int,
        metavar="SECONDS",
        help=f"each measured run (default {FULL.duration})",
    )
    parser.add_argument(
        "--repeats", type=_positive_int, metavar="N", help=f"interleaved rounds (default {FULL.repeats})"
    )
    parser.add_argument(
        "--warmup", type=int, metavar="SECONDS", help=f"unmeasured load per target (default {FULL.warmup})"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="write DIR/results.json, DIR/results.md and DIR/chart.png"
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the proxy and the load to separate cores",
    )
    parser.add_argument(
        "--wrk-threads", type=_positive_int, metavar="N", help="wrk threads (default: one per load core)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated configs and logs")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")


def resolve(args: argparse.Namespace) -> Options:
    """The Options that parsed ``args`` mean (quick-mode defaults, then explicit values)."""
    base = QUICK if args.quick else FULL
    warmup = base.warmup if args.warmup is None else max(0, args.warmup)
    timing = Timing(
        duration=args.duration or base.duration,
        repeats=args.repeats or base.repeats,
        warmup=warmup,
    )
    targets = list(dict.fromkeys(args.target)) if args.target else list(TARGET_NAMES)
    return Options(
        scenarios=args.scenario,
        targets=targets,
        timing=timing,
        quick=args.quick,
        out=args.out,
        pin=args.pin,
        wrk_threads=args.wrk_threads,
        keep=args.keep,
    )
