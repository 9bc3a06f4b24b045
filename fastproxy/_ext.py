"""Chooses, once per process, between compiled extensions and their twins.

Every extension has a pure-Python twin with the same behaviour.  The choice
is loud: ``FASTPROXY_NO_EXTENSIONS=1`` forces the twins, a failed extension
import warns, and ``FASTPROXY_REQUIRE_EXTENSIONS=1`` (set in CI and wheel
checks) makes that failure fatal.  ``fastproxy version`` reports
:data:`ACTIVE`.
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _flag("FASTPROXY_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("FASTPROXY_REQUIRE_EXTENSIONS")

# component name -> "c" or "python", filled as components load
ACTIVE: dict[str, str] = {}


class ExtensionRequiredError(ImportError):
    pass


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
