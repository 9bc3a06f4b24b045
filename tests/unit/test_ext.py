"""Extension selection is loud: forced, reported, and fatal when required."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fastproxy import _ext


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FASTPROXY_")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True,
                          timeout=60, check=False)


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


# -- the data path: compiled in place from its own sources ---------------------

_FILES = "import fastproxy._ext as e, importlib; print(' '.join(importlib.import_module(m).__file__ for m in e.HOT_MODULES))"


def test_no_extensions_imports_every_hot_module_from_its_source():
    r = _run(_FILES, FASTPROXY_NO_EXTENSIONS="1")
    assert r.returncode == 0, r.stderr
    files = r.stdout.split()
    assert len(files) == len(_ext.HOT_MODULES) and all(f.endswith(".py") for f in files), files
    assert "RuntimeWarning" not in r.stderr  # forced, so no warning


def _compiled_files():
    root = Path(_ext.__file__).parent.parent
    for name in _ext.HOT_MODULES:
        yield from (root / name.replace(".", "/")).parent.glob(name.rpartition(".")[2] + ".*.so")


@pytest.mark.skipif(not _ext.REQUIRE_EXTENSIONS and not any(_compiled_files()),
                    reason="the data path is not built (python setup.py build_ext --inplace)")
def test_without_the_variable_every_hot_module_is_compiled():
    r = _run(_FILES + "; print(sorted(set(e.ACTIVE.values())))")
    assert r.returncode == 0, r.stderr
    files, active = r.stdout.split("\n")[:2]
    assert all(f.endswith(".so") for f in files.split()), files
    assert active == "['c']"


def test_a_hot_module_from_source_fails_when_extensions_are_required():
    # prefer_sources stands in for a missing build.
    r = _run("import fastproxy._ext as e; e.prefer_sources(); import fastproxy.relay",
             FASTPROXY_REQUIRE_EXTENSIONS="1")
    assert r.returncode != 0
    assert "ExtensionRequiredError" in r.stderr and "imported from its Python source" in r.stderr


def test_hot_modules_from_source_warn_once_and_are_reported():
    r = _run("import warnings; warnings.simplefilter('default')\n"
             "import fastproxy._ext as e; e.prefer_sources(); e.import_hot_modules()\n"
             "print(sorted(set(e.ACTIVE[m.removeprefix('fastproxy.')] for m in e.HOT_MODULES)))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["['python']"]
    assert r.stderr.count("RuntimeWarning") == 1 and "not compiled" in r.stderr


def test_setup_builds_the_hot_modules_and_no_other_in_place_module():
    root = Path(_ext.__file__).parent.parent
    # setup.py compiles the list it reads from _ext.py (one list, two readers)
    setup = (root / "setup.py").read_text()
    assert "HOT_MODULES = _hot_modules()" in setup and 'Path("fastproxy/_ext.py")' in setup
    for name in _ext.HOT_MODULES:
        base = root / name.replace(".", "/")
        assert base.with_suffix(".py").exists() and base.with_suffix(".pxd").exists(), name
    # A compiled file beside a .py source would shadow it under FASTPROXY_NO_EXTENSIONS too.
    for so in (root / "fastproxy").rglob("*.so"):
        source = so.with_name(so.name.split(".")[0] + ".py")
        if source.exists():
            module = ".".join(source.relative_to(root).with_suffix("").parts)
            assert module in _ext.HOT_MODULES, f"{so} shadows {source} but is not a hot module"
