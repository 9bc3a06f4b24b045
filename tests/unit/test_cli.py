"""The fastproxy command line: fastproxy.cli.main."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import types
from pathlib import Path

import pytest

import fastproxy
from fastproxy import _ext
from fastproxy.cli import main
from fastproxy.config import Config, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fastproxy" / "examples" / "basic.toml"
# `version` imports the parser; its pure-Python twin is written alongside this CLI.
HAVE_PARSER = (ROOT / "fastproxy" / "parser" / "_pyparser.py").exists()
needs_parser = pytest.mark.skipif(not HAVE_PARSER, reason="fastproxy/parser/_pyparser.py is not written yet")

MINIMAL = """
[[listener]]
bind = "127.0.0.1:8080"
[[route]]
upstream = "api"
[upstream.api]
servers = ["127.0.0.1:9001"]
"""


@pytest.fixture
def config_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "proxy.toml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def fake_server(monkeypatch):
    """A stand-in fastproxy.server whose serve() records its config."""
    calls: list[Config] = []
    module = types.ModuleType("fastproxy.server")

    def serve(config):
        calls.append(config)
        return module.result

    module.serve = serve
    module.result = None
    module.calls = calls
    monkeypatch.setitem(sys.modules, "fastproxy.server", module)
    return module


# -- version -----------------------------------------------------------------


@needs_parser
def test_version_text(capsys):
    import fastproxy.parser

    assert main(["version"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"fastproxy {fastproxy.__version__} ({platform.python_implementation()} {platform.python_version()})"
    )
    data_path = {_ext.ACTIVE[name.removeprefix("fastproxy.")] for name in _ext.HOT_MODULES}
    if _ext.ACTIVE["parser"] == "c" and data_path == {"c"}:
        # (Other components, such as the balancers, may be listed too.)
        assert lines[1].startswith("extensions: c (") and lines[1].endswith(", data path)")
        assert "parser" in lines[1]
    elif _ext.ACTIVE["parser"] == "c":
        assert lines[1].startswith("extensions: c (") and "parser" in lines[1]
        assert lines[1].endswith("python (data path: extension not available)")
    elif _ext.NO_EXTENSIONS:
        assert lines[1] == "extensions: python (FASTPROXY_NO_EXTENSIONS=1)"
    else:
        assert lines[1] == "extensions: python (extension not available)"
    assert lines[2] == f"parser scan level: {fastproxy.parser.scan_level()}"
    assert len(lines) == 3


@needs_parser
def test_version_json(capsys):
    assert main(["version", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["version"] == fastproxy.__version__
    assert info["python_version"] == platform.python_version()
    assert info["extensions"]["parser"] in ("c", "python")
    assert {name.removeprefix("fastproxy.") for name in _ext.HOT_MODULES} <= set(info["extensions"])
    assert info["no_extensions"] is _ext.NO_EXTENSIONS
    assert info["scan_level"] in ("avx2", "sse4.2", "scalar", "python")


def test_version_reports_a_parser_that_cannot_import(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastproxy.parser", None)
    assert main(["version"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"fastproxy {fastproxy.__version__} (")
    assert "fastproxy: the parser or the data path failed to import:" in err


# -- check -------------------------------------------------------------------


def test_check_ok(capsys):
    assert main(["check", "-c", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: OK (2 listeners, 7 routes, 2 upstreams)\n"
    assert err == ""


def test_check_ok_singular(config_file, capsys):
    path = config_file(MINIMAL)
    assert main(["check", "--config", path]) == 0
    assert capsys.readouterr().out == f"{path}: OK (1 listener, 1 route, 1 upstream)\n"


def test_check_prints_every_problem_with_file_and_key(config_file, capsys):
    path = config_file(MINIMAL.replace("9001", "99999") + '[server.timeouts]\nclient_header = "10q"\n')
    assert main(["check", "-c", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'{path}: server.timeouts.client_header: "10q" is not a duration (use e.g. "250ms", "10s", "1m")',
        f"{path}: upstream.api.servers[0]: port 99999 is out of range (1-65535)",
    ]


def test_check_toml_syntax_error(config_file, capsys):
    path = config_file("[server]\nworkers = \n")
    assert main(["check", "-c", path]) == 2
    assert capsys.readouterr().err == f"{path}: invalid TOML at line 2, column 11: invalid value\n"


def test_check_unreadable_file_exits_1(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    assert main(["check", "-c", str(missing)]) == 1
    assert capsys.readouterr().err == f"{missing}: cannot read: No such file or directory\n"


def test_check_needs_a_file(capsys):
    assert main(["check"]) == 2
    assert "-c/--config" in capsys.readouterr().err


# -- run ---------------------------------------------------------------------


def test_run_with_a_file_serves_its_config(fake_server, capsys):
    assert main(["run", "-c", str(EXAMPLE)]) == 0
    assert fake_server.calls == [load_config(EXAMPLE)]
    assert fake_server.calls[0].log.format == "text"


def test_run_with_options_serves_from_cli(fake_server):
    fake_server.result = 3
    argv = [
        "run",
        "--listen",
        "127.0.0.1:8080",
        "--upstream",
        "127.0.0.1:9000",
        "--upstream",
        "127.0.0.1:9001",
    ]
    assert main(argv) == 3
    [config] = fake_server.calls
    assert config == Config.from_cli(["127.0.0.1:8080"], ["127.0.0.1:9000", "127.0.0.1:9001"])


def test_run_log_format_overrides_the_file(fake_server, config_file):
    path = config_file(MINIMAL + '[log]\nformat = "json"\n')
    assert main(["run", "-c", path]) == 0
    assert main(["run", "-c", path, "--log-format", "text"]) == 0
    assert main(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9", "--log-format", "json"]) == 0
    assert [c.log.format for c in fake_server.calls] == ["json", "text", "json"]


def test_run_rejects_a_bad_log_format(fake_server, capsys):
    assert main(["run", "-c", str(EXAMPLE), "--log-format", "xml"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err
    assert fake_server.calls == []


def test_run_file_and_options_are_exclusive(fake_server, capsys):
    assert main(["run", "-c", str(EXAMPLE), "--listen", "127.0.0.1:8080"]) == 2
    assert "mutually exclusive" in capsys.readouterr().err
    assert fake_server.calls == []


def test_run_with_nothing_says_what_to_give(fake_server, capsys):
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "-c FILE, or --listen HOST:PORT --upstream HOST:PORT" in err
    assert fake_server.calls == []


def test_run_reports_option_problems(fake_server, capsys):
    assert main(["run", "--listen", "127.0.0.1:8080"]) == 2
    assert capsys.readouterr().err == (
        "command line: --upstream: at least one server is required (e.g. --upstream 127.0.0.1:9000)\n"
    )
    assert main(["run", "--listen", "127.0.0.1", "--upstream", "127.0.0.1:9000"]) == 2
    assert (
        capsys.readouterr().err
        == 'command line: --listen[0]: "127.0.0.1" has no port (write "127.0.0.1:PORT")\n'
    )
    assert fake_server.calls == []


def test_run_reports_config_problems_like_check(fake_server, config_file, capsys):
    path = config_file(MINIMAL.replace('"api"\n[upstream', '"apx"\n[upstream'))
    assert main(["run", "-c", path]) == 2
    assert (
        capsys.readouterr().err
        == f'{path}: route[0].upstream: no upstream named "apx" (did you mean "api"?)\n'
    )
    assert main(["run", "-c", path + ".missing"]) == 1
    assert fake_server.calls == []


def test_run_without_a_server_module_exits_1(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastproxy.server", None)
    assert main(["run", "-c", str(EXAMPLE)]) == 1
    assert capsys.readouterr().err.startswith("fastproxy run: the server is not available: ")


def test_run_interrupted_exits_130(fake_server):
    def interrupted(config):
        raise KeyboardInterrupt

    fake_server.serve = interrupted
    assert main(["run", "-c", str(EXAMPLE)]) == 130


# -- demo and usage ----------------------------------------------------------


def test_demo_passes_its_arguments(monkeypatch):
    seen = []
    module = types.ModuleType("fastproxy.demo")
    module.main = lambda args: seen.append(args.duration) or 0
    monkeypatch.setitem(sys.modules, "fastproxy.demo", module)
    assert main(["demo", "--duration", "2.5"]) == 0
    assert main(["demo"]) == 0
    assert seen == [2.5, None]


@pytest.mark.parametrize("duration", ["0", "-1", "soon", "inf"])
def test_demo_rejects_a_bad_duration(duration, capsys):
    assert main(["demo", "--duration", duration]) == 2
    assert "--duration" in capsys.readouterr().err


def test_demo_without_its_module_exits_1(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastproxy.demo", None)
    assert main(["demo"]) == 1
    assert capsys.readouterr().err.startswith("fastproxy demo: the demo is not available: ")


def test_no_command_prints_usage(capsys):
    assert main([]) == 2
    assert "usage: fastproxy" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("version", "check", "run", "demo"):
        assert command in out


def test_unknown_command_exits_2(capsys):
    assert main(["serve"]) == 2
    assert "invalid choice: 'serve'" in capsys.readouterr().err


# -- the real entry point ----------------------------------------------------


def _python_m(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "fastproxy", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_parser
def test_python_m_fastproxy_version():
    result = _python_m("version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"fastproxy {fastproxy.__version__} (")
    assert lines[1].startswith("extensions: ")
    assert lines[2].startswith("parser scan level: ")


def test_python_m_fastproxy_check():
    result = _python_m("check", "-c", "fastproxy/examples/basic.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fastproxy/examples/basic.toml: OK (2 listeners, 7 routes, 2 upstreams)\n"
