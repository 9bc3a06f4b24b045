"""``fastproxy run --pid-file`` and ``fastproxy reload``, without starting a proxy."""

from __future__ import annotations

import os
import signal
import sys
import types
from pathlib import Path

import pytest

from fastproxy.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "fastproxy" / "examples" / "basic.toml"


@pytest.fixture
def hangups():
    """SIGHUPs this process receives while the test runs."""
    got: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: got.append(signum))
    yield got
    signal.signal(signal.SIGHUP, previous)


def test_reload_signals_the_pid_in_the_file(tmp_path, hangups, capsys):
    pid_file = tmp_path / "fastproxy.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert main(["reload", "--pid-file", str(pid_file)]) == 0
    assert hangups == [signal.SIGHUP]  # delivered to this very process, handled before main returned
    assert f"signalled process {os.getpid()}" in capsys.readouterr().out


def test_reload_checks_the_file_first_when_given(tmp_path, hangups, capsys):
    pid_file = tmp_path / "fastproxy.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(EXAMPLE.read_text().replace('format = "text"', 'formt = "text"'))
    assert main(["reload", "--pid-file", str(pid_file), "-c", str(bad)]) == 2
    assert hangups == []
    err = capsys.readouterr().err
    assert "not reloading" in err and "formt" in err
    assert main(["reload", "--pid-file", str(pid_file), "-c", str(EXAMPLE)]) == 0
    assert hangups == [signal.SIGHUP]


def test_reload_reports_a_missing_or_stale_pid_file(tmp_path, capsys):
    assert main(["reload", "--pid-file", str(tmp_path / "none.pid")]) == 1
    assert "is fastproxy running with --pid-file?" in capsys.readouterr().err
    stale = tmp_path / "stale.pid"
    stale.write_text("not a pid\n")
    assert main(["reload", "--pid-file", str(stale)]) == 1
    assert "is not a process id" in capsys.readouterr().err
    assert main(["reload"]) == 2  # --pid-file is required


def test_run_passes_the_pid_file_to_the_server(monkeypatch):
    calls = []
    module = types.ModuleType("fastproxy.server")
    module.serve = lambda config, **options: calls.append(options)
    monkeypatch.setitem(sys.modules, "fastproxy.server", module)
    assert main(["run", "-c", str(EXAMPLE), "--pid-file", "/run/fastproxy.pid"]) == 0
    assert main(["run", "-c", str(EXAMPLE)]) == 0
    assert calls == [{"pid_file": "/run/fastproxy.pid"}, {}]
