"""Extension selection is loud: forced, reported, and fatal when required."""

import os
import subprocess
import sys

import pytest

from fastproxy import _ext


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FASTPROXY_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True,
                          timeout=60)


def test_no_extensions_forces_python():
    r = _run("import fastproxy.parser as p, fastproxy._ext as e; print(e.ACTIVE['parser'], p.scan_level())",
             FASTPROXY_NO_EXTENSIONS="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["python", "python"]


def test_both_flags_is_an_error():
    r = _run("import fastproxy.parser", FASTPROXY_NO_EXTENSIONS="1", FASTPROXY_REQUIRE_EXTENSIONS="1")
    assert r.returncode != 0
    assert "both set" in r.stderr


def test_missing_extension_warns_or_fails(monkeypatch):
    monkeypatch.setattr(_ext, "NO_EXTENSIONS", False)
    monkeypatch.setattr(_ext, "REQUIRE_EXTENSIONS", False)
    with pytest.warns(RuntimeWarning, match="pure-Python"):
        mod = _ext.load("demo", "fastproxy._no_such_extension", "fastproxy.parser.codes")
    assert mod.__name__ == "fastproxy.parser.codes"
    assert _ext.ACTIVE.pop("demo") == "python"
    monkeypatch.setattr(_ext, "REQUIRE_EXTENSIONS", True)
    with pytest.raises(_ext.ExtensionRequiredError, match="REQUIRE"):
        _ext.load("demo", "fastproxy._no_such_extension", "fastproxy.parser.codes")


@pytest.mark.skipif(not _ext.REQUIRE_EXTENSIONS, reason="only meaningful where extensions are required")
def test_required_extensions_are_active():
    import fastproxy.parser

    assert _ext.ACTIVE["parser"] == "c"
    assert fastproxy.parser.scan_level() in ("scalar", "sse4.2", "avx2")
