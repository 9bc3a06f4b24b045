"""Chooses, once per process, between compiled extensions and their twins.

Two kinds of compiled code: the parser is a C extension with a separate
pure-Python twin (chosen by :func:`load`); the data-path modules of
:data:`HOT_MODULES` are one source each, a ``.py`` file that Cython compiles
in place (pure-Python mode, typed by the ``.pxd`` beside it), so the
compiled module and its source share a name and the import system picks the
compiled file.  With ``FASTPROXY_NO_EXTENSIONS=1`` fastproxy/__init__.py
installs a finder (:func:`prefer_sources`) that imports their sources
instead.  Each of them reports how it was loaded (:func:`loaded`).  They
load all compiled or all from source (they share C types), and compiled
they need the C parser, whose structs they read: a build is whole.

The choice is loud: ``FASTPROXY_NO_EXTENSIONS=1`` forces the twins, a failed
or missing extension warns, and ``FASTPROXY_REQUIRE_EXTENSIONS=1`` (set in
CI and wheel checks) makes that fatal.  ``fastproxy version`` reports
:data:`ACTIVE`.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from types import ModuleType


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _flag("FASTPROXY_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("FASTPROXY_REQUIRE_EXTENSIONS")

# component name -> "c" or "python", filled as components load: "parser",
# and each data-path module by its name under fastproxy ("upstream.pool").
ACTIVE: dict[str, str] = {}

# The data-path modules compiled in place from their own sources (setup.py
# reads this list).
HOT_MODULES = (
    "fastproxy.accounting",
    "fastproxy.balance",
    "fastproxy.buffers",
    "fastproxy.context",
    "fastproxy.counters",
    "fastproxy.deadline",
    "fastproxy.downstream",
    "fastproxy.health.state",
    "fastproxy.heads",
    "fastproxy.outgoing",
    "fastproxy.relay",
    "fastproxy.rewrite",
    "fastproxy.route",
    "fastproxy.upstream.connection",
    "fastproxy.upstream.pool",
)


class ExtensionRequiredError(ImportError):
    pass


class cython_shadow:  # named for what it stands in for: the cython module
    """What the hot modules use of the ``cython`` module when Cython is not
    installed (it is needed only to build them)."""

    compiled = False


_warned_source = False


def loaded(module: str, compiled: bool) -> None:
    """Records how the hot module ``module`` was loaded; called by each as it
    is imported.  Loaded from source without FASTPROXY_NO_EXTENSIONS (not
    built): a warning, once, or ExtensionRequiredError if extensions are
    required."""
    global _warned_source
    component = module.removeprefix("fastproxy.")
    if compiled:
        ACTIVE[component] = "c"
        return
    if NO_EXTENSIONS:
        if REQUIRE_EXTENSIONS:
            raise ExtensionRequiredError(
                "FASTPROXY_NO_EXTENSIONS and FASTPROXY_REQUIRE_EXTENSIONS are both set"
            )
    elif REQUIRE_EXTENSIONS:
        raise ExtensionRequiredError(
            f"fastproxy: {module} was imported from its Python source, not compiled; "
            "FASTPROXY_REQUIRE_EXTENSIONS is set (build with: python setup.py build_ext --inplace)"
        )
    elif not _warned_source:
        _warned_source = True
        warnings.warn(
            f"fastproxy: the data path is not compiled ({module} and the others run from their "
            "Python sources); it works, several times slower",
            RuntimeWarning,
            stacklevel=3,
        )
    ACTIVE[component] = "python"


class _SourceFinder:
    """Meta-path finder resolving the hot modules to their ``.py`` sources,
    passing over the compiled files beside them."""

    @staticmethod
    def find_spec(fullname: str, path=None, target=None):
        if fullname not in HOT_MODULES or not path:
            return None
        from importlib.machinery import SourceFileLoader
        from importlib.util import spec_from_file_location

        leaf = fullname.rpartition(".")[2] + ".py"
        for entry in path:
            source = os.path.join(entry, leaf)
            if os.path.isfile(source):
                return spec_from_file_location(fullname, source, loader=SourceFileLoader(fullname, source))
        return None


def import_hot_modules() -> None:
    """Imports every data-path module, so that ACTIVE reports them all."""
    for name in HOT_MODULES:
        importlib.import_module(name)


def prefer_sources() -> None:
    """Makes the hot modules import from source (FASTPROXY_NO_EXTENSIONS).

    Must run before any of them is imported: fastproxy/__init__.py calls it.
    """
    if not any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())


def load(component: str, ext_module: str, py_module: str) -> ModuleType:
    """Imports the extension for ``component``, or its pure-Python twin."""
    if NO_EXTENSIONS:
        if REQUIRE_EXTENSIONS:
            raise ExtensionRequiredError(
                "FASTPROXY_NO_EXTENSIONS and FASTPROXY_REQUIRE_EXTENSIONS are both set"
            )
        ACTIVE[component] = "python"
        return importlib.import_module(py_module)
    try:
        module = importlib.import_module(ext_module)
    except ImportError as exc:
        if REQUIRE_EXTENSIONS:
            raise ExtensionRequiredError(
                f"fastproxy: the {component} extension ({ext_module}) failed to import: {exc}; "
                "FASTPROXY_REQUIRE_EXTENSIONS is set"
            ) from exc
        warnings.warn(
            f"fastproxy: the {component} extension ({ext_module}) failed to import ({exc}); "
            "using the slower pure-Python implementation",
            RuntimeWarning,
            stacklevel=2,
        )
        ACTIVE[component] = "python"
        return importlib.import_module(py_module)
    ACTIVE[component] = "c"
    return module


def implementations(ext_module: str, py_module: str) -> dict[str, ModuleType]:
    """The implementations of a component to test, by id ("c", "python").

    Both, unless FASTPROXY_NO_EXTENSIONS is set; the extension must import
    when FASTPROXY_REQUIRE_EXTENSIONS is set.
    """
    found = {"python": importlib.import_module(py_module)}
    if NO_EXTENSIONS:
        return found
    try:
        found["c"] = importlib.import_module(ext_module)
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
    return found
