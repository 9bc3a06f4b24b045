"""The ``fastproxy`` command: version, check, explain, run, reload, demo, bench.

Exit codes: 0 success; 1 the environment failed (an unreadable file, a
missing component); 2 a usage or configuration error.  Heavy modules (the
server, the demo) are imported only by the subcommand that needs them, so
``check`` and ``version`` work even where the server cannot start.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import platform
import signal
import sys
from collections.abc import Sequence

import fastproxy
from fastproxy.config import LogConfig, load_config
from fastproxy.config.schema import LOG_FORMATS, Config
from fastproxy.errors import ConfigError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: sys.argv[1:]); the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.handler(args)
    except SystemExit as exc:  # argparse's errors and --help
        return _exit_code(exc)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return EXIT_OK
    return exc.code if isinstance(exc.code, int) else EXIT_FAILURE


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastproxy", description="A high-performance HTTP reverse proxy and edge proxy."
    )
    parser.set_defaults(handler=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    version = commands.add_parser("version", help="show the version and which extensions are active")
    version.add_argument("--json", action="store_true", help="print a JSON object")
    version.set_defaults(handler=_cmd_version)

    check = commands.add_parser("check", help="validate a configuration file")
    check.add_argument("-c", "--config", required=True, metavar="FILE", help="the TOML file to check")
    check.set_defaults(handler=_cmd_check)

    explain = commands.add_parser(
        "explain", help="show which route a request takes, what the upstream sees, which server",
        description="Explain how the proxy configured by FILE handles one request: which route matches "
        "and why earlier ones do not, the request head the upstream would see (or the proxy's own "
        "answer), and the server each balancing policy would pick.")
    explain.add_argument("-c", "--config", required=True, metavar="FILE", help="the TOML configuration file")
    explain.add_argument("request", metavar="'METHOD URL'", help="e.g. 'GET http://example.com/path?q'")
    explain.add_argument("-H", "--header", action="append", default=[], metavar="'Name: value'",
                         help="a request header (repeatable)")
    explain.add_argument("--client-ip", default="127.0.0.1", metavar="IP", help="the client address")
    explain.add_argument("--tls", action="store_true", help="the request came over TLS (implied by https://)")
    explain.add_argument("--client-subject", metavar="DN",
                         help="the verified client certificate subject (RFC 4514), implies --tls")
    explain.set_defaults(handler=_cmd_explain)

    run = commands.add_parser(
        "run",
        help="run the proxy",
        description="Run the proxy from a file (-c FILE) or from --listen and --upstream.",
    )
    run.add_argument("-c", "--config", metavar="FILE", help="the TOML configuration file")
    run.add_argument(
        "--listen", action="append", default=[], metavar="HOST:PORT", help="address to listen on (repeatable)"
    )
    run.add_argument(
        "--upstream", action="append", default=[], metavar="HOST:PORT", help="upstream server (repeatable)"
    )
    run.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="log line format (default: the file's, else text)",
    )
    run.add_argument("--pid-file", metavar="FILE", help="write the supervisor's pid here (for fastproxy reload)")
    # The handler gets its own parser, to report usage errors argparse cannot express.
    run.set_defaults(handler=functools.partial(_cmd_run, run))

    reload = commands.add_parser(
        "reload",
        help="make a running proxy reload its configuration",
        description="Send SIGHUP to the proxy whose pid file is given (fastproxy run --pid-file): it "
        "re-reads its configuration file and, if it is valid, moves to it without dropping a "
        "request; if not, it logs every problem and keeps the configuration it has.",
    )
    reload.add_argument("--pid-file", required=True, metavar="FILE", help="the pid file of fastproxy run")
    reload.add_argument("-c", "--config", metavar="FILE",
                        help="check this file first, and signal nothing if it has problems")
    reload.set_defaults(handler=_cmd_reload)

    demo = commands.add_parser("demo", help="start a proxy with origins and load, and show the figures")
    demo.add_argument("--duration", type=_positive_seconds, default=None, metavar="SECONDS")
    demo.add_argument("--port", type=int, default=8080, help="proxy port (a free one if taken; 0: any)")
    demo.set_defaults(handler=_cmd_demo)

    from fastproxy.bench.options import DESCRIPTION as BENCH_DESCRIPTION
    from fastproxy.bench.options import add_arguments as add_bench_arguments

    bench = commands.add_parser(
        "bench", help="measure fastproxy against nginx and HAProxy with wrk", description=BENCH_DESCRIPTION
    )
    add_bench_arguments(bench)
    bench.set_defaults(handler=_cmd_bench)
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


# -- version -----------------------------------------------------------------


def version_info() -> dict:
    """What ``fastproxy version`` reports; raises ImportError if the parser or
    a data-path module cannot load (or is not compiled when that is required)."""
    import fastproxy.parser
    from fastproxy import _ext

    _ext.import_hot_modules()

    return {
        "version": fastproxy.__version__,
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "extensions": dict(_ext.ACTIVE),
        "no_extensions": _ext.NO_EXTENSIONS,
        "require_extensions": _ext.REQUIRE_EXTENSIONS,
        "scan_level": fastproxy.parser.scan_level(),
    }


def _cmd_version(args: argparse.Namespace) -> int:
    head = (
        f"fastproxy {fastproxy.__version__} ({platform.python_implementation()} {platform.python_version()})"
    )
    try:
        info = version_info()
    except ImportError as exc:
        print(head)
        print(f"fastproxy: the parser or the data path failed to import: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        import orjson

        print(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode())
        return EXIT_OK
    print(head)
    print(f"extensions: {_describe_extensions(info)}")
    print(f"parser scan level: {info['scan_level']}")
    return EXIT_OK


def _describe_extensions(info: dict) -> str:
    from fastproxy import _ext

    by_impl: dict[str, list[str]] = {}
    for component, impl in sorted(info["extensions"].items()):
        by_impl.setdefault(impl, []).append(component)
    # The data-path modules go by one name when they all load the same way.
    hot = sorted(name.removeprefix("fastproxy.") for name in _ext.HOT_MODULES)
    for impl, components in by_impl.items():
        if set(hot) <= set(components):
            by_impl[impl] = [c for c in components if c not in hot] + ["data path"]
    parts = []
    if "c" in by_impl:
        parts.append(f"c ({', '.join(by_impl['c'])})")
    if "python" in by_impl:
        why = "FASTPROXY_NO_EXTENSIONS=1" if info["no_extensions"] else "extension not available"
        parts.append(
            f"python ({', '.join(by_impl['python'])}: {why})" if "c" in by_impl else f"python ({why})"
        )
    return ", ".join(parts) or "none loaded"


# -- check and run -----------------------------------------------------------


def _load(path: str) -> tuple[Config | None, int]:
    """The config in ``path``, or None and the exit code after reporting why."""
    try:
        return load_config(path), EXIT_OK
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return None, EXIT_FAILURE
    except ConfigError as exc:
        _report(path, exc)
        return None, EXIT_USAGE


def _report(source: str, exc: ConfigError) -> None:
    for key, message in exc.problems:
        print(f"{source}: {key}: {message}" if key else f"{source}: {message}", file=sys.stderr)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _cmd_check(args: argparse.Namespace) -> int:
    config, code = _load(args.config)
    if config is None:
        return code
    print(
        f"{args.config}: OK ({_plural(len(config.listeners), 'listener')}, "
        f"{_plural(len(config.routes), 'route')}, {_plural(len(config.upstreams), 'upstream')})"
    )
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    config, code = _load(args.config)
    if config is None:
        return code
    from fastproxy.explain import ExplainError, explain

    try:
        explain(config, args.request, args.header, args.client_ip, args.tls, args.client_subject)
    except ExplainError as exc:
        print(f"fastproxy explain: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _cmd_run(run_parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.config and (args.listen or args.upstream):
        run_parser.error("-c/--config and --listen/--upstream are mutually exclusive: use one or the other")
    if args.config:
        config, code = _load(args.config)
        if config is None:
            return code
    elif args.listen or args.upstream:
        try:
            config = Config.from_cli(args.listen, args.upstream)
        except ConfigError as exc:
            _report("command line", exc)
            return EXIT_USAGE
    else:
        run_parser.error(
            "say what to run: -c FILE, or --listen HOST:PORT --upstream HOST:PORT "
            "(e.g. fastproxy run --listen 127.0.0.1:8080 --upstream 127.0.0.1:9000)"
        )
    if args.log_format is not None:
        config = dataclasses.replace(config, log=LogConfig(format=args.log_format))
    try:
        from fastproxy.server import serve
    except ImportError as exc:
        print(f"fastproxy run: the server is not available: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if args.pid_file:
        serve = functools.partial(serve, pid_file=args.pid_file)
    try:
        return _result_code(_call(serve, config))
    except ConfigError as exc:
        # what only the data path can judge (e.g. a balancer it cannot run yet)
        _report(args.config or "command line", exc)
        return EXIT_USAGE


# -- reload ------------------------------------------------------------------


def _cmd_reload(args: argparse.Namespace) -> int:
    if args.config:
        config, code = _load(args.config)
        if config is None:
            print("fastproxy reload: not reloading: fix the problems above first", file=sys.stderr)
            return code
    try:
        with open(args.pid_file, encoding="ascii") as file:
            text = file.read().strip()
    except OSError as exc:
        print(f"{args.pid_file}: cannot read: {exc.strerror or exc} (is fastproxy running with --pid-file?)",
              file=sys.stderr)
        return EXIT_FAILURE
    if not text.isdigit() or int(text) <= 1:
        print(f"{args.pid_file}: {text[:40]!r} is not a process id", file=sys.stderr)
        return EXIT_FAILURE
    pid = int(text)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"{args.pid_file}: no process {pid} (a stale pid file?)", file=sys.stderr)
        return EXIT_FAILURE
    except PermissionError:
        print(f"{args.pid_file}: not allowed to signal process {pid}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"fastproxy reload: signalled process {pid}; its log tells how the reload went")
    return EXIT_OK


# -- demo --------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        from fastproxy.demo import main as demo_main
    except ImportError as exc:
        print(f"fastproxy demo: the demo is not available: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return _result_code(_call(demo_main, args))


# -- bench -------------------------------------------------------------------


def _cmd_bench(args: argparse.Namespace) -> int:
    from fastproxy.bench import main as bench_main  # imported only when asked for

    return _result_code(_call(bench_main, args))


def _call(function, argument) -> object:
    try:
        return function(argument)
    except KeyboardInterrupt:
        return 130  # the shell's code for SIGINT


def _result_code(result: object) -> int:
    return result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK
